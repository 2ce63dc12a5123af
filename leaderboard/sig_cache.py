"""A cache of the significance table, keyed by a fingerprint of the results it was computed from.

The bootstrap over saved predictions takes seconds to minutes; the table depends only on the result files and
predictions (and the code that scores them), so it is computed once per set of results and kept in a cache folder
outside the results (a Hub snapshot is read-only and shared): $HARNESS_CACHE_DIR, else ~/.cache/model-chooser.
The fingerprint covers every result file and predictions file under results/ (relative path, size, modification
time), the significance and metric code and its settings: rerunning a job, or new code, is a new key. A cache that
cannot be read or written is ignored (the table is computed again).
"""
from __future__ import annotations

import functools
import hashlib
import inspect
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Callable, Optional

import pandas as pd

from harness import metrics, scoring

from . import significance
from .result_files import stat_results

log = logging.getLogger(__name__)
CACHE_ENV = "HARNESS_CACHE_DIR"


def cache_dir() -> Path:
    """Where cached tables live: $HARNESS_CACHE_DIR/significance, else ~/.cache/model-chooser/significance."""
    base = os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "model-chooser"
    return Path(base) / "significance"


@functools.cache
def _code_key() -> str:
    """The code the table depends on: the significance module and the metric implementations its bootstrap scores
    resamples with (harness.metrics, harness.scoring), with its settings."""
    src = "".join(inspect.getsource(m) for m in (significance, metrics, scoring))
    src += f"{significance.N_RESAMPLES}/{significance.SEED}/{significance.ALPHA}"
    return hashlib.sha1(src.encode()).hexdigest()[:12]


def fingerprint(root: Path | str) -> str:
    """A key for the results under root/results (result_files.stat_results: every seed* file's path, size and
    modification time) and the significance code."""
    return hashlib.sha1(f"{_code_key()}\n{stat_results(root)!r}".encode()).hexdigest()[:20]


def load(key: str) -> Optional[pd.DataFrame]:
    """The cached table for ``key``, or None."""
    path = cache_dir() / f"{key}.json"
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return pd.DataFrame(rows, columns=list(significance.PairResult.__dataclass_fields__))


def save(key: str, table: pd.DataFrame) -> None:
    """Store the table under ``key`` (atomically; a failure is logged and ignored)."""
    folder = cache_dir()
    tmp = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{key}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(table.to_json(orient="records"))
        os.replace(tmp, folder / f"{key}.json")
    except OSError as e:
        log.debug("significance cache not written: %s", e)
        if tmp:
            Path(tmp).unlink(missing_ok=True)


def cached(root: Path | str, compute: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """The significance table of the results at ``root``: from the cache, else ``compute()`` and stored."""
    key = fingerprint(root)
    table = load(key)
    if table is None:
        table = compute()
        save(key, table)
    return table
