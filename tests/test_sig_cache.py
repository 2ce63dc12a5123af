"""The significance cache (leaderboard/sig_cache.py): keyed by the results' fingerprint, outside the results."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd

from leaderboard import sig_cache
from webapp.sample import SAMPLE_DIR


def test_computed_once_per_fingerprint_and_kept_outside_the_results(tmp_path, monkeypatch):
    monkeypatch.setenv(sig_cache.CACHE_ENV, str(tmp_path / "cache"))
    root = tmp_path / "results-copy"
    shutil.copytree(SAMPLE_DIR, root)
    calls = []
    table = pd.DataFrame([{"task": "t", "model": "a", "next_model": "b", "diff": 0.5, "ci_low": 0.1, "ci_high": 0.9,
                           "p_value": 0.01, "n_examples": 10, "tie": False, "method": "per-example", "runs": "1 vs 1"}])

    def compute() -> pd.DataFrame:
        calls.append(1)
        return table

    first = sig_cache.cached(root, compute)
    again = sig_cache.cached(root, compute)
    assert len(calls) == 1 and again.to_dict("records") == first.to_dict("records") == table.to_dict("records")
    assert list((tmp_path / "cache" / "significance").glob("*.json")) and not list(root.rglob("*sig*"))
    rec = next((root / "results").rglob("seed*.json"))
    os.utime(rec, ns=(rec.stat().st_atime_ns, rec.stat().st_mtime_ns + 10**9))  # a rerun: another key
    sig_cache.cached(root, compute)
    assert len(calls) == 2


def test_an_unwritable_cache_is_ignored(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv(sig_cache.CACHE_ENV, str(blocker))  # a file where the folder should be
    out = sig_cache.cached(Path(SAMPLE_DIR), lambda: pd.DataFrame({"task": ["t"]}))
    assert list(out["task"]) == ["t"]
