"""Fast checks of bench/grid/run.py's bookkeeping: reading both ways' result files, pooled rates and ratios, score
agreement and the report. (The benchmark itself is `python bench/grid/run.py`; it runs minutes to hours.)"""
from __future__ import annotations

import gzip
import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def grid():
    spec = importlib.util.spec_from_file_location("grid_bench", REPO / "bench" / "grid" / "run.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _write(path: Path, rec: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rec))


def test_collect_summarize_and_report(grid, tmp_path):
    data = tmp_path / "data"
    (data / "rte").mkdir(parents=True)
    (data / "rte" / "dev.jsonl.gz").write_bytes(gzip.compress(
        b'{"text_a": "a", "text_b": "b", "label": "entailment"}\n'
        b'{"text_a": "c", "text_b": "d", "label": "entailment"}\n'
        b'{"text_a": "e", "text_b": "f", "label": "not_entailment"}\n'))
    args = grid.parse_args(["--models", "minilm-l6-h384", "--tasks", "rte", "--seeds", "1,2", "--device", "cpu",
                            "--data-dir", str(data), "--out", str(tmp_path / "out")])
    out = args.out
    for seed, (ref_score, ours_score) in {1: (0.60, 0.61), 2: (0.62, 0.64)}.items():
        _write(out / "reference" / "minilm-l6-h384" / "rte" / f"seed{seed}.json",
               {"main": ref_score, "train_runtime_s": 100.0, "train_samples_per_s": 10.0, "data": {"dev": 200},
                "eval_samples_per_s": 40.0})
        _write(out / "harness" / "results" / "minilm-l6-h384" / "py-1" / "rte" / "finetune" / "abc" / f"seed{seed}.json",
               {"metrics": {"main": ours_score}, "data": {"sizes": {"test": 200}},
                "timing": {"train_runtime_s": 40.0, "train_samples_per_s": 25.0, "eval_samples_per_s": 100.0}})
    rows = grid.collect(args)
    assert len(rows) == 4 and {r["way"] for r in rows} == {"reference", "harness"}
    summary = grid.summarize(args, rows, {"reference": {"wall_s": 300.0}, "harness": {"wall_s": 100.0}}, "cpu")
    rte = summary["speed"]["rte"]
    assert rte["train"]["reference"] == pytest.approx(10.0) and rte["train"]["ratio"] == pytest.approx(2.5)
    assert rte["eval"]["ratio"] == pytest.approx(2.5)
    assert summary["speed"]["grid"]["wall_s"]["ratio"] == pytest.approx(3.0)
    (score,) = summary["scores"]
    assert score["reference"][0] == pytest.approx(61.0) and score["harness"][0] == pytest.approx(62.5)
    assert score["passed"] and score["tolerance"] == pytest.approx(2 * 1.5 * 2 ** 0.5)  # 2 × std of 61, 64
    assert score["majority"] == pytest.approx(100 * 2 / 3)
    md = grid.to_markdown(args, rows, summary, {"device_name": "x", "torch": "t", "transformers": "v",
                                                "cpu_count": 2, "git_sha": "s"})
    assert "| rte | 10.0 | 25.0 | 2.50 |" in md and "**3.00×**" in md and "train ≥ 2×" in md


def test_unknown_names_are_rejected(grid, capsys):
    with pytest.raises(SystemExit):
        grid.parse_args(["--models", "minilm", "--device", "cpu"])
    assert "--models: unknown ['minilm']" in capsys.readouterr().err
