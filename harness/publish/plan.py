"""What `push` publishes, decided from the output folder alone (no network): the result files, the checkpoints
(--checkpoints best|all|none) and the model repo each goes to, and the mapping file (checkpoints.json).

Model repo naming rule (docs/deploy.md): `<prefix><model>-<task>-<method>[-<fold>]-<hash8>-seed<k>`, where
`<prefix>` is --model-repo-prefix (default: the results repo's `ORG/`) and `<hash8>` the first 8 characters of the
configuration hash (two configurations of one model, task and method never share a repo). The name keeps the Hub's
characters (letters, digits, `-`, `_`, `.`; anything else becomes `-`), has no `--` or `..`, and does not start or
end with `-` or `.`; a name over 96 characters is cut to 87 and ends with `-` and 8 hex characters of its hash.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from ..errors import HarnessError
from ..record import CheckpointInfo, RecordError, ResultRecord
from ..results import LATENCY_PREFIX

log = logging.getLogger(__name__)
MAPPING_FILE = "checkpoints.json"
MAPPING_FORMAT = 1
RESULT_SUFFIXES = (".json", ".failed.json", ".predictions.jsonl.gz", ".log")
NAME_MAX = 96
ADAPTER_CONFIG = "adapter_config.json"  # peft's file: a checkpoint holding it is an adapter on a base model


@dataclass
class Checkpoint:
    """One checkpoint to publish: its record, the records of its configuration (for seed means) and its repo."""

    key: str  # the record's `checkpoint` field verbatim (the mapping's key)
    folder: Path
    record: ResultRecord
    group: list[ResultRecord]  # ok records of the same configuration and fold, by seed
    repo_id: str
    kind: str  # "model" | "lora-adapter"
    base_model: Optional[str]  # the base model's Hub id, when it has one
    best: bool  # chosen as the best validation seed of its group

    def files(self) -> dict[str, Path]:
        """The checkpoint folder's files by path in the repo (hidden leftovers and a stale README.md excluded)."""
        return {p.relative_to(self.folder).as_posix(): p for p in sorted(self.folder.rglob("*"))
                if p.is_file() and not any(part.startswith(".") for part in p.relative_to(self.folder).parts)
                and p.relative_to(self.folder).as_posix() != "README.md"}


@dataclass
class Plan:
    output_dir: Path
    results_repo: str
    results: dict[str, Path]  # repo path -> local file
    records: list[ResultRecord]  # the ok records
    checkpoints: list[Checkpoint]


def repo_name(prefix: str, rec: ResultRecord) -> str:
    """The model repo id for a record's checkpoint (the naming rule above)."""
    j = rec.job
    org, _, start = prefix.partition("/")
    raw = start + "-".join([j.model, j.task, j.method, *([j.fold] if j.fold else []), j.config_hash[:8],
                            f"seed{j.seed}"])
    name = re.sub(r"[^A-Za-z0-9_.-]", "-", raw)
    name = re.sub(r"[-.]{2,}", lambda m: m.group(0)[0], name).strip("-.")
    if len(name) > NAME_MAX:
        name = name[:NAME_MAX - 9].rstrip("-.") + "-" + hashlib.sha1(raw.encode()).hexdigest()[:8]
    return f"{org}/{name}"


def _group_key(rec: ResultRecord) -> tuple:
    j = rec.job
    return (j.model, j.revision, j.task, j.method, j.config_hash, j.fold)


def read_records(output_dir: Path) -> tuple[dict[str, Path], list[ResultRecord]]:
    """The result files to publish (records, failures, predictions, logs, measured latencies; damaged records skipped
    with a warning)
    and the successful records. HarnessError when there is no result at all."""
    root = Path(output_dir) / "results"
    if not root.is_dir():
        raise HarnessError(f"--output-dir: no results/ folder under {output_dir} (run the grid first)")
    files, records = {}, []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or not path.name.startswith(("seed", LATENCY_PREFIX)) \
                or not path.name.endswith(RESULT_SUFFIXES):
            continue
        if path.name.startswith("seed") and path.name.endswith(".json"):
            try:
                rec = ResultRecord.read(path)
            except RecordError as e:
                log.warning("skipped (not published): %s", e)
                continue
            if rec.status == "ok":
                records.append(rec)
        files[path.relative_to(output_dir).as_posix()] = path
    if not any(p.endswith(".json") for p in files):
        raise HarnessError(f"--output-dir: no result files under {root} (nothing to push)")
    return files, records


def base_model_of(folder: Path) -> Optional[str]:
    """The checkpoint's base model as a Hub id (from harness_job.json): the id of weights from the Hub, else the
    models file's `hub_id:` (the Hub original of a python: package or a local copy); None for a random init, weights
    with no Hub original, or an unreadable file."""
    from .. import models
    from ..specs import ModelSpec

    try:
        spec = ModelSpec(**CheckpointInfo.read(folder / "harness_job.json").model)
        if spec.init == "random":
            return None
        return spec.id if models.from_hub(spec) else spec.hub_id
    except Exception as e:  # noqa: BLE001 - a base we cannot name is simply not named
        log.info("checkpoint %s: base model not named (%s)", folder, str(e).splitlines()[0][:120] if str(e) else e)
        return None


@dataclass(frozen=True)
class Choice:
    """Which checkpoints `push` publishes, beyond --checkpoints: the models named (None: all), untrained baselines
    or not (a random init is a reference row of the board, not a model to use: left out by default), and only the
    configuration the leaderboard shows for each cell (a search's chosen setting, else the one with the most runs)."""

    only_models: Optional[frozenset[str]] = None
    skip_untrained: bool = True


def shown_configs(output_dir: Path) -> set[tuple[str, str, str, str, str]]:
    """(model, revision, method, task, config hash) of every configuration the leaderboard shows (its one rule:
    leaderboard.table.aggregate)."""
    from leaderboard.table import aggregate, load_results

    agg = aggregate(load_results(output_dir, write_index=False).runs)  # planning writes nothing
    return {tuple(str(v) for v in r) for r in agg[["model", "revision", "method", "task", "config_hash"]].itertuples(
        index=False)}


def chosen_records(output_dir: Path, records: list[ResultRecord], choice: Choice) -> list[ResultRecord]:
    """The records whose checkpoints may be published under ``choice``; --only-models naming a model the folder
    does not hold is an error (one line, with a did-you-mean)."""
    from ..errors import did_you_mean

    names = sorted({r.job.model for r in records})
    for name in sorted(choice.only_models or ()):
        if name not in names:
            raise HarnessError(f"--only-models: no model '{name}' in {output_dir}/results"
                               f"{did_you_mean(name, names)} (models there: {', '.join(names)})")
    shown = shown_configs(output_dir)
    return [r for r in records
            if (choice.only_models is None or r.job.model in choice.only_models)
            and not (choice.skip_untrained and r.model_info is not None and r.model_info.untrained)
            and (r.job.model, r.job.revision, r.job.method, r.job.task, r.job.config_hash) in shown]


def select_checkpoints(output_dir: Path, records: list[ResultRecord], which: str, prefix: str,
                       choice: Choice = Choice()) -> list[Checkpoint]:
    """The checkpoints to push: none; all (every seed whose checkpoint folder exists); best (per configuration and
    fold, the best validation seed among those with a checkpoint folder: driver.best_seed); of the records
    ``choice`` keeps (chosen_records)."""
    from ..execute.driver import best_seed

    if which == "none":
        return []
    out = Path(output_dir).resolve()
    groups: dict[tuple, dict[int, ResultRecord]] = {}
    for rec in chosen_records(output_dir, records, choice):
        groups.setdefault(_group_key(rec), {})[rec.job.seed] = rec
    chosen = []
    for group in groups.values():
        have = {}
        for seed, rec in sorted(group.items()):
            folder = (out / rec.checkpoint).resolve() if rec.checkpoint else None
            if folder is None or not folder.is_relative_to(out) or not (folder / "harness_job.json").is_file():
                if rec.checkpoint:
                    log.debug("%s: no checkpoint folder (or outside the output folder); not pushed", rec.checkpoint)
                continue
            have[seed] = (rec, folder)
        if not have:
            continue
        best = best_seed({s: r for s, (r, _) in have.items()}, group[min(group)].task_info.direction)
        for seed in ([best] if which == "best" else sorted(have)):
            rec, folder = have[seed]
            chosen.append(Checkpoint(
                key=rec.checkpoint, folder=folder, record=rec, group=[group[s] for s in sorted(group)],
                repo_id=repo_name(prefix, rec), kind="lora-adapter" if (folder / ADAPTER_CONFIG).is_file() else "model",
                base_model=base_model_of(folder), best=seed == best))
    ids = [c.repo_id for c in chosen]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:  # two configurations whose names differ only in characters the Hub does not allow
        raise HarnessError(f"--model-repo-prefix: two checkpoints would go to {dup[0]}; rename a model in the models "
                           "file")
    return chosen


def make_plan(output_dir: Path, results_repo: str, checkpoints: str, prefix: Optional[str],
              choice: Choice = Choice()) -> Plan:
    files, records = read_records(output_dir)
    prefix = prefix or results_repo.split("/")[0] + "/"
    return Plan(Path(output_dir), results_repo, files, records,
                select_checkpoints(output_dir, records, checkpoints, prefix, choice))


# ------------------------------------------------------------------ the mapping file

def mapping_json(entries: dict[str, dict[str, Any]]) -> str:
    return json.dumps({"format": MAPPING_FORMAT, "checkpoints": dict(sorted(entries.items()))}, indent=1,
                      ensure_ascii=False) + "\n"


def read_mapping(path: Path) -> dict[str, dict[str, Any]]:
    """checkpoints.json as {record checkpoint path: {repo_id, revision, kind, base_model}}; a file that is not that
    raises HarnessError with one line naming it."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise HarnessError(f"{path}: unreadable ({type(e).__name__})") from None
    if not isinstance(raw, dict) or raw.get("format") != MAPPING_FORMAT or not isinstance(raw.get("checkpoints"), dict):
        raise HarnessError(f"{path}: expected {{\"format\": {MAPPING_FORMAT}, \"checkpoints\": {{...}}}}")
    out = {}
    for key, entry in raw["checkpoints"].items():
        ok = (isinstance(entry, dict) and isinstance(entry.get("repo_id"), str)
              and re.fullmatch(r"[0-9a-f]{40}", str(entry.get("revision", "")))
              and entry.get("kind") in ("model", "lora-adapter")
              and (entry.get("base_model") is None or isinstance(entry.get("base_model"), str)))
        if not ok:
            raise HarnessError(f"{path}: checkpoint '{key}': expected repo_id, a 40-hex revision, kind model or "
                               "lora-adapter, base_model (a Hub id or null)")
        out[key] = {k: entry.get(k) for k in ("repo_id", "revision", "kind", "base_model")}
    return out
