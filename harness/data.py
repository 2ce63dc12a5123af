"""Load a TaskSpec's splits (local files or the Hub) into canonical examples, carve, fingerprint."""
from __future__ import annotations

import csv
import gzip
import hashlib
import json
import logging
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional

import numpy as np

from . import carve as carving
from .errors import HarnessError, LeftOut, did_you_mean
from .kinds import get_kind
from .specs import Source, TaskSpec

log = logging.getLogger(__name__)


@dataclass
class TaskData:
    """The examples of each role (train / validation / test), with where they came from."""

    splits: dict[str, list[dict]]
    source: dict[str, Any]
    carve: Optional[dict[str, Any]]
    fingerprint: str
    overlaps: dict[str, int] = field(default_factory=dict)  # identical inputs in two roles ("train/test": n)
    shared_text: dict[str, float] = field(default_factory=dict)  # eval role: share of rows sharing a text with train


def input_key(ex: dict, kind: str) -> str:
    """The model input of an example as one string: used for duplicate handling and overlap counts."""
    fields = get_kind(kind).input_fields
    return "\x1f".join(" ".join(ex[f]) if isinstance(ex[f], list) else str(ex[f]) for f in fields)


def subset_indices(n_total: int, n: Optional[int], seed: int = 0) -> list[int]:
    """Deterministic subset: the first n of a seeded permutation, in original order."""
    if n is None or n >= n_total:
        return list(range(n_total))
    return sorted(np.random.default_rng(seed).permutation(n_total)[:n].tolist())


def pick_source(task: TaskSpec, data_dir: Optional[Path], task_file: Path) -> tuple[Source, Optional[Path]]:
    """First usable source: local data_dir sources need --data-dir; hub sources need no folder."""
    for src in task.sources:
        if src.type == "hub":
            return src, None
        base = task_file.parent if src.relative_to == "task_file" else data_dir
        if base is not None:
            return src, Path(base) / src.dir
    raise HarnessError(f"{task_file}: field 'sources': task '{task.name}' has only local sources relative to "
                       f"the data folder; pass --data-dir DIR (e.g. ../shared/data)")


def text_lines(path: Path, fmt: str, fix: str = "set sources[].format to match the file"
               ) -> Iterator[tuple[int, str]]:
    """(line number, text) of a local file, decoded line by line: a non-UTF-8 byte or a file that is not gzip
    is a HarnessError naming the file and the line (`fix`: what to do about a compression mismatch)."""
    gz = fmt.endswith(".gz")
    lineno = 0
    try:
        with (gzip.open(path, "rb") if gz else open(path, "rb")) as f:
            for lineno, raw in enumerate(f, 1):
                try:
                    yield lineno, raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
                except UnicodeDecodeError as e:
                    raise HarnessError(f"{path}: line {lineno}: byte {raw[e.start]:#04x} at column {e.start + 1} is "
                                       "not UTF-8; expected a UTF-8 text file (re-encode it, e.g. with iconv)") from None
    except (gzip.BadGzipFile, EOFError, zlib.error) as e:
        what = "is not gzip-compressed" if isinstance(e, gzip.BadGzipFile) else f"is a damaged gzip file ({e})"
        raise HarnessError(f"{path}: line {lineno + 1}: the file {what}; expected a .{fmt} file ({fix})") from None


def _read_local(folder: Path, split: str, fmt: str) -> tuple[Path, Iterator[dict]]:
    path = folder / f"{split}.{fmt}"
    if not path.is_file():
        avail = sorted(p.name for p in folder.glob("*")) if folder.is_dir() else []
        hint = f"; files there: {', '.join(avail[:10])}" if avail else f"; folder {folder} does not exist"
        raise HarnessError(f"{path}: split file not found{hint}")
    if fmt in ("jsonl", "jsonl.gz"):
        def rows() -> Iterator[dict]:
            for lineno, line in text_lines(path, fmt):
                if line.strip():
                    try:
                        row = json.loads(line)
                    except json.JSONDecodeError as e:
                        raise HarnessError(f"{path}: line {lineno}: invalid JSON ({e.msg}); expected one JSON "
                                           "object per line") from None
                    if not isinstance(row, dict):
                        raise HarnessError(f"{path}: line {lineno}: expected a JSON object ({{\"field\": value, "
                                           f"...}}), got {_json_type(row)}")
                    yield row
        return path, rows()
    delim = "\t" if fmt == "tsv" else ","

    def table_rows() -> Iterator[dict]:
        lines = (line for _, line in text_lines(path, fmt))
        yield from csv.DictReader(lines, delimiter=delim, quoting=csv.QUOTE_NONE if fmt == "tsv" else csv.QUOTE_MINIMAL)
    return path, table_rows()


def _json_type(value: Any) -> str:
    names = {list: "a list", str: "a string", bool: "true/false", int: "a number", float: "a number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _read_hub(src: Source, split: str) -> tuple[str, Iterator[dict]]:
    import datasets

    where = f"hub:{src.path}" + (f"/{src.name}" if src.name else "") + f"[{split}]"
    try:
        ds = datasets.load_dataset(src.path, src.name, revision=src.revision, split=split)
    except Exception as e:  # network, missing config, missing split
        raise HarnessError(f"{where}: could not load the Hub dataset ({type(e).__name__}: "
                           f"{str(e).splitlines()[0][:200]}); pass --data-dir for local files") from None
    return where, iter(ds)


def _canonical(row: dict, task: TaskSpec, src: Source, where: str, n: int) -> dict:
    ex: dict[str, Any] = {}
    kind = task.task_kind
    for fld in kind.fields:
        col = src.columns.get(fld, fld)
        if col not in row:
            raise HarnessError(f"{where}: row {n}: column '{col}' (for field '{fld}') is missing"
                               f"{did_you_mean(col, row.keys())}; set sources[].columns.{fld} in the task YAML")
        if row[col] is None:  # JSON null, or a CSV/TSV row shorter than its header
            raise HarnessError(f"{where}: row {n}: column '{col}' (for field '{fld}') has no value; expected a "
                               "value in every row (a CSV/TSV row needs as many columns as the header)")
        ex[fld] = row[col]
    kind.canonical(ex, task, src, f"{where}: row {n}")
    for fld in kind.input_fields:  # a text must be text: a number would fail in the tokenizer, a list read as a pair
        try:
            ex[fld] = kind.check_input(fld, ex[fld])
        except ValueError as e:
            col = src.columns.get(fld, fld)
            raise HarnessError(f"{where}: row {n}: {e}{f' (column {col!r})' if col != fld else ''}") from None
    if src.id_column and src.id_column in row:
        ex["id"] = str(row[src.id_column])
    return ex


def _assign_ids(examples: list[dict]) -> None:
    """Give examples without a source id a stable id: a hash of their fields (+ occurrence index)."""
    seen: dict[str, int] = {}
    for ex in examples:
        if "id" in ex:
            continue
        h = hashlib.sha1(json.dumps(ex, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:12]
        k = seen.get(h, 0)
        seen[h] = k + 1
        ex["id"] = h if k == 0 else f"{h}-{k}"


def load_split(task: TaskSpec, src: Source, folder: Optional[Path], split: str) -> tuple[list[dict], dict[str, int]]:
    """Read one source split into canonical examples, and the rows the task's policy left out (count per reason);
    raises HarnessError on bad data or an empty split."""
    if src.type == "local":
        where, rows = _read_local(folder, split, src.format)
    else:
        where, rows = _read_hub(src, split)
    examples, left_out = [], Counter()
    for n, row in enumerate(rows, 1):
        try:
            examples.append(_canonical(row, task, src, str(where), n))
        except LeftOut as e:
            left_out[str(e)] += 1
    for reason, count in left_out.items():
        log.warning("%s: split '%s': %d of %d rows left out: %s", where, split, count, count + len(examples), reason)
    if not examples:
        raise HarnessError(f"{where}: split '{split}' is empty")
    _assign_ids(examples)
    return examples, dict(left_out)


def _carve(examples: list[dict], task: TaskSpec, task_file: Path, source_split: str, fractions: dict[str, float],
           caps: dict[str, int]) -> dict[str, list[dict]]:
    """harness.carve.carve with the task's link fields and seed; an empty part is an error naming the task file."""
    kind = task.task_kind
    parts = carving.carve(examples, kind.link_fields, lambda ex: input_key(ex, task.kind), fractions,
                          task.carve.seed, caps)
    for name, part in parts.items():
        if not part:
            role = "train" if name == "rest" else name
            raise HarnessError(f"{task_file}: field 'carve': carving split '{source_split}' ({len(examples)} rows, "
                               f"{len(carving.components(examples, kind.link_fields))} groups of rows sharing a "
                               f"text) leaves the {role} split empty; expected enough rows for train, validation "
                               "and test (name more split files under sources[].splits, or change carve: fractions)")
    return parts


def load_task_data(task: TaskSpec, task_file: Path, data_dir: Optional[Path], need_validation: bool,
                   fold: Optional[str] = None) -> TaskData:
    """Load every role's split (split names with {fold} filled in); carve the missing ones; fingerprint."""
    src, folder = pick_source(task, data_dir, task_file)
    if task.folds and fold is None:
        raise HarnessError(f"{task_file}: field 'folds': task '{task.name}' needs a fold ({', '.join(task.folds)})")
    split_names = {role: name.replace("{fold}", fold or "") for role, name in src.splits.items()}
    read = {role: load_split(task, src, folder, name) for role, name in split_names.items()}
    loaded = {role: exs for role, (exs, _) in read.items()}
    left_out = {split_names[role]: out for role, (_, out) in read.items() if out}
    carve: Optional[dict[str, Any]] = None
    c = task.carve
    if "train" not in loaded:  # only test is named (checked on load): train, validation and test are carved from it
        parts = _carve(loaded["test"], task, task_file, split_names["test"],
                       {"test": c.test_fraction, "validation": c.validation_fraction}, {"validation": c.validation_max})
        carve = {"from": split_names["test"], "into": ["train", "validation", "test"], "seed": c.seed,
                 "method": carving.METHOD, "fractions": {"test": c.test_fraction, "validation": c.validation_fraction}}
        loaded = {"train": parts["rest"], "validation": parts["validation"], "test": parts["test"]}
    elif need_validation and "validation" not in loaded:
        parts = _carve(loaded["train"], task, task_file, split_names["train"], {"validation": c.validation_fraction},
                       {"validation": c.validation_max})
        carve = {"from": split_names["train"], "into": ["train", "validation"], "seed": c.seed,
                 "method": carving.METHOD, "fractions": {"validation": c.validation_fraction},
                 "validation_max": c.validation_max}
        loaded["train"], loaded["validation"] = parts["rest"], parts["validation"]
    if carve:
        carve["sizes"] = {role: len(v) for role, v in loaded.items()}
    keys = {role: {input_key(ex, task.kind) for ex in exs} for role, exs in loaded.items()}
    overlaps = {f"{a}/{b}": len(keys[a] & keys[b]) for a, b in (("train", "test"), ("train", "validation"),
                                                              ("validation", "test")) if a in keys and b in keys}
    links = task.task_kind.link_fields
    shared = {role: carving.shared_text(loaded["train"], loaded[role], links) for role in ("validation", "test")
              if role in loaded}
    digest = hashlib.sha256()
    for role in sorted(loaded):
        digest.update(role.encode())
        for ex in loaded[role]:
            digest.update(json.dumps(ex, sort_keys=True, ensure_ascii=False).encode())
    src_info = {"type": src.type, **({"dir": str(folder)} if folder else {"path": src.path, "name": src.name,
                                                                             "revision": src.revision}),
                "splits": split_names, **({"fold": fold} if fold is not None else {}),
                **({"left_out": left_out} if left_out else {})}  # rows the task's policy left out, per split
    return TaskData(splits=loaded, source=src_info, carve=carve, fingerprint=digest.hexdigest()[:16],
                    overlaps=overlaps, shared_text=shared)


_DATA: dict[tuple, TaskData] = {}  # per process: planning and the jobs that run here share one load


def cached_task_data(task: TaskSpec, task_file: Path, data_dir: Optional[Path], need_validation: bool,
                     fold: Optional[str]) -> TaskData:
    """load_task_data, once per process for the same task, file, data folder, validation need and fold."""
    key = (task.name, str(task_file), str(data_dir), need_validation, fold)  # label words do not change the data
    if key not in _DATA:
        _DATA[key] = load_task_data(task, task_file, data_dir, need_validation, fold)
    return _DATA[key]


def job_data(job: Any, data_dir: Optional[Path]) -> TaskData:
    """A planned job's data (harness.plan.Job), reloaded in this process (cached); a different fingerprint than at
    planning fails the job."""
    data = cached_task_data(job.spec, job.task.path, data_dir, job.need_validation, job.fold)
    if data.fingerprint != job.data_fingerprint:
        raise HarnessError(f"task '{job.spec.name}': its data changed since planning (fingerprint {data.fingerprint}, "
                           f"planned {job.data_fingerprint}; source {data.source}); rerun the command")
    return data
