"""Multiple choice (C3): the kind, the encoder adapter's choice padding and truncation, T5's likelihood ranking, a
tiny end-to-end run through the CLI with predict and the playground's three-box form."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from harness.cli import main
from harness.errors import HarnessError
from harness.kinds import InputError, get_kind
from harness.catalog import validate_task
from harness.specs import Source, TaskSpec
from harness.trainconfig import TrainConfig

KIND = "multiple_choice"
TASK_YAML = """name: mc_tiny
description: a tiny C3-like task
language: zh
benchmark: test
kind: multiple_choice
metrics: [accuracy]
main_score: accuracy
sources:
  - {type: local, relative_to: task_file, dir: data, format: jsonl, id_column: id,
     splits: {train: train, validation: dev, test: test}}
train: {max_length: 64, batch_size: 4}
"""
PLACES = ["北京", "上海", "工作", "家庭", "旅行", "公司"]


def c3_rows(n: int, seed: int = 0) -> list[dict]:
    """C3-like rows: 2 to 4 choices, contexts of different lengths, the answer named in the context."""
    import random

    rng = random.Random(seed)
    rows = []
    for i in range(n):
        choices = rng.sample(PLACES, 2 + i % 3)
        label = i % len(choices)
        rows.append({"id": f"q{seed}-{i}", "context": f"男：你去哪里？女：我去{choices[label]}。" * (1 + i % 3),
                     "question": "她去哪里?", "choices": choices, "label": label})
    return rows


def spec(**extra) -> TaskSpec:
    return validate_task({"name": "mc", "language": "zh", "benchmark": "b", "kind": KIND, "metrics": ["accuracy"],
                          "main_score": "accuracy", "sources": [{"type": "local", "dir": "x", "splits": {"test": "test"}}],
                          **extra})


@pytest.fixture(scope="module")
def tiny_dir(tiny_models) -> Path:
    return tiny_models.parent


@pytest.fixture(scope="module")
def bert(tiny_dir):
    from transformers import AutoModelForMultipleChoice, AutoTokenizer

    from harness.adapters.choice import ChoiceAdapter

    tok = AutoTokenizer.from_pretrained(tiny_dir / "tiny-bert")
    torch.manual_seed(0)
    model = AutoModelForMultipleChoice.from_pretrained(tiny_dir / "tiny-bert").eval()
    return ChoiceAdapter(spec(), tok, TrainConfig(max_length=48)), model


# ------------------------------------------------------------------ the kind

def test_kind_validates_rows_and_shows_the_chosen_choice():
    kind, task, src = get_kind(KIND), spec(), Source(type="local", dir="x", splits={"test": "test"})
    row = {"context": "c", "question": "q", "choices": ["甲", "乙", "丙"], "label": 2}
    assert kind.canonical(dict(row), task, src, "f: row 1")["label"] == 2
    assert kind.canonical(dict(row, label="1"), task, src, "f: row 1")["label"] == 1
    for bad, needle in ((dict(row, label=3), "field 'label': 3 is out of range for 3 choices (expected 0 to 2)"),
                        (dict(row, label=-1), "field 'label': -1 is out of range"),
                        (dict(row, label=True), "field 'label': expected the index"),
                        (dict(row, label="乙"), "field 'label': expected the index"),
                        (dict(row, choices="甲乙"), "field 'choices': expected a non-empty list of strings"),
                        (dict(row, choices=[]), "field 'choices': expected a non-empty list"),
                        (dict(row, choices=["甲", 2]), "field 'choices': expected a non-empty list of strings")):
        with pytest.raises(HarnessError, match="^f: row 1: ") as err:
            kind.canonical(bad, task, src, "f: row 1")
        assert needle in str(err.value)
    assert kind.show_example(1, {"choices": ["甲", "乙"]}) == "1: 乙"
    assert kind.show_example(None, {"choices": ["甲"]}) == "∅"
    out = kind.format_prediction({"choices": ["甲", "乙"]}, {"prediction": 0, "scores": {"0": 0.7, "1": 0.3}})
    assert out["text"] == "answer: 0: 甲" and out["label"] == {"0: 甲": 0.7, "1: 乙": 0.3}
    from harness import metrics

    assert metrics.compute(task, [0, 2, 1, None], [0, 2, 0, 1])["accuracy"] == 0.5
    with pytest.raises(ValueError, match="prompt: applies to kinds with a label set"):
        spec(prompt={"template": "{question}{mask}"})


def test_a_choice_given_twice_is_refused_or_left_out_and_counted(tmp_path, caplog):
    """Two copies of a choice: a model picking the other copy of the answer would be scored wrong. Refused at load
    (the line says how to leave such questions out); with `duplicate_choices: drop` they are left out, counted in
    the data's source block and logged; predict's input check refuses them too."""
    from harness.data import load_task_data

    rows = c3_rows(6)
    rows[1]["choices"] = ["甲", "乙", "甲"]
    rows[4]["choices"] = ["丙", "丙"]
    (tmp_path / "data").mkdir()
    for split in ("train", "test"):
        (tmp_path / "data" / f"{split}.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n"
                                                                 for r in rows), encoding="utf-8")
    src = {"type": "local", "relative_to": "task_file", "dir": "data", "format": "jsonl",
           "splits": {"train": "train", "test": "test"}}
    task_file = tmp_path / "mc.yaml"
    with pytest.raises(HarnessError, match=r"train.jsonl: row 2: field 'choices': choice '甲' is given 2 times .*"
                                           r"set duplicate_choices: drop in the task YAML"):
        load_task_data(spec(sources=[src]), task_file, None, need_validation=False)
    with caplog.at_level("WARNING"):
        data = load_task_data(spec(sources=[src], duplicate_choices="drop"), task_file, None, need_validation=False)
    assert len(data.splits["test"]) == 4 and sum(len(v) for v in data.splits.values()) == 8  # 4 train + 4 test
    assert data.source["left_out"] == {"train": {"a choice given twice (duplicate_choices: drop)": 2},
                                       "test": {"a choice given twice (duplicate_choices: drop)": 2}}
    assert "split 'test': 2 of 6 rows left out: a choice given twice" in caplog.text
    with pytest.raises(ValueError, match="choice '丙' is given 2 times"):
        get_kind(KIND).check_input("choices", ["丙", "丙"])
    with pytest.raises(ValueError, match="field 'duplicate_choices': kind single_cls has no choices"):
        validate_task(dict(name="s", language="en", benchmark="b", kind="single_cls", label_names=["a", "b"],
                           metrics=["accuracy"], main_score="accuracy", sources=[src], duplicate_choices="drop"))


def test_playground_form_builds_an_input_from_three_boxes():
    from webapp.playground import build_example, form, max_boxes

    assert form(KIND) == ("context", "question", "choices (one per line)") and max_boxes() == 3
    ex = build_example(KIND, "男：去北京吗？女：去。", "她去哪里?", "北京\n\n 上海 \n")
    assert ex == {"id": "playground", "context": "男：去北京吗？女：去。", "question": "她去哪里?",
                  "choices": ["北京", "上海"]}
    with pytest.raises(InputError, match="'question' is empty"):
        build_example(KIND, "c", " ", "a\nb")
    with pytest.raises(InputError, match="'choices \\(one per line\\)' is empty"):
        build_example(KIND, "c", "q")
    with pytest.raises(InputError, match="at least two"):
        build_example(KIND, "c", "q", "only one")
    assert get_kind(KIND).form_values(ex) == ["男：去北京吗？女：去。", "她去哪里?", "北京\n上海"]
    # the two-box and one-box kinds still take their boxes (and ignore a third value)
    assert build_example("pair_cls", "a", "b", "") == {"id": "playground", "text_a": "a", "text_b": "b"}
    assert build_example("single_cls", "a", "", "") == {"id": "playground", "text": "a"}


# ------------------------------------------------------------------ encoder: padding and truncation

def test_padded_choices_never_win_and_do_not_change_the_loss(bert):
    adapter, model = bert
    two, four = c3_rows(3)[0], c3_rows(3)[2]
    assert (len(two["choices"]), len(four["choices"])) == (2, 4)
    collate = adapter.collator(model)

    def batch(examples):
        return collate(adapter.train_features(examples))

    mixed = batch([two, four])
    assert mixed["input_ids"].shape[:2] == (2, 4) and mixed["choice_mask"].tolist()[0] == [True, True, False, False]
    with torch.no_grad():
        logits = adapter.choice_logits(model, mixed)
        alone2, alone4 = adapter.choice_logits(model, batch([two])), adapter.choice_logits(model, batch([four]))
        assert torch.isinf(logits[0, 2:]).all() and (logits[0, 2:] < 0).all()  # padded: -inf, never the argmax
        torch.testing.assert_close(logits[0, :2], alone2[0], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(logits[1], alone4[0], atol=1e-5, rtol=1e-5)
        loss, _ = adapter.compute_loss(model, mixed)
        each = [adapter.compute_loss(model, batch([ex]))[0] for ex in (two, four)]
        torch.testing.assert_close(loss, (each[0] + each[1]) / 2, atol=1e-5, rtol=1e-5)
    preds = adapter.predict(model, c3_rows(12), batch_size=5)  # batches mix 2, 3 and 4 choices
    for ex, p in zip(c3_rows(12), preds):
        assert 0 <= p["prediction"] < len(ex["choices"]) and list(p["scores"]) == [str(i) for i in
                                                                                   range(len(ex["choices"]))]
        assert sum(p["scores"].values()) == pytest.approx(1.0, abs=1e-4)
    assert preds == [adapter.predict(model, [ex], 1)[0] for ex in c3_rows(12)]  # input order, batch-independent


def test_truncation_cuts_the_context_and_keeps_question_and_choice(bert):
    adapter, _ = bert
    tok = adapter.tok
    # question + choice (~30 tokens) fit beside a cut context; longest-first truncation would cut the question too
    ex = {"context": "我去北京工作。" * 40, "question": "她去哪里工作?" * 4, "choices": ["北京", "上海公司"], "label": 0}
    feats = adapter.train_features([ex])[0]
    for ids, choice in zip(feats["input_ids"], ex["choices"]):
        assert len(ids) == 48
        second = tok(adapter.second_text(ex["question"], choice), add_special_tokens=False)["input_ids"]
        assert ids[-len(second) - 1:-1] == second  # [CLS] context... [SEP] question choice [SEP]
    long_q = dict(ex, question="她去哪里工作?" * 20)  # the question alone is longer than max_length: cut too
    assert all(len(ids) == 48 for ids in adapter.train_features([long_q])[0]["input_ids"])


# ------------------------------------------------------------------ T5: ranking by likelihood

def test_t5_ranks_choices_by_mean_token_likelihood(tiny_dir):
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    from harness.adapters.choice import Seq2SeqChoiceAdapter

    tok = AutoTokenizer.from_pretrained(tiny_dir / "tiny-t5")
    adapter = Seq2SeqChoiceAdapter(spec(text_to_text={"prefix": "c3:"}), tok, TrainConfig(max_length=64))
    model = adapter.prepare_model(AutoModelForSeq2SeqLM.from_pretrained(tiny_dir / "tiny-t5")).eval()
    examples = c3_rows(8)
    for i, ex in enumerate(examples):  # choices of 1 to 12 characters: a sum of log-probabilities favours short ones
        ex["choices"] = [(c * (1 + (i + j) % 6))[:12] for j, c in enumerate(ex["choices"])]
        ex["choices"][0] = ex["choices"][0][:1]
    preds = adapter.predict(model, examples, batch_size=4)
    differs = 0
    for ex, p in zip(examples, preds):
        enc = tok(adapter.source_text(ex), truncation=True, max_length=64, return_tensors="pt")
        source = {k: enc[k] for k in ("input_ids", "attention_mask")}
        means, sums = [], []
        with torch.no_grad():  # each choice alone, teacher-forced: mean log-probability of its target tokens
            for choice in ex["choices"]:
                target = torch.tensor([adapter.target_ids([choice], 64)[0]])
                logits = model(**source, labels=target).logits
                logp = torch.log_softmax(logits, -1).gather(-1, target.unsqueeze(-1))
                means.append(logp.mean().item())
                sums.append(logp.sum().item())
        assert p["prediction"] == max(range(len(means)), key=means.__getitem__)
        differs += max(range(len(sums)), key=sums.__getitem__) != p["prediction"]
        assert "generated" not in p and len(p["scores"]) == len(ex["choices"])
    assert differs, "these examples do not tell a mean from a sum of log-probabilities"
    assert adapter.source_text(examples[0]).startswith("c3: question: 她去哪里? choices: ")
    assert adapter.source_text(examples[0]).endswith(examples[0]["context"])  # context last: truncation cuts it


# ------------------------------------------------------------------ end to end

@pytest.fixture(scope="module")
def mc_run(tiny_models, tmp_path_factory):
    """A C3-like task folder and one CLI run of tiny BERT and tiny T5 on it."""
    root = tmp_path_factory.mktemp("mc")
    (root / "tasks" / "data").mkdir(parents=True)
    (root / "tasks" / "mc_tiny.yaml").write_text(TASK_YAML, encoding="utf-8")
    for split, n, seed in (("train", 24, 0), ("dev", 8, 1), ("test", 12, 2)):
        (root / "tasks" / "data" / f"{split}.jsonl").write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in c3_rows(n, seed)), encoding="utf-8")
    out = root / "out"
    rc = main(["run", "--models", str(tiny_models), "--only-models", "tiny-bert,tiny-t5", "--tasks", "mc_tiny",
               "--task-dir", str(root / "tasks"), "--output-dir", str(out), "--max-steps", "3", "--quiet",
               "--methods", "finetune,lora"])
    assert rc == 0
    return root, out


def test_cli_run_records_choice_indices_for_encoder_and_t5(mc_run):
    from harness.record import ResultRecord
    from harness.results import predictions_path, read_predictions

    _, out = mc_run
    files = sorted((out / "results").rglob("seed42.json"))
    assert {(ResultRecord.read(f).job.model, ResultRecord.read(f).job.method) for f in files} == {
        (m, meth) for m in ("tiny-bert", "tiny-t5") for meth in ("finetune", "lora")}
    for f in files:
        rec = ResultRecord.read(f)
        if rec.job.method == "lora":  # adapters (and the encoder's choice head) train, the base stays frozen
            assert rec.model_info.trainable_parameters < rec.model_info.parameters / 2
        assert rec.task_info.kind == KIND and rec.data.sizes == {"train": 24, "validation": 8, "test": 12}
        assert 0.0 <= rec.metrics["accuracy"] <= 1.0 and rec.training.steps == 3
        rows = read_predictions(predictions_path(f))
        assert [r["id"] for r in rows] == [r["id"] for r in c3_rows(12, 2)]  # input order
        for r in rows:
            assert 0 <= r["prediction"] < len(r["input"]["choices"]) and isinstance(r["gold"], int)
        assert rec.metrics["accuracy"] == pytest.approx(sum(r["prediction"] == r["gold"] for r in rows) / 12)


def test_predict_on_a_checkpoint_and_the_playground(mc_run, capsys):
    from leaderboard.compare import disagreements
    from leaderboard.data import load_app_data
    from webapp.playground import Playground, example_inputs

    root, out = mc_run
    inputs = root / "in.jsonl"
    inputs.write_text(json.dumps({"context": "我去北京。", "question": "她去哪里?", "choices": ["北京", "上海", "公司"]},
                                 ensure_ascii=False) + "\n", encoding="utf-8")
    for ckpt in sorted((out / "checkpoints").rglob("seed42")):
        capsys.readouterr()
        assert main(["predict", "--checkpoint", str(ckpt), "--input", str(inputs), "--quiet"]) == 0
        row = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert row["prediction"] in (0, 1, 2) and set(row["scores"]) == {"0", "1", "2"}
    data = load_app_data(out)
    ex = example_inputs(data, "mc_tiny", 2)
    assert len(ex[0]) == 3 and ex[0][2].count("\n") >= 1  # context, question, one choice per line
    pg = Playground(data)
    labels = list(data.checkpoints["mc_tiny"])
    for label in labels:
        got, ms = pg.predict("mc_tiny", label, "我去北京。", "她去哪里?", "北京\n上海")
        assert got["text"].startswith("answer: ") and set(got["label"]) == {"0: 北京", "1: 上海"} and ms > 0
    table, summary = disagreements(data, "mc_tiny", labels)
    assert "shared test examples" in summary
    for cell in table["gold"]:  # the gold choice shown as its index and its text
        index, text = cell.split(": ", 1)
        assert text in PLACES and index.isdigit()
    from leaderboard.significance import significance_table

    sig = significance_table(data)  # accuracy over choice indices: per-example resampling
    assert set(sig["method"]) == {"per-example"} and set(sig["n_examples"]) == {12} and len(sig) == 3


def test_app_predicts_from_three_boxes(mc_run):
    """The served app's /predict takes the task's three boxes (context, question, choices one per line)."""
    gradio_client = pytest.importorskip("gradio_client")
    from webapp.build import build_app
    from leaderboard.data import load_app_data
    from test_app_client import free_port

    _, out = mc_run
    demo = build_app(out)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        client = gradio_client.Client(f"http://127.0.0.1:{port}/", verbose=False)
        label = next(iter(load_app_data(out).checkpoints["mc_tiny"]))
        msg, probs, _, lat = client.predict("mc_tiny", label, "我去北京。", "她去哪里?", "北京\n上海\n公司",
                                            api_name="/predict")
        assert msg.startswith("answer: ") and "ms" in lat
        assert {c["label"] for c in probs["confidences"]} == {"0: 北京", "1: 上海", "2: 公司"}
        msg, *_ = client.predict("mc_tiny", label, "我去北京。", "她去哪里?", "北京", api_name="/predict")
        assert "at least two" in msg
    finally:
        demo.close()
