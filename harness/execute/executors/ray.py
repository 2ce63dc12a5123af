"""The Ray executor: each unit is a Ray task with `num_gpus` = --gpus-per-job and a CPU share, on a local instance
or a cluster (--ray-address). Results go back to the driver, which writes them; workers write checkpoints into the
output folder (the probe checked it is visible from every node). A lost worker or node: Ray retries the task
(`max_retries`), then the unit fails with the reason (an infrastructure failure). Nothing the harness starts on the
cluster is a single point of failure: progress travels as heartbeats in the cluster's key-value store (no actor);
only losing the head, or this machine's Ray node, ends the grid (ConnectionLost, exit 3). Every task carries the
driver's HF_* and thread variables (runtime_env), and a worker runs up to JOBS_PER_WORKER jobs.
"""
from __future__ import annotations

import json
import logging
import os
import re
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Optional

from ...errors import ConnectionLost, HarnessError
from ...failure_class import INFRASTRUCTURE, NODE_LOST, WORKER_LOST
from ..base import Event, ExecOptions, Outcome, Started, Stopped, Unit, carried_env, describe_worker, env_threads
from ..probe import IMPORT_ADVICE, expectations, probe_failure, probe_node
from .base import WORKERS_ONLY_LOCAL, ExecutorKind, register

if TYPE_CHECKING:
    from ...plan import RunOptions

log = logging.getLogger(__name__)
INSTALL = "pip install -r requirements-ray.txt"
CONNECT_TIMEOUT_S = 10
PROBE_TIMEOUT_S = 300
KV_NAMESPACE = "harness"  # the cluster key-value store's namespace of the running attempts' heartbeats
BEAT_S = 1.0  # a running attempt writes its heartbeat this often
LOST_AFTER_S = 15.0  # an attempt whose heartbeat has not changed for this long is no longer shown as running
NODES_EVERY_S = 2.0  # how often the driver reads which nodes died and checks that the head answers
KV_TIMEOUT_S = 5  # the longest a key-value call waits for the head
HEAD_GRACE_S = 10.0  # a head that refuses connections this long is lost (Ray itself ends the driver after 60 s)
ORPHANED_AFTER_S = 30.0  # a worker whose heartbeats fail this long stops its job (no driver can get its result)
JOBS_PER_WORKER = 10  # Ray's max_calls: a worker process runs up to this many jobs (GPU tasks' default is 1)
DRIVER_LOG = "ray-driver.log"  # in the output folder: Ray's own log lines, never on the console


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


class _Store:
    """The cluster key-value store (the head's GCS) under KV_NAMESPACE, every call bounded by KV_TIMEOUT_S (Ray's
    own helpers wait up to a minute for a GCS that is gone)."""

    def __init__(self) -> None:
        from ray.experimental import internal_kv

        self.kv = internal_kv
        self.gcs = internal_kv.internal_kv_get_gcs_client()  # None through Ray Client (ray://): its own helpers
        self.ns = KV_NAMESPACE.encode()

    def put(self, key: str, value: str) -> None:
        if self.gcs is None:
            self.kv._internal_kv_put(key, value, overwrite=True, namespace=KV_NAMESPACE)
        else:
            self.gcs.internal_kv_put(key.encode(), value.encode(), True, self.ns, timeout=KV_TIMEOUT_S)

    def delete(self, key: str, by_prefix: bool = False) -> None:
        if self.gcs is None:
            self.kv._internal_kv_del(key, del_by_prefix=by_prefix, namespace=KV_NAMESPACE)
        else:
            self.gcs.internal_kv_del(key.encode(), by_prefix, self.ns, timeout=KV_TIMEOUT_S)

    def items(self, prefix: str) -> dict[str, bytes]:
        if self.gcs is None:
            keys = self.kv._internal_kv_list(prefix, namespace=KV_NAMESPACE)
            return {k.decode(): self.kv._internal_kv_get(k, namespace=KV_NAMESPACE) for k in keys}
        keys = self.gcs.internal_kv_keys(prefix.encode(), self.ns, timeout=KV_TIMEOUT_S)
        got = self.gcs.internal_kv_multi_get(keys, self.ns, timeout=KV_TIMEOUT_S) if keys else {}
        return {k.decode(): v for k, v in got.items()}


class _Heartbeat:
    """A running attempt's presence, in the cluster's key-value store (kept by the head's GCS, like every Ray
    object's metadata): written before the job's heavy imports and every BEAT_S seconds, deleted when the attempt
    ends. The driver reads it for the bar; nothing else depends on it, so a beat that cannot be written is skipped
    and no actor (a process that could die with its node) stands between the tasks and the driver."""

    def __init__(self, key: str, where: dict[str, Any], orphaned: Any):
        self.key, self.where, self.beats, self.orphaned = key, where, 0, orphaned
        self.store = _Store()
        self.failing_since: Optional[float] = None
        self.stopped = threading.Event()
        self._beat()
        self.thread = threading.Thread(target=self._loop, name="harness-heartbeat", daemon=True)
        self.thread.start()

    def _beat(self) -> None:
        self.beats += 1
        try:
            self.store.put(self.key, json.dumps({"where": self.where, "beat": self.beats}))
            self.failing_since = None
        except Exception as e:  # noqa: BLE001 - the bar misses a beat; the job goes on
            log.debug("heartbeat %s not written: %s", self.key, e)
            now = time.monotonic()
            self.failing_since = self.failing_since or now
            if now - self.failing_since > ORPHANED_AFTER_S and not self.stopped.is_set():
                self.orphaned()  # the head is gone: no driver can receive this job's result

    def _loop(self) -> None:
        while not self.stopped.wait(BEAT_S):
            self._beat()

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=10)
        try:
            self.store.delete(self.key)
        except Exception as e:  # noqa: BLE001
            log.debug("heartbeat %s not deleted: %s", self.key, e)


def _run_remote(unit: Unit, run_key: str, marker: str, threads: int) -> Outcome:
    """Body of the Ray task: say it started (before importing torch), run the unit here, then release what the job
    left in this worker (the worker may run JOBS_PER_WORKER jobs)."""
    import ray

    ctx = ray.get_runtime_context()
    attempt = ray._private.worker.global_worker.core_worker.get_current_task_attempt_number()
    where = describe_worker("ray", node=ray.util.get_node_ip_address(), node_id=ctx.get_node_id()[:12],
                            attempts=attempt + 1)
    def orphaned() -> None:
        """Stop at once, leaving no live log (the head's GCS has not answered for ORPHANED_AFTER_S)."""
        from ...results import log_path, result_path

        log_path(result_path(unit.opts.output_dir, unit.job.key, unit.seed)).unlink(missing_ok=True)
        os._exit(1)

    beat = _Heartbeat(f"{run_key}/{unit.uid}", where, orphaned)
    try:
        from ..unit import prepare_worker, run_unit

        prepare_worker(threads)
        live = (unit.opts.output_dir / marker).exists()
        return run_unit(unit, where, live_log=live)
    finally:
        beat.stop()
        from ...oom import release_memory

        release_memory()  # the next job in this worker starts without this one's tensors and cached GPU blocks


def _ray_env() -> dict[str, Any]:
    """The runtime environment of every probe and job: the driver's carried variables (base.CARRIED_ENV_*)."""
    env = carried_env()
    return {"env_vars": env} if env else {}


_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


class _Plain(logging.Formatter):
    """Ray's lines without their terminal colours."""

    def format(self, record: logging.LogRecord) -> str:
        return _ANSI.sub("", super().format(record))


class _DriverLog(logging.FileHandler):
    """The driver's log file, made (with its folder) at its first line: a run Ray said nothing in, or that stopped
    before it began (no cluster at the address), leaves no file and no folder."""

    def _open(self):
        Path(self.baseFilename).parent.mkdir(parents=True, exist_ok=True)
        return super()._open()


class RayExecutor:
    name = "ray"

    def __init__(self, eopts: ExecOptions, opts: RunOptions, units: list[Unit]):
        self.eopts, self.opts, self.units = eopts, opts, units
        self.gpus = eopts.gpus_per_job if eopts.gpus_per_job is not None else (1.0 if opts.device == "cuda" else 0.0)
        self.cpus = eopts.threads_per_job or env_threads() or 1
        self.ray = _import_ray(eopts.ray_address)
        self.owned = False
        self.lost = False  # the connection to the cluster is gone: nothing more can be asked of it
        self.refs: dict[Any, int] = {}
        self.marker = f".harness-run-{uuid.uuid4().hex[:12]}"
        self._quiet: Optional[tuple[logging.Handler, list[logging.Handler], Any, bool]] = None

    def _keep_ray_off_the_console(self) -> None:
        """Ray's own lines (its logger; the '(raylet) A worker died…' and 'Task … failed. There are N retries
        remaining…' messages its driver thread prints) go to <output-dir>/ray-driver.log, without colours."""
        if self._quiet is not None:
            return
        handler = _DriverLog(self.opts.output_dir / DRIVER_LOG, encoding="utf-8", delay=True)
        handler.setFormatter(_Plain("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        ray_logger = logging.getLogger("ray")
        consoles = [h for h in ray_logger.handlers if isinstance(h, logging.StreamHandler)
                    and not isinstance(h, logging.FileHandler)]
        for h in consoles:
            ray_logger.removeHandler(h)
        ray_logger.addHandler(handler)
        propagate, ray_logger.propagate = ray_logger.propagate, False
        printer = getattr(_ray_worker(), "print_to_stdstream", None)
        lines = logging.getLogger("ray.cluster")

        def to_file(data: dict, ignore_prefix: bool = False) -> None:
            who = data.get("pid", "")
            for line in data.get("lines", ()):
                lines.warning("(%s) %s", who, line)

        if printer is not None:
            _ray_worker().print_to_stdstream = to_file
        self._quiet = (handler, consoles, printer, propagate)

    def _restore_console(self) -> None:
        if self._quiet is None:
            return
        handler, consoles, printer, propagate = self._quiet
        ray_logger = logging.getLogger("ray")
        ray_logger.removeHandler(handler)
        ray_logger.propagate = propagate
        for h in consoles:
            ray_logger.addHandler(h)
        handler.close()
        if printer is not None:
            _ray_worker().print_to_stdstream = printer
        self._quiet = None

    def _connect(self) -> None:
        ray = self.ray
        self._keep_ray_off_the_console()
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
        self._restore_console()  # ray.init set up its logger again: take it back
        self._keep_ray_off_the_console()

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
        """One probe task per node before the first job: the same code, packages, data, models and output folder,
        in the jobs' runtime environment. A probe that raised says why (e.g. the node cannot import the harness)."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        need_output = self.opts.keep_checkpoints != "none"
        if need_output:
            self.opts.output_dir.mkdir(parents=True, exist_ok=True)
            (self.opts.output_dir / self.marker).write_text("harness run marker\n")
        expect = expectations([u.job for u in self.units], self.opts, self.marker if need_output else None)
        probe = self.ray.remote(num_cpus=0, max_retries=0, runtime_env=_ray_env())(probe_node)
        refs = {probe.options(scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False))
                .remote(expect): n for n in nodes}
        problems = []
        for ref, node in refs.items():
            try:
                missing = self.ray.get(ref, timeout=PROBE_TIMEOUT_S)
            except self.ray.exceptions.GetTimeoutError:  # a node too busy to start a worker
                missing = [f"the probe task gave no answer within {PROBE_TIMEOUT_S} s"]
            except self.ray.exceptions.RayError as e:  # it could not run there: say why
                missing = [probe_failure(e)]
            if missing:
                problems.append(f"node {node['NodeID'][:12]} at {node['NodeManagerAddress']}: {'; '.join(missing)}")
        if problems:
            said = all(IMPORT_ADVICE in p for p in problems)
            raise HarnessError(f"--executor ray: {' | '.join(problems)}" + ("" if said else
                               " (every node needs the same harness checkout, packages, data folder and output "
                               "folder: docs/scaling.md)"))

    def _lost(self, e: "BaseException | str") -> ConnectionLost:
        self.lost = True
        if isinstance(e, BaseException):
            first = str(e).strip().splitlines()[0][:200] if str(e).strip() else ""
            e = f"{type(e).__name__}{': ' + first if first else ''}"
        return ConnectionLost(f"--executor ray: lost the Ray cluster (its head node or this machine's Ray node "
                              f"stopped: {e}); the results written so far are kept: rerun the same command to run "
                              f"the rest")

    def run(self, units: list[Unit]) -> Iterator[Event]:
        ray = self.ray
        self._connect()
        self._probe(self._check_resources())
        task = ray.remote(num_cpus=self.cpus, num_gpus=self.gpus, max_retries=self.eopts.max_retries,
                          retry_exceptions=False, max_calls=JOBS_PER_WORKER, runtime_env=_ray_env())(_run_remote)
        threads = max(1, int(self.cpus))
        run_key = self.marker.lstrip(".")
        self.refs = {task.remote(u, run_key, self.marker, threads): u.uid for u in units}
        log.info("%d Ray tasks (%g GPU, %g CPU each) on %d node(s); carried to workers: %s", len(units), self.gpus,
                 self.cpus, len(ray.nodes()), ", ".join(carried_env()) or "nothing")
        watch = _Attempts(ray, run_key)
        head = _HeadWatch(ray)
        lost_types = (ray.exceptions.LocalRayletDiedError, ray.exceptions.RaySystemError)
        try:
            while self.refs:
                gone = head.gone()
                if gone:
                    raise self._lost(gone)
                if head.answering:
                    yield from watch.poll()
                try:
                    ready, _ = ray.wait(list(self.refs), num_returns=1, timeout=0.5)
                except lost_types as e:
                    raise self._lost(e) from None
                for ref in ready:
                    uid = self.refs.pop(ref)
                    watch.ended(uid)
                    try:
                        yield ray.get(ref)
                    except lost_types as e:
                        raise self._lost(e) from None
                    except ray.exceptions.RayError as e:  # worker or node lost after every retry, or cancelled
                        first = str(e).strip().splitlines()[0][:300] if str(e).strip() else ""
                        yield Outcome(uid, "failed", error=f"Ray task lost after {self.eopts.max_retries} retries "
                                                            f"({type(e).__name__}: {first})",
                                      failure_kind=INFRASTRUCTURE,
                                      failure_cause=NODE_LOST if isinstance(e, ray.exceptions.NodeDiedError)
                                      else WORKER_LOST)
        finally:
            if not self.lost:
                watch.clear()

    def cancel(self) -> None:
        if self.lost:
            self.refs.clear()
            return
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
        if self.owned and self.ray.is_initialized() and not self.lost:  # (a lost cluster: nothing to disconnect)
            self.ray.shutdown()
        self._restore_console()


class _Attempts:
    """The driver's view of the attempts in flight, from their heartbeats: a Started when an attempt appears (each
    retry of a unit is a new attempt), a Stopped when it stops beating for LOST_AFTER_S or its node dies."""

    def __init__(self, ray: Any, run_key: str):
        self.ray, self.prefix, self.store = ray, f"{run_key}/", _Store()
        self.seen: dict[int, tuple[int, int, float, str]] = {}  # uid: attempt, beat, when it last changed, node id
        self.stopped: set[tuple[int, int]] = set()  # (uid, attempt) already reported as stopped
        self.done: set[int] = set()
        self.dead_nodes: set[str] = set()
        self.nodes_checked = 0.0

    def _beats(self) -> dict[int, dict]:
        found = {}
        try:
            for key, value in self.store.items(self.prefix).items():
                if value:
                    found[int(key.rpartition("/")[2])] = json.loads(value)
        except Exception as e:  # noqa: BLE001 - the bar misses a round; the grid goes on
            log.debug("heartbeats not read: %s", e)
        return found

    def _dead(self, now: float) -> set[str]:
        if now - self.nodes_checked >= NODES_EVERY_S:
            self.nodes_checked = now
            try:
                self.dead_nodes = {n["NodeID"][:12] for n in self.ray.nodes() if not n.get("Alive")}
            except Exception as e:  # noqa: BLE001
                log.debug("node table not read: %s", e)
        return self.dead_nodes

    def poll(self) -> Iterator[Event]:
        now = time.monotonic()
        for uid, beat in self._beats().items():
            if uid in self.done:
                continue
            where = beat["where"]
            attempt, n = where.get("attempts", 1), beat.get("beat", 0)
            old = self.seen.get(uid)
            if (uid, attempt) in self.stopped:
                continue
            if old is None or old[0] != attempt:
                self.seen[uid] = (attempt, n, now, where.get("node_id") or "")
                yield Started(uid, where)
            elif old[1] != n:
                self.seen[uid] = (attempt, n, now, old[3])
        dead = self._dead(now)
        for uid, (attempt, _, changed, node) in list(self.seen.items()):
            why = (NODE_LOST if node in dead else
                   WORKER_LOST if now - changed > LOST_AFTER_S else None)
            if why:
                del self.seen[uid]
                self.stopped.add((uid, attempt))
                yield Stopped(uid, why)

    def ended(self, uid: int) -> None:
        self.done.add(uid)
        self.seen.pop(uid, None)

    def clear(self) -> None:
        try:
            self.store.delete(self.prefix, by_prefix=True)
        except Exception as e:  # noqa: BLE001
            log.debug("heartbeats not cleared: %s", e)


class _HeadWatch:
    """Whether the head's GCS still accepts connections, checked every NODES_EVERY_S: gone for HEAD_GRACE_S (a
    restarting GCS comes back sooner) ends the grid before Ray ends this process (it does after a minute)."""

    def __init__(self, ray: Any):
        address = getattr(ray.get_runtime_context(), "gcs_address", None) or ""
        host, _, port = address.rpartition(":")
        self.address = (host, int(port)) if host and port.isdigit() else None  # None: through Ray Client
        self.answering, self.since, self.checked = True, 0.0, 0.0

    def gone(self) -> Optional[str]:
        now = time.monotonic()
        if self.address is None or now - self.checked < NODES_EVERY_S:
            return None
        self.checked = now
        try:
            socket.create_connection(self.address, timeout=KV_TIMEOUT_S).close()
            self.answering = True
            return None
        except OSError as e:
            if self.answering:
                self.answering, self.since = False, now
            if now - self.since >= HEAD_GRACE_S:
                return (f"its GCS at {self.address[0]}:{self.address[1]} has refused connections for "
                        f"{HEAD_GRACE_S:g} s: {e.strerror or e}")
            return None


def _ray_worker() -> Any:
    import ray._private.worker as worker

    return worker


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
