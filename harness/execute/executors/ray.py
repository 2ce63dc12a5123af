"""The Ray executor: each unit is a Ray task with `num_gpus` = --gpus-per-job and a CPU share, on a local instance
or a cluster (--ray-address). Results go back to the driver, which writes them; workers write checkpoints into the
output folder (the probe checked it is visible from every node). A lost worker or node: Ray retries the task
(`max_retries`), then the unit fails with the reason.
"""
from __future__ import annotations

import logging
import os
import socket
import uuid
from typing import TYPE_CHECKING, Any, Iterator, Optional

from ...errors import HarnessError
from ..base import Event, ExecOptions, Outcome, Started, Unit, env_threads
from ..probe import expectations, probe_node
from .base import WORKERS_ONLY_LOCAL, ExecutorKind, register

if TYPE_CHECKING:
    from ...plan import RunOptions

log = logging.getLogger(__name__)
INSTALL = "pip install -r requirements-ray.txt"
CONNECT_TIMEOUT_S = 10
PROBE_TIMEOUT_S = 300


def _import_ray(address: Optional[str]):
    if address is None or address.removeprefix("ray://").startswith(("127.", "localhost")):
        # a local instance (or one on loopback): Ray must not swap 127.0.0.1 for the machine's interface address,
        # and an instance the harness starts sends no usage statistics anywhere
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        import ray
    except ImportError:
        raise HarnessError(f"--executor ray: Ray is not installed here ({INSTALL})") from None
    return ray


def _check_reachable(address: str) -> None:
    """The cluster's address must accept a TCP connection within seconds (ray.init itself retries for minutes).
    'auto' is looked up as Ray does (RAY_ADDRESS, then the cluster this machine last started or joined)."""
    if address == "auto":
        try:
            from ray._private.services import get_ray_address_from_environment
        except ImportError:  # a Ray without this helper: let ray.init look
            return
        try:
            found = get_ray_address_from_environment("auto", None)
        except Exception as e:  # noqa: BLE001 - Ray says no cluster runs here
            raise HarnessError(f"--ray-address auto: no running Ray cluster found on this machine "
                               f"({str(e).splitlines()[0][:160] if str(e) else type(e).__name__}); start one with "
                               f"'ray start --head'") from None
        if not found or found in ("auto", "local"):
            raise HarnessError("--ray-address auto: no running Ray cluster found on this machine; start one with "
                               "'ray start --head'")
        address = found
    hostport = address.removeprefix("ray://")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        return  # 'auto' or a bare host: ray.init resolves it
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as e:
        raise HarnessError(f"--ray-address: cannot reach a Ray cluster at {address} ({e.strerror or e}); start one "
                           f"with 'ray start --head' or check the address") from None


def _run_remote(unit: Unit, events: Any, marker: str, threads: int) -> Outcome:
    """Body of the Ray task: report the start, then run the unit here."""
    import ray

    from ..unit import describe_worker, prepare_worker, run_unit

    prepare_worker(threads)
    ctx = ray.get_runtime_context()
    attempt = ray._private.worker.global_worker.core_worker.get_current_task_attempt_number()
    where = describe_worker("ray", node=ray.util.get_node_ip_address(), node_id=ctx.get_node_id()[:12],
                            attempts=attempt + 1)
    # fire and forget: a blocking ray.get here would hand this task's CPUs back to Ray while it waits, and Ray
    # would start one more task than the CPUs allow
    events.actor.put_nowait.remote(Started(unit.uid, where))
    live = (unit.opts.output_dir / marker).exists()
    return run_unit(unit, where, live_log=live)


class RayExecutor:
    name = "ray"

    def __init__(self, eopts: ExecOptions, opts: RunOptions, units: list[Unit]):
        self.eopts, self.opts, self.units = eopts, opts, units
        self.gpus = eopts.gpus_per_job if eopts.gpus_per_job is not None else (1.0 if opts.device == "cuda" else 0.0)
        self.cpus = eopts.threads_per_job or env_threads() or 1
        self.ray = _import_ray(eopts.ray_address)
        self.owned = False
        self.refs: dict[Any, int] = {}
        self.marker = f".harness-run-{uuid.uuid4().hex[:12]}"

    def _connect(self) -> None:
        ray = self.ray
        if ray.is_initialized():
            return  # the caller's instance (tests, notebooks)
        address = self.eopts.ray_address
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.WARNING}
        if address is None:
            kwargs.update(address="local", _node_ip_address="127.0.0.1")
        else:
            _check_reachable(address)
            kwargs.update(address=address)
            if address.startswith(("127.", "localhost")):
                kwargs["_node_ip_address"] = "127.0.0.1"
            kwargs.pop("include_dashboard")
        try:
            ray.init(**kwargs)
        except Exception as e:  # noqa: BLE001 - one line instead of Ray's traceback
            raise HarnessError(f"--ray-address: cannot join Ray at {address or 'a new local instance'} "
                               f"({type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''})") from None
        self.owned = True

    def _check_resources(self) -> list[dict]:
        nodes = [n for n in self.ray.nodes() if n.get("Alive")]
        most_gpus = max((n["Resources"].get("GPU", 0) for n in nodes), default=0)
        if self.opts.device == "cuda" and not most_gpus:
            raise HarnessError("--device cuda: no node of the Ray cluster has a GPU; use --device cpu")
        if self.gpus > most_gpus:
            raise HarnessError(f"--gpus-per-job: {self.gpus:g} GPU per job, but no node of the Ray cluster has that "
                               f"many (most: {most_gpus:g})")
        most_cpus = max((n["Resources"].get("CPU", 0) for n in nodes), default=0)
        if self.cpus > most_cpus:
            flag = "--threads-per-job" if self.eopts.threads_per_job else "OMP_NUM_THREADS"
            raise HarnessError(f"{flag}: {self.cpus} CPUs per job, but no node of the Ray cluster has "
                               f"that many (most: {most_cpus:g})")
        return nodes

    def _probe(self, nodes: list[dict]) -> None:
        """One probe task per node before the first job: the same code, packages, data, models and output folder."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        need_output = self.opts.keep_checkpoints != "none"
        if need_output:
            self.opts.output_dir.mkdir(parents=True, exist_ok=True)
            (self.opts.output_dir / self.marker).write_text("harness run marker\n")
        expect = expectations([u.job for u in self.units], self.opts, self.marker if need_output else None)
        probe = self.ray.remote(num_cpus=0, max_retries=0)(probe_node)
        refs = {probe.options(scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False))
                .remote(expect): n for n in nodes}
        problems = []
        for ref, node in refs.items():
            try:
                missing = self.ray.get(ref, timeout=PROBE_TIMEOUT_S)
            except self.ray.exceptions.RayError as e:  # no answer (a busy or dying node), or the probe crashed
                missing = [f"the probe task gave no answer within {PROBE_TIMEOUT_S} s ({type(e).__name__})"]
            if missing:
                problems.append(f"node {node['NodeManagerAddress']} ({node['NodeID'][:12]}): {'; '.join(missing)}")
        if problems:
            raise HarnessError(f"--executor ray: {' | '.join(problems)} (every node needs the same harness checkout, "
                               f"packages, data folder and output folder: docs/scaling.md)")

    def run(self, units: list[Unit]) -> Iterator[Event]:
        ray = self.ray
        self._connect()
        self._probe(self._check_resources())
        from ray.util.queue import Empty, Queue

        events = Queue(actor_options={"num_cpus": 0})
        task = ray.remote(num_cpus=self.cpus, num_gpus=self.gpus, max_retries=self.eopts.max_retries,
                          retry_exceptions=False)(_run_remote)
        threads = max(1, int(self.cpus))
        self.refs = {task.remote(u, events, self.marker, threads): u.uid for u in units}
        log.info("%d Ray tasks (%g GPU, %g CPU each) on %d node(s)", len(units), self.gpus, self.cpus,
                 len(ray.nodes()))
        while self.refs:
            try:
                for started in events.get_nowait_batch(events.qsize()):
                    yield started
            except Empty:
                pass
            ready, _ = ray.wait(list(self.refs), num_returns=1, timeout=0.5)
            for ref in ready:
                uid = self.refs.pop(ref)
                try:
                    yield ray.get(ref)
                except ray.exceptions.RayError as e:  # worker or node lost after every retry, or cancelled
                    first = str(e).strip().splitlines()[0][:300] if str(e).strip() else ""
                    yield Outcome(uid, "failed", error=f"Ray task lost after {self.eopts.max_retries} retries "
                                                        f"({type(e).__name__}: {first})")
        try:
            ray.kill(events.actor)
        except Exception:  # noqa: BLE001
            pass

    def cancel(self) -> None:
        for ref in list(self.refs):
            try:
                self.ray.cancel(ref, force=True)
            except Exception:  # noqa: BLE001 - already finished
                pass
        self.refs.clear()

    def close(self) -> None:
        try:
            (self.opts.output_dir / self.marker).unlink(missing_ok=True)
        except OSError:
            pass
        if self.owned and self.ray.is_initialized():
            self.ray.shutdown()


class Ray(ExecutorKind):
    name = "ray"
    summary = "Ray tasks on a local instance or a cluster"
    local_gpus = False  # the GPUs are the cluster's (checked when it connects)

    def check(self, eopts: ExecOptions) -> None:
        if eopts.workers is not None:
            raise HarnessError(WORKERS_ONLY_LOCAL.format(name=self.name))

    def concurrency(self, eopts: ExecOptions, opts: RunOptions) -> int:
        """Units the cluster runs at once: per node, what its CPUs and GPUs hold at the per-job shares."""
        ex = RayExecutor(eopts, opts, [])
        ex._connect()
        try:
            total = 0
            for node in ex._check_resources():
                res = node["Resources"]
                fits = [int(res.get("CPU", 0) // ex.cpus)] + ([int(res.get("GPU", 0) / ex.gpus + 1e-9)]
                                                              if ex.gpus else [])
                total += min(fits)
            return max(1, total)
        finally:
            ex.close()

    def make(self, eopts: ExecOptions, opts: RunOptions, units: list[Unit]) -> RayExecutor:
        return RayExecutor(eopts, opts, units)


RAY = register(Ray())
