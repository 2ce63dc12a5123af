"""What an executor kind is: its name, what it tells --help, the execution options it takes, how many units it runs
at once and how it is built.

An executor module (harness/execute/executors/<name>.py) registers one `ExecutorKind`; its `make` builds the
object that runs units (harness.execute.base.Executor: run / cancel / close). Registering imports nothing heavy
(no torch, ray or transformers): listing the choices for --help stays cheap.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...registry import Registry

if TYPE_CHECKING:
    from ...plan import RunOptions
    from ..base import ExecOptions, Executor, Unit

WORKERS_ONLY_LOCAL = ("--workers: only for --executor local (it means local with N worker processes); with "
                      "--executor {name} leave it out")


class ExecutorKind:
    """Plain behaviour shared by executor kinds; a subclass overrides what differs."""

    name: str = ""
    summary: str = ""  # one clause for --executor's help
    local_gpus: bool = True  # --device cuda needs a GPU in this process's machine (Ray: the cluster's, checked there)

    def check(self, eopts: "ExecOptions") -> None:
        """Options this executor does not take, as one-line HarnessErrors (exit 2) before anything runs."""

    def concurrency(self, eopts: "ExecOptions", opts: "RunOptions") -> int:
        """How many units it runs at once (a search asks for that many trials per round)."""
        return 1

    def make(self, eopts: "ExecOptions", opts: "RunOptions", units: "list[Unit]") -> "Executor":
        """The executor that runs these units (options checked; a connection is made only when units run)."""
        raise NotImplementedError


REGISTRY: Registry[ExecutorKind] = Registry("executor")
register = REGISTRY.register
