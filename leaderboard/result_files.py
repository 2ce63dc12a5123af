"""Reading result files into leaderboard rows, with an index so a rebuild parses only new or changed files.

The index (<output>/.leaderboard-index.json) maps each result file's relative path, size and mtime to the row
(or problem) it gave; entries whose file changed or vanished are re-read or dropped, and the index is keyed by
the row-building code itself, so a change there rebuilds it. The table stays a function of results/ alone:
the index only saves re-parsing. It is written atomically and skipped where the folder is read-only.
"""
from __future__ import annotations

import functools
import gc
import hashlib
import inspect
import logging
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Optional
from urllib.parse import quote

import pydantic_core

from harness import record as record_module
from harness.results import LATENCY_PREFIX, writer_tag
from harness.record import SCHEMA_VERSION, Latency, RecordError, ResultRecord, read_lean

log = logging.getLogger(__name__)
INDEX_NAME = ".leaderboard-index.json"
HUB = "https://huggingface.co"
REPO_ID = re.compile(r"(\b[\w\-.]{1,96}\b/)?\b[\w\-.]{1,96}\b", re.ASCII)


@functools.lru_cache(maxsize=4096)  # a model's id repeats in every one of its result files
def _hub_id(text: str) -> bool:
    """Is ``text`` a Hub repo id ('name' or 'namespace/name': letters, digits, '-', '_', '.', at most 96 each, no
    '--' or '..', not ending in '.git')? The rule of huggingface_hub's validate_repo_id, kept here so the
    leaderboard imports no Hub client."""
    return (text.count("/") <= 1 and REPO_ID.fullmatch(text) is not None and "--" not in text and ".." not in text
            and not text.endswith(".git"))


def model_url(rec: ResultRecord) -> Optional[str]:
    """The model's Hub page at the trained revision (https://huggingface.co/<id>/tree/<revision>) when its id is a Hub
    id; None for a local folder, a python: package or a random init."""
    mid = rec.model_info.id if rec.model_info else None
    return _model_url(mid, rec.job.revision, (rec.config.get("model") or {}).get("init") == "random") if mid else None


@functools.lru_cache(maxsize=4096)  # a model's (id, revision) repeats in every one of its result files
def _model_url(mid: str, revision: str, random_init: bool) -> Optional[str]:
    if random_init or revision == "local" or mid.startswith(("python:", ".", "/", "~")) or not _hub_id(mid):
        return None
    return f"{HUB}/{mid}/tree/{quote(revision, safe='')}"


# the free-form parts of a record (fields typed dict[str, Any]) that run_row and read_entry read: read_entry builds
# only these (harness.record.read_lean); the rest is checked as in every read, not built
ROW_READS = ("config.model", "search")


def run_row(rec: ResultRecord, rel: str) -> dict[str, Any]:
    """The leaderboard's row for one successful result record."""
    job, info, mi, timing = rec.job, rec.task_info, rec.model_info, rec.timing
    return {
        "model": job.model, "revision": job.revision, "task": job.task, "method": job.method,
        "config_hash": job.config_hash, "seed": job.seed, "fold": job.fold or "",
        "benchmark": info.benchmark, "language": info.language, "kind": info.kind, "direction": info.direction,
        "family": mi.family, "untrained": mi.untrained, "parameters": mi.parameters,
        "trainable_parameters": mi.trainable_parameters, "checkpoint_bytes": rec.checkpoint_bytes, "main": rec.main,
        "unk_rate": rec.tokenizer_stats.get("unk_rate"), "truncation_rate": rec.tokenizer_stats.get("truncation_rate"),
        **NO_LATENCY, "train_samples_per_s": timing.train_samples_per_s,
        "eval_samples_per_s": timing.eval_samples_per_s, "test_size": rec.data.sizes.get("test"),
        "checkpoint": rec.checkpoint, "license": info.license, "created_at": rec.created_at, "path": rel,
        "tuned": search_note(rec) or "", "model_id": mi.id, "model_url": model_url(rec),
        "model_license": getattr(mi, "license", None), **race_fields(rec),
    }


# a row's measured latency (harness.latency's sidecar, read in read_all); none until `python -m harness latency` ran
# (the figure older records hold, timed inside training, is not read: it measured the machine's load)
NO_LATENCY = {"cpu_latency_ms": None, "latency_p95_ms": None, "latency_iqr_ms": None, "latency_setting": None}


def latency_fields(path: str) -> dict[str, Any]:
    """The row's latency columns from its latency.seed<k>.json; an unreadable one is logged and leaves them empty
    (a row without a figure, never a crash or a guess)."""
    try:
        lat = Latency.read(path)
    except RecordError as e:
        log.warning("latency not read: %s", e)
        return NO_LATENCY
    m = lat.machine
    threads = f"{m.threads} thread{'s' if m.threads != 1 else ''}"
    load = f", load {m.load_1m:g}" if m.load_1m is not None else ""
    return {"cpu_latency_ms": lat.p50_ms, "latency_p95_ms": lat.p95_ms, "latency_iqr_ms": lat.iqr_ms,
            "latency_setting": f"{lat.runs} runs after {lat.warmup} warm-up, {lat.backend}, {threads}, {m.cpu} "
                               f"({m.cores} cores{load}), {lat.measured_at[:10]}"}


def race_fields(rec: ResultRecord) -> dict[str, Any]:
    """A raced run's round, the race's most seeds per cell and its scope (harness.race; None when not raced)."""
    race = rec.execution.race if rec.execution is not None else None
    return {"race_round": race.round if race else None, "race_max_seeds": race.max_seeds if race else None,
            "race_scope": race.scope if race else None}


def search_note(rec: ResultRecord) -> Optional[str]:
    """'learning_rate=3e-05, batch_size=16 (best of 6 trials on validation, grid)' for a setting a search chose."""
    s = rec.search
    if s is None or s.role != "chosen":
        return None
    values = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in s.chosen.items())
    ok = sum(t.get("status") == "ok" for t in s.trials) if s.trials else s.n_trials
    scores = {t.get("validation") for t in s.trials if t.get("status") == "ok"}
    if ok > 1 and len(scores) == 1 and None not in scores:  # nothing was chosen: every setting scored the same
        return f"{values} (all {ok} trials tied on validation: none chosen, the first kept; {s.strategy})"
    return f"{values} (best of {ok} trials on validation, {s.strategy})"


def read_entry(path: Path | str, root: Path, rel: Optional[str] = None) -> tuple[str, Any]:
    """('row', row) | ('failure', {path, error, model, task, method, seed, config_hash, revision, fold, kind, cause,
    step, created_at, benchmark, direction}) | ('problem', message) | ('trial', path) for one file.

    Every known schema version is read through ResultRecord (older ones migrated); an unknown version or an
    invalid record is a problem (skipped with a warning naming the file), never a crash. ``rel``: the path relative
    to root, when the caller has it."""
    rel = rel if rel is not None else str(Path(path).relative_to(root))
    try:
        rec = read_lean(path, ROW_READS)
    except RecordError as e:
        return unreadable(rel, path, e)
    if rec.search is not None and rec.search.role == "trial":  # a search's trial: scored on validation, never a row
        return "trial", rel
    if rec.status == "failed":
        j, f, info = rec.job, rec.failure, rec.task_info
        return "failure", {"path": rel, "error": f.reason if f else "", "model": j.model, "task": j.task,
                           "method": j.method, "seed": j.seed, "config_hash": j.config_hash, "revision": j.revision,
                           "fold": j.fold or "", "kind": f.kind if f else "code", "cause": f.cause if f else None,
                           "step": f.step if f else None,
                           "created_at": rec.created_at, "benchmark": info.benchmark if info else None,
                           "direction": info.direction if info else None,
                           "untrained": (rec.config.get("model") or {}).get("init") == "random", **race_fields(rec)}
    return "row", run_row(rec, rel)


UNREADABLE = ("damaged", "unreadable")  # the failure kinds of result files the board cannot read


def unreadable(rel: str, path: Path | str, err: RecordError) -> tuple[str, Any]:
    """A result file the board cannot read, as a failed run of its cell (kind 'unreadable' for a newer harness's
    record, 'damaged' otherwise: truncated, not JSON, not a record, an invalid field), so the cell and its row's
    average say so; ('problem', message) when its path names no cell."""
    parts = Path(rel).parts  # results/MODEL/REVISION/TASK/METHOD/HASH[/fold-K]/seedN[.failed].json
    seed = re.fullmatch(r"seed(\d+)(\.failed)?\.json", parts[-1]) if parts else None
    if seed is None or len(parts) not in (7, 8) or parts[0] != "results" or \
            (len(parts) == 8 and not parts[6].startswith("fold-")):
        return "problem", str(err)
    newer = isinstance(err, record_module.UnknownSchema)
    why = str(err).removeprefix(f"{path}: ")
    return "failure", {"path": rel, "error": f"{'unreadable (newer harness?)' if newer else 'damaged'}: {why}",
                       "model": parts[1], "revision": parts[2], "task": parts[3], "method": parts[4],
                       "config_hash": parts[5], "seed": int(seed[1]),
                       "fold": parts[6].removeprefix("fold-") if len(parts) == 8 else "",
                       "kind": "unreadable" if newer else "damaged", "cause": None, "step": None, "created_at": "",
                       "untrained": None,
                       "benchmark": None, "direction": None, "race_round": None, "race_max_seeds": None,
                       "race_scope": None}


def _result_files(root: Path) -> tuple[list[tuple[str, os.stat_result]], dict[str, os.stat_result]]:
    """(path relative to root, stat) of every result file under root/results, sorted by the path's parts (as
    pathlib sorts), and the latency sidecars' (harness.latency) by path. Like os.walk: links to folders are not
    followed, unreadable folders are skipped; plain strings and os.scandir, since pathlib and os.walk cost more than
    the parse at 10,000 files."""
    found, sidecars = [], {}
    skip = len(str(root)) + 1
    folders = [str(root / "results")]
    while folders:
        try:
            with os.scandir(folders.pop()) as entries:
                for e in entries:
                    try:
                        is_dir = e.is_dir()
                    except OSError:
                        is_dir = False
                    if is_dir:
                        if not e.is_symlink():
                            folders.append(e.path)
                    elif e.name.startswith(LATENCY_PREFIX):
                        sidecars[e.path[skip:]] = e.stat()
                    elif e.name.startswith("seed") and e.name.endswith(".json"):
                        found.append((e.path[skip:], e.stat()))
        except OSError:
            continue
    return sorted(found, key=lambda f: f[0].split(os.sep)), sidecars


def stat_results(root: Path | str) -> tuple[tuple[str, int, int], ...]:
    """Every seed* file under root/results (records, failures, predictions, logs) and every latency file as (path
    relative to root, size, mtime in ns), sorted: equal tuples mean unchanged results (the app's refresh, the
    significance cache's key)."""
    root = Path(root)
    out = []
    for folder, _dirs, files in os.walk(root / "results"):
        for name in files:
            if name.startswith(("seed", LATENCY_PREFIX)):
                st = (Path(folder) / name).stat()
                out.append(((Path(folder) / name).relative_to(root).as_posix(), st.st_size, st.st_mtime_ns))
    return tuple(sorted(out))


def _code_key() -> str:
    """Changes whenever the code that builds entries changes, so an index from older code is not reused."""
    src = (inspect.getsource(run_row) + inspect.getsource(read_entry) + inspect.getsource(latency_fields)
           + inspect.getsource(read_all) + inspect.getsource(record_module) + str(SCHEMA_VERSION))
    return hashlib.sha1(src.encode()).hexdigest()[:12]



def read_all(root: Path, write_index: bool = True) -> list[tuple[str, Any]]:
    """Every result file's entry, in path order; parses only files the index does not already hold, and writes the
    index when it changed (``write_index`` False: a reader that must leave the folder as it found it)."""
    index_path = root / INDEX_NAME
    key = CODE_KEY
    old: dict[str, list] = {}
    try:
        saved = pydantic_core.from_json(index_path.read_bytes())
        if saved.get("key") == key:
            old = saved["entries"]
    except (OSError, ValueError, KeyError, AttributeError):
        pass
    entries: dict[str, list] = {}
    base = os.path.join(root, "")  # plain strings per file: a Path per file cost a tenth of the read
    collecting = gc.isenabled()
    gc.disable()  # the loop makes ~100 containers per file and frees no cycle: the collector cost a third of it
    try:
        files, sidecars = _result_files(root)
        for rel, st in files:
            folder, _, name = rel.rpartition(os.sep)
            side_rel = f"{folder}{os.sep}{LATENCY_PREFIX}{name}"
            side = sidecars.get(side_rel)
            stamp = [side.st_size, side.st_mtime_ns] if side is not None else None
            hit = old.get(rel)
            if hit and hit[0] == st.st_size and hit[1] == st.st_mtime_ns and hit[2] == stamp:
                entries[rel] = hit
            else:
                entry = read_entry(base + rel, root, rel)
                if entry[0] == "row" and side is not None:
                    entry[1].update(latency_fields(base + side_rel))
                entries[rel] = [st.st_size, st.st_mtime_ns, stamp, *entry]
    finally:
        if collecting:
            gc.enable()
    if write_index and entries != old and (root / "results").is_dir():
        _write_index(index_path, {"key": key, "entries": entries})
    return [(e[3], e[4]) for e in entries.values()]


CODE_KEY = _code_key()  # after read_all: its source is part of the key


def _write_index(path: Path, data: dict) -> None:
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{writer_tag()}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:  # pydantic's JSON (Rust): json.dump took ~1 s for 10,000 rows
            f.write(pydantic_core.to_json(data, inf_nan_mode="constants"))
        os.replace(tmp, path)
    except OSError as e:  # a read-only results folder (e.g. a Space): build without the index
        log.debug("leaderboard index not written: %s", e)
        if tmp:
            Path(tmp).unlink(missing_ok=True)
