"""Fast checks of bench/parity: the run_glue-style reference script trains on the same subset rule as the harness,
scores like GLUE, and the harness side uses run_glue's recipe. (The parity run itself is `python bench/parity/run.py`;
tests/test_benches.py runs it in a tiny mode, both sides, and checks the reference script's JSON.)"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PARITY = REPO / "bench" / "parity"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"parity_{name}", PARITY / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_reference_subset_is_the_harness_subset():
    from harness.data import subset_indices

    ref = _load("run_glue_reference")
    for n_total, n in ((50000, 1000), (3668, 1000), (5749, 1000), (10, 3), (5, 5), (7, None)):
        assert ref.subset_indices(n_total, n) == subset_indices(n_total, n)


def test_reference_metrics_like_glue():
    import numpy as np

    ref = _load("run_glue_reference")
    m = ref.glue_metrics("mrpc", np.array([1, 1, 0, 0]), np.array([1, 0, 0, 1]))
    assert m["accuracy"] == pytest.approx(0.5) and m["f1"] == pytest.approx(0.5) and m["main"] == pytest.approx(0.5)
    s = ref.glue_metrics("stsb", np.array([0.1, 0.5, 0.9, 2.0]), np.array([0.0, 1.0, 2.0, 3.0]))
    assert s["spearman"] == pytest.approx(1.0) and s["main"] == pytest.approx((s["pearson"] + 1.0) / 2)


def test_parity_harness_command_uses_run_glue_recipe(tmp_path):
    run = _load("run")
    args = run.parse_args(["--out", str(tmp_path), "--data-dir", str(tmp_path)])
    cmd = " ".join(run.harness_command(args))
    for part in ("--set selection=last", "--learning-rate 2e-05", "--batch-size 32", "--set max_length=128",
                 "--epochs 3", "--keep-checkpoints none", "--max-train-samples 1000", "--seeds 1,2,3",
                 "--tasks sst2,mrpc,stsb", str(PARITY / "models.yaml")):
        assert part in cmd
