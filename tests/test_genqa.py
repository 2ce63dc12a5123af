"""T5 generative QA (GenQAAdapter): learns a small synthetic task through the CLI, reads long contexts in windows,
scores Chinese answers by characters, and round-trips through a saved checkpoint."""
from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from harness import metrics, results
from harness.adapters import GenQAAdapter, adapter_class, make_adapter
from harness.checkpoint import load_checkpoint
from harness.cli import main
from harness.results import read_predictions
from harness.catalog import validate_task
from harness.trainconfig import TrainConfig
from webapp.playground import format_prediction

NAMES = ["alice", "bob", "张伟"]
CITIES = ["paris", "london", "北京", "上海"]
FILLER = ["the food was very good .", "the service was bad .", "this film is great .", "that movie was terrible ."]
DEMO_TOKENIZER = Path(__file__).resolve().parents[1] / "harness" / "assets" / "demo-tokenizer"
# Windows of 32 tokens (the prompt takes ~10) with stride 8: contexts with fillers span 1-3 windows.
TASK_YAML = """name: synth_qa
language: multi
benchmark: other
kind: extractive_qa
metrics: [exact_match, qa_f1]
main_score: [exact_match, qa_f1]
qa_f1: char
sources:
  - {type: local, relative_to: task_file, dir: data, format: jsonl, id_column: id,
     splits: {train: train, validation: validation, test: test}}
train: {max_length: 32, doc_stride: 8, max_answer_length: 6, batch_size: 16}
"""


def example(rng: random.Random, k: int, fillers: int, fact_last: bool = False) -> dict:
    """One fact ('<name> lives in <city> .') among filler sentences; the question asks for the city or the name."""
    name, city = rng.choice(NAMES), rng.choice(CITIES)
    parts = [rng.choice(FILLER) for _ in range(fillers)]
    fact = f"{name} lives in {city} ."
    if fact_last:
        parts.append(fact)
    else:
        parts.insert(rng.randint(0, len(parts)), fact)
    ctx = " ".join(parts)
    start = ctx.index(fact)
    if rng.random() < 0.5:
        q, ans, at = f"where is {name}", city, start + len(name) + len(" lives in ")
    else:
        q, ans, at = f"who lives in {city}", name, start
    return {"id": f"q{k}", "context": ctx, "question": q, "answers": {"text": [ans], "answer_start": [at]}}


def synth(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    return [example(rng, k, rng.randint(0, 6)) for k in range(n)]


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict:
    """The tiny T5 fine-tuned on the synthetic task through the CLI (400 steps, ~25 s on one thread)."""
    from tiny import build_model

    root = tmp_path_factory.mktemp("genqa")
    tasks = root / "tasks"
    (tasks / "data").mkdir(parents=True)
    (tasks / "synth_qa.yaml").write_text(TASK_YAML, encoding="utf-8")
    for split, n, seed in (("train", 400, 0), ("validation", 40, 1), ("test", 100, 2)):
        (tasks / "data" / f"{split}.jsonl").write_text(
            "".join(json.dumps(ex, ensure_ascii=False) + "\n" for ex in synth(n, seed)), encoding="utf-8")
    model = build_model("t5", root / "tiny-t5")
    models = root / "models.yaml"
    models.write_text(f"models:\n  - {{name: tiny-t5, id: {model}, family: t5, train: {{learning_rate: 3.0e-3}}}}\n")
    out = root / "out"
    rc = main(["run", "--models", str(models), "--tasks", "synth_qa", "--task-dir", str(tasks), "--output-dir",
               str(out), "--max-steps", "400", "--set", "eval_steps=200", "--quiet"])
    assert rc == 0
    (rfile,) = [p for p in (out / "results").rglob("seed*.json") if not p.name.endswith(".failed.json")]
    record = json.loads(rfile.read_text())
    return {"record": record, "out": out, "preds": read_predictions(results.predictions_path(rfile))}


def test_t5_runs_extractive_qa():
    assert adapter_class("seq2seq", "extractive_qa") is GenQAAdapter
    assert adapter_class("seq2seq", "ner") is None  # T5 still runs no NER


def test_learns_synthetic_qa(trained):
    """Answers are one of 3 names or 4 cities: one fixed answer would score at most ~0.3 EM."""
    r = trained["record"]
    assert r["data"]["sizes"] == {"train": 400, "validation": 40, "test": 100}
    assert r["metrics"]["exact_match"] >= 0.8, r["metrics"]
    assert r["tokenizer_stats"]["windows_per_example"] > 1.2
    rows = trained["preds"]
    assert len(rows) == 100 and {"generated", "prediction", "gold", "scores"} <= set(rows[0])
    assert len({row["prediction"] for row in rows}) >= 5  # not one constant answer
    assert all(row["generated"] for row in rows)  # every window must answer something: never empty


def _long_examples(n: int) -> list[dict]:
    rng = random.Random(7)
    return [example(rng, k, 6, fact_last=True) for k in range(n)]


def test_long_context_answered_from_the_right_window(trained):
    """The fact sits after 6 filler sentences, beyond the first 32-token window."""
    adapter, model = load_checkpoint(trained["out"] / trained["record"]["checkpoint"])
    exs = _long_examples(30)
    assert adapter.token_stats(exs)["windows_per_example"] >= 2
    preds = adapter.predict(model, exs, 16)
    em = metrics.exact_match([p["prediction"] for p in preds], [adapter.gold(ex) for ex in exs], adapter.task)
    assert em >= 0.8
    for ex, p in zip(exs, preds):
        assert p["scores"]["windows"] >= 2
        if p["prediction"] in ex["answers"]["text"]:
            assert p["scores"]["window"] >= 1  # not the first window: it holds only filler
            assert ex["context"][p["scores"]["start"]:p["scores"]["end"]] == p["prediction"]


def test_checkpoint_round_trip(trained):
    """load_checkpoint + predict reproduces the predictions saved by the run, Chinese answers included."""
    adapter, model = load_checkpoint(trained["out"] / trained["record"]["checkpoint"])
    assert isinstance(adapter, GenQAAdapter)
    rows = trained["preds"][:20]
    exs = [{"id": r["id"], **r["input"], "answers": {"text": r["gold"], "answer_start": [0] * len(r["gold"])}}
           for r in rows]
    preds = adapter.predict(model, exs, 8)
    assert [p["prediction"] for p in preds] == [r["prediction"] for r in rows]
    assert [p["generated"] for p in preds] == [r["generated"] for r in rows]
    assert any(" " in r["generated"] and r["prediction"] in ("北京", "上海") for r in rows)  # '上 海' -> '上海'


def test_chinese_answers_scored_by_character():
    """Decoding a character vocab spaces out Chinese ('上 海'): the context span is the prediction, and a partly
    right answer gets character-level F1 credit."""
    from transformers import AutoTokenizer

    task = validate_task(dict(name="zh", language="zh", benchmark="other", kind="extractive_qa", qa_f1="char",
                              metrics=["exact_match", "qa_f1"], main_score=["exact_match", "qa_f1"],
                              sources=[{"type": "local", "dir": "x", "splits": {"test": "dev"}}]))
    tok = AutoTokenizer.from_pretrained(DEMO_TOKENIZER)
    adapter = make_adapter("seq2seq", task, tok, TrainConfig(max_length=32, doc_stride=8))
    ex = {"id": "a", "context": "张伟住在上海市。", "question": "张伟住在哪里？",
          "answers": {"text": ["上海"], "answer_start": [4]}}
    adapter.generate = lambda model, feats, bs, n, **kw: [("上 海 市", -0.5)] * len(feats)
    (p,) = adapter.predict(None, [ex], 1)
    assert p["generated"] == "上 海 市" and p["prediction"] == "上海市"
    assert (p["scores"]["start"], p["scores"]["end"]) == (4, 7)
    scores = metrics.compute(task, [p["prediction"]], [adapter.gold(ex)])
    assert scores["exact_match"] == 0.0 and scores["qa_f1"] == pytest.approx(0.8)  # 2 of 3 chars vs 2 of 2
    shown = format_prediction("extractive_qa", ex, p)  # the app's playground highlights the span
    assert ("上海市", "answer") in shown["highlight"] and "generated" in shown["text"]


def test_training_windows_and_window_choice():
    """Windows holding the answer are trained on it, one other window per question on the empty answer; at
    prediction the best-scoring non-empty answer over the windows wins."""
    from transformers import AutoTokenizer

    task = validate_task(dict(name="en", language="en", benchmark="other", kind="extractive_qa",
                              metrics=["exact_match"], main_score="exact_match",
                              sources=[{"type": "local", "dir": "x", "splits": {"test": "dev"}}]))
    tok = AutoTokenizer.from_pretrained(DEMO_TOKENIZER)
    adapter = make_adapter("seq2seq", task, tok, TrainConfig(max_length=24, doc_stride=4, max_answer_length=5))
    ctx = " ".join(["the food was good ."] * 6 + ["alice lives in paris ."] + ["the film was bad ."] * 6)
    ex = {"id": "a", "context": ctx, "question": "where is alice",
          "answers": {"text": ["paris"], "answer_start": [ctx.index("paris")]}}
    enc = adapter._windows([ex])
    n = len(enc["input_ids"])
    holding = [j for j in range(n) if adapter._span(enc, j)[0] <= ex["answers"]["answer_start"][0]
               and adapter._span(enc, j)[1] >= ex["answers"]["answer_start"][0] + 5]
    assert n >= 4 and 1 <= len(holding) < n
    feats = adapter.train_features([ex])
    targets = [tok.decode(f["labels"], skip_special_tokens=True) for f in feats]
    assert targets.count("paris") == len(holding) and targets.count("") == 1 and len(feats) == len(holding) + 1
    # window 0 says 'bob' with a low score, the answer window 'paris' with a higher one, the rest nothing
    outs = [("bob", -3.0)] + [("", -0.1)] * (n - 1)
    outs[holding[0]] = ("paris", -1.0)
    adapter.generate = lambda model, feats, bs, k, **kw: outs
    (p,) = adapter.predict(None, [ex], 4)
    assert p["prediction"] == "paris" and p["scores"]["window"] == holding[0] and p["scores"]["windows"] == n
    adapter.generate = lambda model, feats, bs, k, **kw: [("", -0.1)] * n
    (p,) = adapter.predict(None, [ex], 4)
    assert p["prediction"] == "" and p["scores"]["score"] is None
