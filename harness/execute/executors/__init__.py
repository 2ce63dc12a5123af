"""Executors: every module of this package but `base` defines and registers one (serial, local, ray). Adding an
executor = adding a module here (plus its tests and docs); nothing else lists them."""
from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING

from ...errors import HarnessError, did_you_mean
from .base import REGISTRY, ExecutorKind

if TYPE_CHECKING:
    from ...plan import RunOptions
    from ..base import ExecOptions, Executor, Unit

DEFAULT_EXECUTOR = "serial"  # what a run uses without --executor (or --workers)


def load_all() -> dict[str, ExecutorKind]:
    """Import every executor module of this package (each registers itself): the default first, then by name."""
    if not REGISTRY:
        for mod in sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name != "base"):
            importlib.import_module(f"{__name__}.{mod}")
    return dict(sorted(REGISTRY.items(), key=lambda kv: (kv[0] != DEFAULT_EXECUTOR, kv[0])))


def executor_names() -> tuple[str, ...]:
    return tuple(load_all())


def get_executor(name: str) -> ExecutorKind:
    """The registered executor kind called `name`; a one-line HarnessError with a did-you-mean otherwise."""
    names = executor_names()
    if name not in names:
        raise HarnessError(f"--executor: unknown executor '{name}'{did_you_mean(name, names)}")
    return REGISTRY[name]


def check_options(eopts: "ExecOptions") -> None:
    """Flag combinations that make no sense, as one-line errors (exit 2) before anything runs: the executor's own
    checks, then those of every executor."""
    get_executor(eopts.executor).check(eopts)
    if eopts.gpus_per_job is not None and not 0 < eopts.gpus_per_job <= 1:
        raise HarnessError(f"--gpus-per-job: expected a share of one GPU in (0, 1] (e.g. 1 or 0.5), got "
                           f"{eopts.gpus_per_job:g}; a job that needs several GPUs is not supported")
    if eopts.threads_per_job is not None and eopts.threads_per_job < 1:
        raise HarnessError(f"--threads-per-job: expected a positive integer, got {eopts.threads_per_job}")


def concurrency(eopts: "ExecOptions", opts: "RunOptions") -> int:
    """How many units the executor runs at once (serial 1; local its worker slots; Ray what the cluster's CPUs and
    GPUs hold at the per-job shares): a search asks for that many trials per round."""
    check_options(eopts)
    return get_executor(eopts.executor).concurrency(eopts, opts)


def make_executor(eopts: "ExecOptions", opts: "RunOptions", units: "list[Unit]") -> "Executor":
    """Validate the options and build the executor (a Ray connection is made only when units run)."""
    check_options(eopts)
    return get_executor(eopts.executor).make(eopts, opts, units)


__all__ = ["DEFAULT_EXECUTOR", "ExecutorKind", "check_options", "concurrency", "executor_names", "get_executor",
           "load_all", "make_executor"]
