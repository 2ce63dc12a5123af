"""What every executor shares: a unit of work, its outcome, the events it reports, and the executor options."""
from __future__ import annotations

import os
import platform
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterator, Optional, Protocol, Union

if TYPE_CHECKING:
    from ..plan import Job, RunOptions
    from ..record import ResultRecord


@dataclass
class ExecOptions:
    """How jobs are run. None of this is part of a result's identity (config hash, path)."""

    executor: str = "serial"
    workers: Optional[int] = None  # local: processes at once (default: GPUs ÷ gpus_per_job, or 1 on CPU)
    gpus_per_job: Optional[float] = None  # default 1 with --device cuda, 0 on CPU
    threads_per_job: Optional[int] = None  # default: OMP_NUM_THREADS if set, else the CPU cores split
    ray_address: Optional[str] = None  # None: start a local Ray instance; 'auto' or ray://HOST:10001 joins one
    max_retries: int = 2  # Ray: re-runs of a task whose worker or node was lost
    verbose: bool = False  # print each finished job's own log


@dataclass
class Unit:
    """One (job, seed): what a worker runs. Carries identity and config, never loaded data."""

    uid: int
    job: Job
    seed: int
    opts: RunOptions

    @property
    def label(self) -> str:
        fold = f" fold {self.job.fold}" if self.job.fold is not None else ""
        return f"{self.job.model.name} × {self.job.spec.name} × {self.job.method}{fold} seed {self.seed}"


@dataclass
class Outcome:
    """What a unit sends back to the driver, which writes it: record + predictions + log, or the failure."""

    uid: int
    status: str  # done | failed
    record: Optional["ResultRecord"] = None
    rows: list[dict] = field(default_factory=list)
    log_text: str = ""
    error: Optional[str] = None
    traceback: Optional[str] = None
    failure_kind: str = "code"  # harness.failure_class: diverged | out_of_memory | infrastructure | input | code
    failure_step: Optional[int] = None  # the training step it failed at, when known
    failure_cause: Optional[str] = None  # infrastructure: worker lost | node lost | pre-empted
    execution: dict[str, Any] = field(default_factory=dict)


@dataclass
class Started:
    uid: int
    where: dict[str, Any]  # node, pid, cuda_visible_devices


@dataclass
class Stopped:
    """An attempt that stopped without an outcome (its worker or node was lost): no longer running; the executor
    may start it again (a new Started) or end it with an Outcome."""

    uid: int
    why: str


Event = Union[Started, Stopped, Outcome]


class Executor(Protocol):
    name: str

    def run(self, units: list[Unit]) -> Iterator[Event]:
        """Run the units; yield a Started when one starts and its Outcome when it ends (any order)."""

    def cancel(self) -> None:
        """Start nothing more; stop what runs (on Ctrl-C). Must return within seconds."""

    def close(self) -> None:
        """Release workers and connections."""


def describe_worker(executor: str, **extra: Any) -> dict[str, Any]:
    """Where a unit runs: host, process and the GPUs it was given (no heavy import: sent before the job's)."""
    return {"executor": executor, "host": platform.node(), "pid": os.getpid(),
            "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"), **extra}


# The driver's environment a job depends on (Hub access and caches, offline switches, thread counts, CUDA allocator):
# the Ray executor hands these to every worker (runtime_env env_vars, on every node); local processes inherit them.
CARRIED_ENV_PREFIXES = ("HF_", "HUGGINGFACE_", "HUGGING_FACE_", "TRANSFORMERS_", "TOKENIZERS_")
CARRIED_ENV_NAMES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "PYTORCH_CUDA_ALLOC_CONF")


def carried_env(environ: Optional[dict[str, str]] = None) -> dict[str, str]:
    """The variables of CARRIED_ENV_* set in `environ` (default: this process's environment)."""
    environ = os.environ if environ is None else environ
    return {k: v for k, v in sorted(environ.items()) if k.startswith(CARRIED_ENV_PREFIXES) or k in CARRIED_ENV_NAMES}


def env_summary(environ: Optional[dict[str, str]] = None) -> str:
    """The carried variables as a job log shows them: a secret (a name with TOKEN or KEY) only as '(set)'."""
    secret = ("TOKEN", "KEY")
    return ", ".join(f"{k}=(set)" if any(s in k for s in secret) else f"{k}={v}"
                     for k, v in carried_env(environ).items()) or "(none)"


def env_threads() -> Optional[int]:
    """OMP_NUM_THREADS as the user set it, if it is a positive integer."""
    value = os.environ.get("OMP_NUM_THREADS", "")
    return int(value) if value.isdigit() and int(value) > 0 else None


def check_threads_here(eopts: ExecOptions) -> Optional[str]:
    """For executors that run jobs on this machine: --threads-per-job beyond its cores, as an error line (None: fine).
    More threads than cores only make the job's threads wait for each other."""
    cores = os.cpu_count() or 1
    if eopts.threads_per_job is not None and eopts.threads_per_job > cores:
        return (f"--threads-per-job: {eopts.threads_per_job} threads per job, but this machine has {cores} CPU "
                f"cores; expected 1 to {cores}")
    return None


def threads_per_job(eopts: ExecOptions, concurrent: int) -> int:
    """--threads-per-job, else OMP_NUM_THREADS, else this machine's cores split between the concurrent jobs."""
    return eopts.threads_per_job or env_threads() or max(1, (os.cpu_count() or 1) // max(1, concurrent))
