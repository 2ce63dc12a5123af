"""Run one unit in whatever process the executor chose: its own log file, data reloaded and checked, out-of-memory
back-off. Never raises for a job's own failure: the outcome says it, and the driver writes it."""
from __future__ import annotations

import logging
import os
import tempfile
import time
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from .. import job, oom, results
from ..record import ResultRecord
from ..divergence import Diverged, failure_step
from ..errors import HarnessError
from ..failure_class import classify
from ..text import PlainFormatter
from .base import Outcome, Unit, describe_worker, env_summary  # noqa: F401 - describe_worker: the executors'

log = logging.getLogger(__name__)
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def prepare_worker(threads: int) -> None:
    """Set up a process that runs units for an executor: its torch threads; no library console output."""
    import torch
    from transformers.utils import logging as hf_logging

    torch.set_num_threads(threads)
    hf_logging.disable_default_handler()
    hf_logging.disable_progress_bar()


class _Mute(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False


@contextmanager
def capture_log(path: Path) -> Iterator[None]:
    """Send everything logged during the job (harness, transformers, Python warnings) to `path` only, as plain
    text."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, mode="w", encoding="utf-8")
    handler.setFormatter(PlainFormatter(LOG_FORMAT))  # no terminal escape codes (transformers' load report)
    root, hf = logging.getLogger(), logging.getLogger("transformers")
    mute = _Mute()
    consoles = list(root.handlers) + list(hf.handlers)
    levels = (root.level, hf.level)
    for h in consoles:
        h.addFilter(mute)
    root.addHandler(handler)
    hf.addHandler(handler)
    root.setLevel(logging.INFO)
    hf.setLevel(logging.WARNING)
    logging.captureWarnings(True)
    try:
        yield
    finally:
        logging.captureWarnings(False)
        root.removeHandler(handler)
        hf.removeHandler(handler)
        root.setLevel(levels[0])
        hf.setLevel(levels[1])
        for h in consoles:
            h.removeFilter(mute)
        handler.close()


def _with_backoff(unit: Unit) -> tuple[ResultRecord, list[dict], dict[str, Any]]:
    """run_job, rerun with halved batches after a device out-of-memory error (oom.halve)."""
    cfg, halvings, retries = unit.job.cfg, {}, []
    while True:
        try:
            record, rows = job.run_job(unit.job, unit.seed, unit.opts, cfg)
            return record, rows, {"oom_retries": retries, "batch_size": cfg.batch_size,
                                  "gradient_accumulation_steps": cfg.gradient_accumulation_steps,
                                  "eval_batch_size": cfg.eval_batch_size}
        except Exception as e:  # noqa: BLE001 - only out-of-memory errors are retried
            if not oom.is_oom(e):
                raise
            oom.release_memory()
            phase = "evaluation" if isinstance(e, oom.EvaluationOutOfMemory) else "training"
            nxt = oom.halve(cfg, e, halvings)
            size = cfg.eval_batch_size if phase == "evaluation" else cfg.batch_size
            if nxt is None:
                raise HarnessError(f"out of memory in {phase} at batch {size} after {halvings.get(phase, 0)} "
                                   f"halvings ({str(e).splitlines()[0][:160] if str(e) else type(e).__name__})") from e
            log.warning("out of memory in %s at batch %s: retrying with half the batch", phase, size)
            retries.append({"phase": phase, "batch_size": size, "error": (str(e).splitlines() or [""])[0][:200]})
            cfg = nxt


def run_unit(unit: Unit, where: dict[str, Any], live_log: bool) -> Outcome:
    """Run one unit. `live_log`: the output folder is reachable here, so the log is written beside the result as the
    job runs (else in a temporary file); either way its text goes back in the outcome."""
    rfile = results.result_path(unit.opts.output_dir, unit.job.key, unit.seed)
    if live_log:
        path, tmp = results.log_path(rfile), None
    else:
        fd, name = tempfile.mkstemp(prefix="harness-job-", suffix=".log")
        os.close(fd)
        path = tmp = Path(name)
    outcome = Outcome(unit.uid, "failed", execution={**where, "started_at": round(time.time(), 3)})
    with capture_log(path):
        log.info("%s: pid %d on %s, CUDA_VISIBLE_DEVICES=%s", unit.label, os.getpid(), where.get("node") or
                 where.get("host"), where.get("cuda_visible_devices"))
        log.info("environment: %s", env_summary())
        try:
            record, rows, used = _with_backoff(unit)
            outcome.status, outcome.record, outcome.rows = "done", record, rows
            outcome.execution.update(used)
        except Exception as e:  # noqa: BLE001 - one job's failure must not stop the grid
            outcome.error = str(e) if isinstance(e, (HarnessError, Diverged)) else f"{type(e).__name__}: {e}"
            outcome.traceback = "".join(traceback.format_exception(e))
            outcome.failure_kind = classify(e)
            outcome.failure_step = failure_step(e)
            log.error("failed: %s", outcome.error)
    outcome.execution["finished_at"] = round(time.time(), 3)
    outcome.log_text = path.read_text(encoding="utf-8", errors="replace")
    if tmp is not None:
        tmp.unlink(missing_ok=True)
    return outcome
