"""The significance cache (leaderboard/sig_cache.py): keyed by the results' fingerprint, outside the results."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from leaderboard import decision, sig_cache
from webapp.sample import SAMPLE_DIR


def test_computed_once_per_fingerprint_and_kept_outside_the_results(tmp_path, monkeypatch):
    monkeypatch.setenv(sig_cache.CACHE_ENV, str(tmp_path / "cache"))
    root = tmp_path / "results-copy"
    shutil.copytree(SAMPLE_DIR, root)
    calls = []
    cell = decision.CellDraws("a", np.arange(6.0).reshape(2, 3), np.array([0.5, 0.6]), ("", ""))
    draws = {"t": decision.TaskDraws("t", "higher", 10, "per-example", {("a", "main", "finetune"): cell})}

    def compute() -> dict:
        calls.append(1)
        return draws

    sig_cache.cached(root, compute)
    again = sig_cache.cached(root, compute)
    assert len(calls) == 1 and list(again) == ["t"] and again["t"].n_examples == 10
    got = again["t"].cells[("a", "main", "finetune")]
    np.testing.assert_array_equal(got.resampled, cell.resampled)
    assert got.label == "a" and got.folds == ("", "")
    assert list((tmp_path / "cache" / "significance").glob("*.npz")) and not list(root.rglob("*.npz"))
    rec = next((root / "results").rglob("seed*.json"))
    os.utime(rec, ns=(rec.stat().st_atime_ns, rec.stat().st_mtime_ns + 10**9))  # a rerun: another key
    sig_cache.cached(root, compute)
    assert len(calls) == 2


def test_an_unwritable_cache_is_ignored(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv(sig_cache.CACHE_ENV, str(blocker))  # a file where the folder should be
    out = sig_cache.cached(Path(SAMPLE_DIR), lambda: {"t": decision.TaskDraws("t", "higher", 1, "per-example")})
    assert list(out) == ["t"]
