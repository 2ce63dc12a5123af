"""Execution: where the planned units run (serial | local | ray), and the driver that writes their results.

An executor is one module here with a `make(...)` and a class with run / cancel / close (base.Executor).
"""
from __future__ import annotations

from ..errors import HarnessError, did_you_mean
from ..plan import RunOptions
from .base import EXECUTORS, ExecOptions, Executor, Unit, threads_per_job
from .driver import run_grid


def check_options(eopts: ExecOptions) -> None:
    """Flag combinations that make no sense, as one-line errors (exit 2) before anything runs."""
    if eopts.executor not in EXECUTORS:
        raise HarnessError(f"--executor: unknown executor '{eopts.executor}'{did_you_mean(eopts.executor, EXECUTORS)}")
    if eopts.workers is not None and eopts.executor != "local":
        raise HarnessError(f"--workers: only for --executor local (it means local with N worker processes); "
                           f"with --executor {eopts.executor} leave it out")
    if eopts.gpus_per_job is not None and eopts.executor == "serial":
        raise HarnessError("--gpus-per-job: only for --executor local or ray (serial runs one job at a time)")
    if eopts.gpus_per_job is not None and not 0 < eopts.gpus_per_job <= 1:
        raise HarnessError(f"--gpus-per-job: expected a share of one GPU in (0, 1] (e.g. 1 or 0.5), got "
                           f"{eopts.gpus_per_job:g}; a job that needs several GPUs is not supported")
    if eopts.threads_per_job is not None and eopts.threads_per_job < 1:
        raise HarnessError(f"--threads-per-job: expected a positive integer, got {eopts.threads_per_job}")
    if eopts.ray_address is not None and eopts.executor != "ray":
        raise HarnessError("--ray-address: only for --executor ray")


def concurrency(eopts: ExecOptions, opts: RunOptions) -> int:
    """How many units the executor runs at once (serial 1; local its worker slots; Ray what the cluster's CPUs and
    GPUs hold at the per-job shares): a search asks for that many trials per round."""
    check_options(eopts)
    if eopts.executor == "local":
        from .local import plan_slots

        return len(plan_slots(opts.device, eopts))
    if eopts.executor == "ray":
        from . import ray as ray_executor

        return ray_executor.capacity(eopts, opts)
    return 1


def make_executor(eopts: ExecOptions, opts: RunOptions, units: list[Unit]) -> Executor:
    """Validate the options and build the executor (a Ray connection is made only when units run)."""
    check_options(eopts)
    if eopts.executor == "local":
        from . import local

        return local.make(eopts, opts.device)
    if eopts.executor == "ray":
        from . import ray as ray_executor

        return ray_executor.make(eopts, opts, units)
    from .serial import SerialExecutor

    return SerialExecutor(eopts.threads_per_job or None)


__all__ = ["EXECUTORS", "ExecOptions", "check_options", "concurrency", "make_executor", "run_grid", "threads_per_job"]
