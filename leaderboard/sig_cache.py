"""A cache of the decision's draws (leaderboard.decision: each run's main score on 1,000 resamples of its task's
test examples), keyed by a fingerprint of the results they were computed from.

The draws take seconds to minutes to compute from the saved predictions; they depend only on the result files and
predictions (and the code that scores them), so they are computed once per set of results and kept in a cache
folder outside the results (a Hub snapshot is read-only and shared): $HARNESS_CACHE_DIR, else
~/.cache/model-chooser. The fingerprint covers every result file and predictions file under results/ (relative
path, size, modification time), the decision and metric code and its settings: rerunning a job, or new code, is a
new key. Every decision, P(best) and significance mark of a view is computed from the draws in milliseconds. A
cache that cannot be read or written is ignored (the draws are computed again).
"""
from __future__ import annotations

import functools
import hashlib
import inspect
import io
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Callable, Collection, Optional

import numpy as np

from harness import metrics, scoring
from harness.results import LATENCY_PREFIX

from . import decision
from .result_files import stat_results

log = logging.getLogger(__name__)
CACHE_ENV = "HARNESS_CACHE_DIR"
Draws = dict[str, decision.TaskDraws]


def cache_dir() -> Path:
    """Where cached draws live: $HARNESS_CACHE_DIR/significance, else ~/.cache/model-chooser/significance."""
    base = os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "model-chooser"
    return Path(base) / "significance"


@functools.cache
def _code_key() -> str:
    """The code the draws depend on: the decision module and the metric implementations it scores resamples with
    (harness.metrics, harness.scoring), with its settings."""
    src = "".join(inspect.getsource(m) for m in (decision, metrics, scoring))
    src += f"{decision.N_RESAMPLES}/{decision.SEED}"
    return hashlib.sha1(src.encode()).hexdigest()[:12]


def _run_of(rel: str) -> str:
    """The run a seed* file belongs to: 'results/…/seed42.predictions.jsonl.gz' -> 'results/…/seed42'."""
    folder, _, name = rel.rpartition("/")
    return f"{folder}/{name.split('.', 1)[0]}"


def fingerprint(root: Path | str, only: Optional[Collection[str]] = None) -> str:
    """A key for the results under root/results (result_files.stat_results: every seed* file's path, size and
    modification time) and the decision code; ``only``: the files of these runs alone (result file paths relative
    to root, as leaderboard.data.only_files takes them)."""
    stats = tuple(s for s in stat_results(root)  # a latency file changes no draw
                  if not s[0].rpartition("/")[2].startswith(LATENCY_PREFIX))
    if only is not None:
        runs = {_run_of(Path(p).as_posix()) for p in only}
        stats = tuple(s for s in stats if _run_of(s[0]) in runs)
    return hashlib.sha1(f"{_code_key()}\n{stats!r}".encode()).hexdigest()[:20]


def _encode(draws: Draws) -> bytes:
    meta, arrays = [], {}
    for t, d in draws.items():
        cells = []
        for j, (key, c) in enumerate(d.cells.items()):
            arrays[f"r{len(meta)}_{j}"], arrays[f"f{len(meta)}_{j}"] = c.resampled, c.full
            cells.append({"key": list(key), "label": c.label, "folds": list(c.folds)})
        meta.append({"task": t, "direction": d.direction, "n_examples": d.n_examples, "how": d.how, "cells": cells})
    buf = io.BytesIO()
    np.savez(buf, meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), **arrays)
    return buf.getvalue()


def _decode(raw: bytes) -> Draws:
    with np.load(io.BytesIO(raw)) as z:
        meta = json.loads(z["meta"].tobytes())
        out: Draws = {}
        for i, m in enumerate(meta):
            d = decision.TaskDraws(m["task"], m["direction"], int(m["n_examples"]), m["how"])
            for j, c in enumerate(m["cells"]):
                d.cells[tuple(c["key"])] = decision.CellDraws(c["label"], z[f"r{i}_{j}"], z[f"f{i}_{j}"],
                                                              tuple(c["folds"]))
            out[m["task"]] = d
    return out


def load(key: str) -> Optional[Draws]:
    """The cached draws for ``key``, or None."""
    try:
        return _decode((cache_dir() / f"{key}.npz").read_bytes())
    except (OSError, ValueError, KeyError, TypeError) as e:
        if not isinstance(e, FileNotFoundError):
            log.debug("decision cache unreadable: %s", e)
        return None


def save(key: str, draws: Draws) -> None:
    """Store the draws under ``key`` (atomically; a failure is logged and ignored)."""
    folder = cache_dir()
    tmp = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{key}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(_encode(draws))
        os.replace(tmp, folder / f"{key}.npz")
    except OSError as e:
        log.debug("decision cache not written: %s", e)
        if tmp:
            Path(tmp).unlink(missing_ok=True)


def cached(root: Path | str, compute: Callable[[], Draws], only: Optional[Collection[str]] = None) -> Draws:
    """The draws of the results at ``root`` (``only``: of these runs' files; see `fingerprint`): from the cache,
    else ``compute()`` and stored."""
    key = fingerprint(root, only)
    draws = load(key)
    if draws is None:
        draws = compute()
        save(key, draws)
    return draws


def draws_of(data: "decision.AppData", only: Optional[Collection[str]] = None) -> Draws:
    """The draws of an AppData's results folder, through the cache; ``only``: the result files the AppData was
    restricted to (leaderboard.data.only_files), which key the cache instead of the whole folder."""
    return cached(data.root, lambda: decision.all_draws(data), only)
