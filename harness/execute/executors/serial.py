"""The serial executor: every unit in this process, one after another."""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterator, Optional

from ...errors import HarnessError
from ..base import Event, ExecOptions, Started, Unit, check_threads_here
from .base import WORKERS_ONLY_LOCAL, ExecutorKind, register

if TYPE_CHECKING:
    from ...plan import RunOptions


class SerialExecutor:
    name = "serial"

    def __init__(self, threads: Optional[int]):
        self.threads = threads  # None: leave torch's default

    def run(self, units: list[Unit]) -> Iterator[Event]:
        if self.threads:
            import torch

            torch.set_num_threads(self.threads)
        from ..unit import describe_worker, run_unit  # the job's modules: imported when units run

        for unit in units:
            where = describe_worker(self.name)
            yield Started(unit.uid, where)
            yield run_unit(unit, where, live_log=True)

    def cancel(self) -> None:
        """Nothing to stop: the interrupt already stopped the unit running in this process."""

    def close(self) -> None:
        pass


class Serial(ExecutorKind):
    name = "serial"
    summary = "jobs one after another in this process"

    def check(self, eopts: ExecOptions) -> None:
        if eopts.workers is not None:
            raise HarnessError(WORKERS_ONLY_LOCAL.format(name=self.name))
        if eopts.gpus_per_job is not None:
            raise HarnessError("--gpus-per-job: only for --executor local or ray (serial runs one job at a time)")
        if eopts.ray_address is not None:
            raise HarnessError("--ray-address: only for --executor ray")
        too_many = check_threads_here(eopts)
        if too_many:
            raise HarnessError(too_many)

    def make(self, eopts: ExecOptions, opts: "RunOptions", units: list[Unit]) -> SerialExecutor:
        return SerialExecutor(eopts.threads_per_job or None)


SERIAL = register(Serial())
