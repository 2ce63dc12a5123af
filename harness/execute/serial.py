"""The serial executor: every unit in this process, one after another."""
from __future__ import annotations

from typing import Iterator, Optional

from .base import Event, Started, Unit
from .unit import describe_worker, run_unit


class SerialExecutor:
    name = "serial"

    def __init__(self, threads: Optional[int]):
        self.threads = threads  # None: leave torch's default

    def run(self, units: list[Unit]) -> Iterator[Event]:
        if self.threads:
            import torch

            torch.set_num_threads(self.threads)
        for unit in units:
            where = describe_worker(self.name)
            yield Started(unit.uid, where)
            yield run_unit(unit, where, live_log=True)

    def cancel(self) -> None:
        """Nothing to stop: the interrupt already stopped the unit running in this process."""

    def close(self) -> None:
        pass
