"""The local executor: N worker processes on this machine, each pinned to its GPU slot (CUDA_VISIBLE_DEVICES).

Workers are spawned (safe with CUDA), take one unit at a time from the driver, ignore Ctrl-C (the driver stops
them) and exit when the driver's process goes away, so no worker outlives the grid. A worker that dies mid-unit
gives that unit a failed outcome of class infrastructure (worker lost; pre-empted when something else sent it
SIGTERM: harness.failure_class) and is replaced.
"""
from __future__ import annotations

import logging
import multiprocessing as mp
import os
import queue
import signal
import threading
from collections import deque
from typing import TYPE_CHECKING, Any, Iterator, Optional

from ...errors import HarnessError
from ...failure_class import INFRASTRUCTURE, lost_worker
from ..base import Event, ExecOptions, Outcome, Started, Unit, check_threads_here, threads_per_job
from .base import ExecutorKind, register

if TYPE_CHECKING:
    from ...plan import RunOptions

log = logging.getLogger(__name__)


def visible_gpus() -> list[str]:
    """The GPU ids this process may use: CUDA_VISIBLE_DEVICES if set, else every device torch sees."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [g.strip() for g in env.split(",") if g.strip() and g.strip() != "-1"]
    import torch

    return [str(i) for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []


def plan_slots(device: str, eopts: ExecOptions, gpus: Optional[list[str]] = None) -> list[Optional[str]]:
    """One CUDA_VISIBLE_DEVICES value per worker (None on CPU); raises HarnessError for counts that do not fit."""
    if device == "cpu":
        if eopts.gpus_per_job is not None:
            raise HarnessError("--gpus-per-job: needs --device cuda with the local executor (CPU jobs use no GPU)")
        return [None] * (eopts.workers or 1)
    gpus = visible_gpus() if gpus is None else gpus
    share = eopts.gpus_per_job if eopts.gpus_per_job is not None else 1.0
    if not gpus:
        raise HarnessError("--device cuda: no GPU is visible to this process (CUDA_VISIBLE_DEVICES)")
    per_gpu = int(1 / share + 1e-9)
    capacity = len(gpus) * per_gpu
    workers = eopts.workers or capacity
    if workers > capacity:
        raise HarnessError(f"--workers: {workers} jobs at once do not fit {len(gpus)} visible GPU(s) at "
                           f"--gpus-per-job {share:g} (at most {capacity}); jobs never share a GPU silently")
    return [gpus[i % len(gpus)] for i in range(workers)]


def _death(exitcode: Optional[int]) -> str:
    """'died (exit code -9, killed by SIGKILL)': how a worker process ended."""
    if exitcode is not None and exitcode < 0:
        try:
            return f"died (exit code {exitcode}, killed by {signal.Signals(-exitcode).name})"
        except ValueError:
            pass
    return f"died (exit code {exitcode})"


def _exit_with_parent() -> None:
    parent = mp.parent_process()
    if parent is not None:
        parent.join()  # returns when the driver's process is gone, however it ended
        os._exit(1)


def _worker(wid: int, gpu: Optional[str], threads: int, inbox: Any, events: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle
    threading.Thread(target=_exit_with_parent, daemon=True).start()
    if gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpu
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from ..unit import describe_worker, prepare_worker, run_unit

    prepare_worker(threads)
    while True:
        unit = inbox.get()
        if unit is None:
            return
        where = describe_worker("local", worker=wid)
        events.put(Started(unit.uid, where))
        events.put(run_unit(unit, where, live_log=True))


class LocalExecutor:
    name = "local"

    def __init__(self, slots: list[Optional[str]], threads: int):
        self.slots, self.threads = slots, threads
        self.ctx = mp.get_context("spawn")
        self.procs: dict[int, Any] = {}
        self.inboxes: dict[int, Any] = {}
        self.events: Any = None

    def _start(self, wid: int) -> None:
        self.inboxes[wid] = self.ctx.Queue()
        p = self.ctx.Process(target=_worker, args=(wid, self.slots[wid], self.threads, self.inboxes[wid],
                                                   self.events), daemon=True, name=f"harness-worker-{wid}")
        p.start()
        self.procs[wid] = p

    def run(self, units: list[Unit]) -> Iterator[Event]:
        self.events = self.ctx.Queue()
        n = min(len(self.slots), len(units))
        log.info("%d local workers, %d CPU threads each%s", n, self.threads,
                 f", GPUs {self.slots[:n]}" if self.slots[0] is not None else "")
        for wid in range(n):
            self._start(wid)
        pending, busy = deque(units), {}

        def feed(wid: int) -> None:
            if pending:
                unit = pending.popleft()
                busy[wid] = unit.uid
                self.inboxes[wid].put(unit)

        for wid in range(n):
            feed(wid)
        while busy:
            try:
                event = self.events.get(timeout=0.5)
            except queue.Empty:
                for wid, p in list(self.procs.items()):
                    if not p.is_alive() and wid in busy:  # died mid-unit (killed, out of host memory, ...)
                        uid = busy.pop(wid)
                        yield Outcome(uid, "failed", error=f"worker process {p.pid} {_death(p.exitcode)} while "
                                                           f"running this job", failure_kind=INFRASTRUCTURE,
                                      failure_cause=lost_worker(p.exitcode))
                        self._start(wid)
                        feed(wid)
                continue
            if isinstance(event, Outcome):
                wid = next(w for w, u in busy.items() if u == event.uid)
                del busy[wid]
                feed(wid)
            yield event
        for wid in self.inboxes:
            self.inboxes[wid].put(None)

    def cancel(self) -> None:
        for p in self.procs.values():
            if p.is_alive():
                p.terminate()
        for p in self.procs.values():
            p.join(timeout=3)
            if p.is_alive():
                p.kill()
                p.join(timeout=3)

    def close(self) -> None:
        for p in self.procs.values():
            p.join(timeout=5)
            if p.is_alive():
                p.kill()
        self.procs.clear()


class Local(ExecutorKind):
    name = "local"
    summary = "worker processes on this machine, one per GPU slot"

    def check(self, eopts: ExecOptions) -> None:
        if eopts.ray_address is not None:
            raise HarnessError("--ray-address: only for --executor ray")
        too_many = check_threads_here(eopts)
        if too_many:
            raise HarnessError(too_many)

    def concurrency(self, eopts: ExecOptions, opts: "RunOptions") -> int:
        return len(plan_slots(opts.device, eopts))

    def make(self, eopts: ExecOptions, opts: "RunOptions", units: list[Unit]) -> LocalExecutor:
        slots = plan_slots(opts.device, eopts)
        return LocalExecutor(slots, threads_per_job(eopts, len(slots)))


LOCAL = register(Local())
