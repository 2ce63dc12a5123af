"""Why a job failed, as one of five classes: the one place that names them, classifies an exception, says which
lost runs an executor reports, and maps the unclassified failures of older records (schema 1 to 3).

- `diverged`: training or predictions became NaN or infinite (harness.divergence); never retried.
- `out_of_memory`: the device (or host) ran out of memory after the batch back-off (harness.oom).
- `infrastructure`: the machine lost the run, not the job: its `cause` is `worker lost` (the worker process died or
  was killed, e.g. by the OOM killer), `node lost` (a Ray node went away) or `pre-empted` (the worker was told to
  stop, SIGTERM, by something other than the harness: a scheduler, a spot instance's shutdown). Retried once more at
  the end of the grid; it says nothing about the model (docs/trust.md: when the board counts it).
- `input`: data or configuration the job could not use (a HarnessError raised while the job ran: a data file that
  changed or cannot be read, a row the kind refuses, ...).
- `code`: any other exception: a bug in the harness or a library.

Nothing heavy is imported here (the leaderboard reads the names): torch comes in only when an exception is
classified.
"""
from __future__ import annotations

import re
import signal
from typing import Literal, Optional, get_args

Kind = Literal["diverged", "out_of_memory", "infrastructure", "input", "code"]
Cause = Literal["worker lost", "node lost", "pre-empted"]
KINDS: tuple[str, ...] = get_args(Kind)
CAUSES: tuple[str, ...] = get_args(Cause)
INFRASTRUCTURE = "infrastructure"
WORKER_LOST, NODE_LOST, PRE_EMPTED = CAUSES

LABELS = {"diverged": "diverged", "out_of_memory": "out of memory", "infrastructure": "infrastructure",
          "input": "input error", "code": "code error"}  # how the board and the summary name a class


def classify(error: BaseException) -> Kind:
    """The class of an exception a job raised in its worker (a lost worker never raises: see `lost_worker`)."""
    from . import oom
    from .divergence import Diverged
    from .errors import HarnessError

    if isinstance(error, Diverged):
        return "diverged"
    cause = error.__cause__
    if isinstance(error, MemoryError) or oom.is_oom(error) or (cause is not None and oom.is_oom(cause)):
        return "out_of_memory"
    if isinstance(error, HarnessError):
        return "input"
    return "code"


def lost_worker(exitcode: Optional[int]) -> Cause:
    """The cause of a worker process that died mid-job with this exit code (negative: killed by that signal):
    SIGTERM from outside the harness is a pre-emption, anything else (SIGKILL from the OOM killer, a crash, an
    exit) a lost worker."""
    return PRE_EMPTED if exitcode == -signal.SIGTERM else WORKER_LOST


def describe(kind: Optional[str], cause: Optional[str] = None) -> str:
    """'infrastructure: worker lost', 'diverged', 'input error': a class as the board and the summary show it."""
    label = LABELS.get(str(kind), str(kind))
    return f"{label}: {cause}" if cause else label


# ---------------------------------------------------------------- records written before the classes (schema <= 3)

_LOCAL_DIED = re.compile(r"worker process \d+ died \(exit code (-?\d+|None)\)")
_RAY_LOST = re.compile(r"Ray task lost after \d+ retries \((\w+)")


def legacy(reason: str, traceback: Optional[str]) -> tuple[Kind, Optional[Cause]]:
    """The class of a schema 1-3 failure of kind 'error' (then the only kind besides out_of_memory and diverged),
    from what the harness itself wrote: its lost-worker messages ("worker process N died (exit code C) ...", "Ray task
    lost after N retries (NodeDiedError: ...") are infrastructure; a traceback whose last line is an exception of
    the harness's own (`harness.…Error: …`, a HarnessError: what it raises for input it cannot use) is input; the
    rest (another exception, or no traceback at all) is code."""
    died = _LOCAL_DIED.match(reason)
    if died:
        code = died[1]
        return INFRASTRUCTURE, lost_worker(int(code) if code != "None" else None)
    ray = _RAY_LOST.match(reason)
    if ray:
        return INFRASTRUCTURE, NODE_LOST if "Node" in ray[1] else WORKER_LOST
    last = [line for line in (traceback or "").splitlines() if line.strip()][-1:]
    if last and re.match(r"harness(\.\w+)+: ", last[0]):
        return "input", None
    return "code", None
