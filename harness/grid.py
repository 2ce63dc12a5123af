"""Run a planned grid: every (job, seed) not finished yet, one after another or several at once in worker processes.

A job's failure records its error in `seed<k>.failed.json` and the grid goes on. With `workers > 1` each worker is
its own process (spawned: safe with CUDA) that runs whole (job, seed) units; CPU threads are split between the
workers, and on one GPU the workers share its memory, so choose a count whose jobs fit together.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from typing import Any, Optional

from tqdm.auto import tqdm

from . import results, runner
from .errors import HarnessError
from .runner import Job, RunOptions

log = logging.getLogger(__name__)


def attempt(job: Job, seed: int, opts: RunOptions) -> tuple[str, Optional[dict[str, Any]]]:
    """Run one (job, seed): ('done', record), or ('failed', None) after writing the failure record."""
    rfile = results.result_path(opts.output_dir, job.key, seed)
    try:
        record = runner.run_job(job, seed, opts)
        results.failure_path(rfile).unlink(missing_ok=True)
        return "done", record
    except Exception as e:  # noqa: BLE001 - one job's failure must not stop the grid
        record_failure(job, seed, opts, e)
        return "failed", None


def record_failure(job: Job, seed: int, opts: RunOptions, error: BaseException) -> None:
    """Write `seed<k>.failed.json` with the error; the next run retries the job."""
    msg = str(error) if isinstance(error, HarnessError) else f"{type(error).__name__}: {error}"
    log.error("job %s seed %d failed: %s", job.key, seed, msg)
    rfile = results.result_path(opts.output_dir, job.key, seed)
    results.write_json(results.failure_path(rfile), {
        "schema_version": results.SCHEMA_VERSION, "job": str(job.key), "seed": seed, "error": msg,
        "traceback": "".join(traceback.format_exception(error)), "config": job.config, "created_at": results.now()})


def prune_checkpoints(job: Job, opts: RunOptions, records: dict[int, dict]) -> None:
    """keep-checkpoints best: keep the seed with the best validation score (never the test score)."""
    if opts.keep_checkpoints != "best" or len(records) < 2:
        return

    def val_main(seed: int) -> float:
        v = (records[seed].get("validation") or {}).get("metrics") or {}
        return v.get("main", float("-inf"))

    keep = max(sorted(records), key=val_main)
    for seed in records:
        if seed != keep:
            shutil.rmtree(results.checkpoint_dir(opts.output_dir, job.key, seed), ignore_errors=True)


def _label(job: Job, seed: int) -> str:
    fold = f" fold {job.fold}" if job.fold is not None else ""
    return f"{job.model.name} × {job.spec.name} × {job.method}{fold} seed {seed}"


def _init_worker(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


def run_grid(jobs: list[Job], opts: RunOptions) -> dict[str, int]:
    """Run every (job, seed) whose result file is missing; returns counts of done, skipped and failed."""
    counts = {"done": 0, "skipped": 0, "failed": 0}
    records: dict[int, dict[int, dict]] = {i: {} for i in range(len(jobs))}
    todo = []
    for i, job in enumerate(jobs):
        for seed in job.seeds:
            rfile = results.result_path(opts.output_dir, job.key, seed)
            if rfile.exists():
                counts["skipped"] += 1
                records[i][seed] = results.read_json(rfile)
            else:
                todo.append((i, seed))
    bar = tqdm(total=sum(len(j.seeds) for j in jobs), initial=counts["skipped"], desc="grid", unit="job",
               disable=not opts.progress)
    workers = max(1, min(opts.workers, len(todo)))
    if workers == 1:
        for i, seed in todo:
            bar.set_postfix_str(_label(jobs[i], seed))
            status, rec = attempt(jobs[i], seed, opts)
            counts[status] += 1
            if rec is not None:
                records[i][seed] = rec
            bar.update()
    else:
        quiet = dataclasses.replace(opts, progress=False)  # workers draw no bars of their own
        threads = max(1, (os.cpu_count() or 1) // workers)
        log.info("%d workers, %d CPU threads each", workers, threads)
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_init_worker,
                                 initargs=(threads,)) as pool:
            futures = {pool.submit(attempt, jobs[i], seed, quiet): (i, seed) for i, seed in todo}
            for fut in as_completed(futures):
                i, seed = futures[fut]
                try:
                    status, rec = fut.result()
                except Exception as e:  # noqa: BLE001 - a worker died (e.g. out of memory): record, go on
                    record_failure(jobs[i], seed, opts, e)
                    status, rec = "failed", None
                counts[status] += 1
                if rec is not None:
                    records[i][seed] = rec
                bar.set_postfix_str(_label(jobs[i], seed))
                bar.update()
    bar.close()
    for i, job in enumerate(jobs):
        prune_checkpoints(job, opts, records[i])
    return counts
