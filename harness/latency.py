"""Single-input CPU latency of kept checkpoints, measured apart from training (``python -m harness latency``).

A figure timed inside a training job measures the machine's load as much as the model (other jobs train beside it),
so every kept checkpoint is timed here instead, one at a time: torch on CPU with one intra-op thread (the figure then
depends on the model, not on how many cores a machine has or what else runs), ``warmup`` untimed predictions, then
``runs`` timed ones of the same input: tokenize + forward + decode, as the playground answers one request. The input
is the task's median-length test example (by characters, ties by id), so every model of a task is timed on the
same text. The result is ``latency.seed<k>.json`` beside the run's record (harness.record.Latency: p50, p95, min,
the spread and the machine); a rerun replaces it and never touches the record.
"""
from __future__ import annotations

import json
import logging
import os
import platform
import statistics
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional

from .errors import HarnessError
from .record import Latency, LatencyMachine, RecordError, read_lean
from .results import confined, latency_path, now, predictions_path, read_predictions

log = logging.getLogger(__name__)

RUNS, WARMUP, THREADS = 50, 10, 1


def cpu_name() -> str:
    """The CPU's model name (Linux: /proc/cpuinfo), else the platform's processor string, else the machine type."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def machine(threads: int) -> LatencyMachine:
    import torch

    try:
        load: Optional[float] = round(os.getloadavg()[0], 2)
    except (OSError, AttributeError):
        load = None
    return LatencyMachine(cpu=cpu_name(), cores=os.cpu_count() or 1, threads=threads, platform=platform.platform(),
                          python=platform.python_version(), torch=torch.__version__.split("+")[0], load_1m=load)


def median_input(rows: list[dict]) -> Optional[dict]:
    """The predictions row whose input is the median by length in characters (ties by id): the same example for
    every model of a task, whatever order a run wrote its rows in."""
    rows = [r for r in rows if isinstance(r.get("input"), dict)]
    if not rows:
        return None
    keyed = sorted(rows, key=lambda r: (len(json.dumps(r["input"], ensure_ascii=False)), str(r.get("id", ""))))
    return keyed[(len(keyed) - 1) // 2]


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def measure(checkpoint: Path, rel: str, config_hash: str, example: dict, input_id: Optional[str],
            runs: int = RUNS, warmup: int = WARMUP, threads: int = THREADS) -> Latency:
    """Time one checkpoint (loaded with torch on CPU) on ``example``."""
    from .checkpoint import load_checkpoint

    if runs < 1 or warmup < 0 or threads < 1:
        raise HarnessError(f"latency: runs ≥ 1, warmup ≥ 0 and threads ≥ 1 expected (got {runs}, {warmup}, {threads})")
    with torch_threads(threads):
        adapter, model = load_checkpoint(checkpoint, backend="torch")
        where = machine(threads)
        ms = adapter.time_predictions(model, example, runs, warmup)
    q1, p50, q3 = statistics.quantiles(ms, n=4, method="inclusive") if runs > 1 else (ms[0],) * 3
    p95 = statistics.quantiles(ms, n=20, method="inclusive")[18] if runs > 1 else ms[0]
    return Latency(checkpoint=rel, config_hash=config_hash, backend="torch", input_id=input_id,
                   input_chars=len(json.dumps(example, ensure_ascii=False)), warmup=warmup, runs=runs,
                   p50_ms=round(p50, 3), p95_ms=round(p95, 3), min_ms=round(ms[0], 3), iqr_ms=round(q3 - q1, 3),
                   machine=where, measured_at=now())


@dataclass
class Target:
    """One run whose kept checkpoint can be timed."""

    result: Path  # its record
    checkpoint: Path  # the checkpoint folder (confined to the output folder)
    rel: str  # the record's checkpoint path
    config_hash: str
    model: str
    label: str  # model/task/method seed k, for the progress line
    example: Optional[dict] = None
    input_id: Optional[str] = None
    skipped: str = ""  # why it cannot be timed


@dataclass
class Summary:
    measured: list[tuple[str, Latency]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (label, why)


def targets(output_dir: Path, only_models: Optional[set[str]] = None, missing_only: bool = False) -> list[Target]:
    """Every successful run under ``output_dir/results`` that kept a checkpoint, in path order; a run whose
    checkpoint is gone or lies outside the folder, or that has no predictions to take an input from, says why.
    ``missing_only``: only runs without a latency file (their records alone are read)."""
    root = Path(output_dir)
    found = []
    for path in sorted((root / "results").rglob("seed*.json")):
        if path.name.endswith(".failed.json") or (missing_only and latency_path(path).is_file()):
            continue
        try:
            rec = read_lean(path)
        except RecordError as e:
            log.warning("latency: skipped %s", e)
            continue
        job = rec.job
        if rec.status != "ok" or (rec.search is not None and rec.search.role == "trial") or not rec.checkpoint:
            continue
        if only_models is not None and job.model not in only_models:
            continue
        label = f"{job.model}/{job.task}/{job.method} seed {job.seed}"
        folder = confined(root, rec.checkpoint)
        t = Target(path, folder or root / rec.checkpoint, rec.checkpoint, job.config_hash, job.model, label)
        if folder is None or not folder.is_dir():
            t.skipped = f"checkpoint {rec.checkpoint} is not in {root}"
        else:
            pred = predictions_path(path)
            row = median_input(read_predictions(pred)) if pred.is_file() else None
            if row is None:
                t.skipped = f"no predictions file ({pred.name}) to take a test input from"
            else:
                t.example, t.input_id = row["input"], (str(row["id"]) if row.get("id") is not None else None)
        found.append(t)
    return found


def measure_all(output_dir: Path, runs: int = RUNS, warmup: int = WARMUP, threads: int = THREADS,
                only_models: Optional[set[str]] = None, missing_only: bool = False, progress: bool = True) -> Summary:
    """Time every kept checkpoint of an output folder, one after another, and write each sidecar."""
    from tqdm.auto import tqdm

    out = Summary()
    todo = []
    for t in targets(output_dir, only_models, missing_only):
        if t.skipped:
            out.skipped.append((t.label, t.skipped))
        else:
            todo.append(t)
    for t in tqdm(todo, desc="latency", unit="checkpoint", disable=not progress):
        try:
            lat = measure(t.checkpoint, t.rel, t.config_hash, t.example or {}, t.input_id, runs, warmup, threads)
        except HarnessError as e:
            out.skipped.append((t.label, str(e)))
            continue
        lat.write(latency_path(t.result))
        out.measured.append((t.label, lat))
    return out
