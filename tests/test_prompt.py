"""Prompt learning (PET): spec validation, verbalizer files, joint multi-token scoring, learnability, checkpoints."""
from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import torch

from harness import results
from harness.adapters import make_adapter
from harness.checkpoint import load_checkpoint
from harness.cli import main
from harness.errors import HarnessError
from harness.catalog import validate_task
from harness.specs import TaskSpec
from harness.trainconfig import TrainConfig
from harness.verbalizer import parse_label_words, resolve_label_words

LABELS = {"w_alice": "alice", "w_bob": "bob", "w_paris": "paris", "w_london": "london"}
FILLER = "the a movie film food service it this that with of to in on and but".split()


def _spec(**over) -> TaskSpec:
    base = dict(name="t", language="en", benchmark="demo", kind="single_cls", label_names=["neg", "pos"],
                metrics=["accuracy"], main_score="accuracy", sources=[{"type": "local", "dir": "x",
                                                                      "splits": {"test": "test"}}],
                prompt={"template": "{text} it was {mask} .", "label_words": {"neg": "bad", "pos": "good"}})
    base.update(over)
    return validate_task(base)


@pytest.mark.parametrize("prompt, needle", [
    ({"template": "{text} it was [MASK] ."}, "write the mask slot as {mask}"),
    ({"template": "{text} it was ."}, "exactly one {mask}"),
    ({"template": "{txt} it was {mask} ."}, "unknown placeholder {txt}"),
    ({"template": "{text} {mask}", "label_words": {"nge": "bad"}}, "did you mean 'neg'"),
    ({"template": "{text} {mask}", "label_words": {"neg": "x"}, "label_words_file": {"path": "l.txt"}}, "not both"),
])
def test_prompt_spec_errors(prompt, needle):
    with pytest.raises(ValueError, match=None) as e:
        _spec(prompt=prompt)
    assert needle in str(e.value)


def test_prompt_needs_classification_and_folds_need_placeholder():
    with pytest.raises(ValueError, match="kinds with a label set"):
        _spec(kind="regression", label_names=[], metrics=["pearson"], main_score="pearson")
    with pytest.raises(ValueError, match="folds"):
        _spec(folds=["0", "1"])


def test_label_words_files(tmp_path):
    (tmp_path / "label.txt").write_text("neg==bad&awful\npos==good\n", encoding="utf-8")
    assert parse_label_words(tmp_path / "label.txt") == {"neg": ["bad", "awful"], "pos": ["good"]}
    (tmp_path / "words.json").write_text(json.dumps({"neg": "bad", "pos": ["good", "fine"]}), encoding="utf-8")
    assert parse_label_words(tmp_path / "words.json") == {"neg": ["bad"], "pos": ["good", "fine"]}
    spec = _spec(prompt={"template": "{text} {mask}", "label_words_file": {"path": "label.txt"}})
    resolved = resolve_label_words(spec, tmp_path / "task.yaml", None)
    assert resolved.prompt.label_words == {"neg": ["bad", "awful"], "pos": ["good"]}
    (tmp_path / "bad.txt").write_text("neg==bad\n", encoding="utf-8")
    spec = _spec(prompt={"template": "{text} {mask}", "label_words_file": {"path": "bad.txt"}})
    with pytest.raises(HarnessError, match="no label word for pos"):
        resolve_label_words(spec, tmp_path / "task.yaml", None)
    (tmp_path / "typo.txt").write_text("neg==bad\npso==good\n", encoding="utf-8")
    spec = _spec(prompt={"template": "{text} {mask}", "label_words_file": {"path": "typo.txt"}})
    with pytest.raises(HarnessError, match="did you mean 'pos'"):
        resolve_label_words(spec, tmp_path / "task.yaml", None)


def test_multi_token_words_are_scored_jointly(tmp_path):
    """Two-character Chinese label words: two [MASK] slots; a word's score is the mean log-prob of its tokens."""
    from tiny import build_model

    from harness.adapters.prompt import PromptModel

    path = build_model("bert", tmp_path / "m")
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    spec = _spec(language="zh", label_names=["a", "b"],
                 prompt={"template": "主题是{mask}：{text}", "label_words": {"a": ["北京", "上海"], "b": "公司"}})
    adapter = make_adapter("encoder", spec, tok, TrainConfig(max_length=12), "mlm")
    assert adapter.n_masks == 2
    ids, pos = adapter.prompt_ids({"text": "这家餐厅很好吃" * 3})
    assert len(ids) == 12  # the input is cut to fit; the template and both masks stay
    assert [ids[p] for p in pos] == [tok.mask_token_id] * 2
    assert tok.decode(ids[1:pos[0]]).replace(" ", "") == "主题是"
    model = adapter.prepare_model(AutoModelForMaskedLM.from_pretrained(path)).eval()
    assert isinstance(model, PromptModel)
    feats = adapter._encode([{"text": "很好吃"}])
    batch = {k: torch.tensor([v]) for k, v in feats[0].items()}
    with torch.no_grad():
        scores = model(**batch).logits[0]
        logp = torch.log_softmax(model.mlm(input_ids=batch["input_ids"]).logits[0, pos], -1)

    def word(w):
        t = tok(w, add_special_tokens=False)["input_ids"]
        return (logp[0, t[0]] + logp[1, t[1]]) / 2

    expect_a = torch.logsumexp(torch.stack([word("北京"), word("上海")]), 0) - torch.log(torch.tensor(2.0))
    assert torch.allclose(scores, torch.stack([expect_a, word("公司")]), atol=1e-5)


def _synthetic_task(root: Path, n_train: int = 240, n_eval: int = 60) -> Path:
    """A 4-class task whose label is the one name in the text: learnable by copying it into the mask slot."""
    rng = random.Random(0)
    data = root / "data" / "who"
    data.mkdir(parents=True)
    for split, n in (("train", n_train), ("dev", n_eval), ("test", n_eval)):
        rows = []
        for _ in range(n):
            label = rng.choice(sorted(LABELS))
            words = rng.sample(FILLER, 6)
            words.insert(rng.randrange(7), LABELS[label])
            rows.append({"text": " ".join(words), "label": label})
        (data / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    tasks = root / "tasks"
    tasks.mkdir()
    (tasks / "who.yaml").write_text(f"""
name: who
language: en
benchmark: demo
kind: single_cls
label_names: {sorted(LABELS)}
metrics: [accuracy]
main_score: accuracy
sources:
  - {{type: local, dir: who, format: jsonl, splits: {{train: train, validation: dev, test: test}}}}
prompt:
  template: "{{text}} . who : {{mask}} ."
  label_words: {json.dumps(LABELS)}
""", encoding="utf-8")
    return tasks


@pytest.fixture(scope="module")
def who_run(tiny_models, tmp_path_factory):
    root = tmp_path_factory.mktemp("who")
    tasks = _synthetic_task(root)
    out = root / "out"
    common = ["run", "--models", str(tiny_models), "--only-models", "tiny-bert", "--tasks", "who", "--task-dir",
              str(tasks), "--data-dir", str(root / "data"), "--output-dir", str(out), "--epochs", "20",
              "--learning-rate", "3e-3", "--batch-size", "16", "--keep-checkpoints", "all", "--quiet"]
    assert main([*common, "--methods", "prompt", "--set", "rdrop_alpha=1.0"]) == 0
    assert main([*common, "--methods", "finetune"]) == 0  # the same examples with a new head, for the app test
    return out


def _prompt_result(out: Path) -> Path:
    (path,) = [p for p in (out / "results").rglob("prompt/*/seed*.json") if ".failed" not in p.name]
    return path


def test_prompt_learns_a_task_built_for_its_verbalizer(who_run):
    """>= 0.9 accuracy where chance is 0.25 (4 balanced-ish classes), trained through the MLM head with R-Drop."""
    path = _prompt_result(who_run)
    rec = json.loads(path.read_text())
    assert rec["job"]["method"] == "prompt" and "/prompt/" in str(path)
    assert rec["config"]["train"]["rdrop_alpha"] == 1.0
    assert rec["metrics"]["accuracy"] >= 0.9, rec["metrics"]
    assert rec["tokenizer_stats"]["masks"] == 1


def test_prompt_checkpoint_round_trip(who_run):
    path = _prompt_result(who_run)
    rec = json.loads(path.read_text())
    adapter, model = load_checkpoint(who_run / rec["checkpoint"])
    saved = results.read_predictions(results.predictions_path(path))
    examples = [{"id": r["id"], **r["input"]} for r in saved]
    again = adapter.predict(model, examples, 32)
    assert [p["prediction"] for p in again] == [r["prediction"] for r in saved]
    assert sorted(again[0]["scores"]) == sorted(LABELS)


def test_finetune_and_prompt_are_separate_rows_in_the_app(who_run):
    """Leaderboard rows, checkpoint labels, playground and significance all tell the two methods apart."""
    from leaderboard.data import load_app_data
    from leaderboard.filters import Filters, filter_table
    from webapp.playground import Playground
    from leaderboard import decision
    from leaderboard.table import to_markdown

    data = load_app_data(who_run)
    assert sorted(data.table["method"]) == ["finetune", "prompt"]
    assert "tiny-bert [prompt]" in to_markdown(data.table)
    shown, _ = filter_table(data.table, data.task_info, Filters())
    assert sorted(shown["model"]) == ["tiny-bert", "tiny-bert [prompt]"]
    labels = sorted(data.checkpoints["who"])
    assert labels == ["tiny-bert [prompt] · local · seed 42", "tiny-bert · local · seed 42"]
    out, _ = Playground(data).predict("who", labels[0], "the film with bob in it")
    assert out["text"]
    dec = decision.view_decisions(decision.all_draws(data), data.table)["who"]
    assert sorted(r.label for r in dec.rows) == ["tiny-bert", "tiny-bert [prompt]"]
    assert {r.key[2] for r in dec.rows} == {"finetune", "prompt"}


def test_rdrop_with_finetune_is_a_user_error(tiny_models, tmp_path):
    tasks = _synthetic_task(tmp_path, 20, 8)
    rc = main(["run", "--models", str(tiny_models), "--only-models", "tiny-bert", "--tasks", "who", "--task-dir",
               str(tasks), "--data-dir", str(tmp_path / "data"), "--output-dir", str(tmp_path / "o"),
               "--set", "rdrop_alpha=0.5", "--max-steps", "1", "--quiet"])
    assert rc == 2


def test_t5_and_unknown_words_are_not_applicable(tiny_models, tmp_path, capsys):
    tasks = _synthetic_task(tmp_path, 20, 8)
    text = (tasks / "who.yaml").read_text().replace('"alice"', '"zebra"')
    (tasks / "who.yaml").write_text(text)
    rc = main(["run", "--models", str(tiny_models), "--only-models", "tiny-bert,tiny-t5", "--tasks", "who",
               "--task-dir", str(tasks), "--data-dir", str(tmp_path / "data"), "--output-dir", str(tmp_path / "o"),
               "--methods", "prompt", "--max-steps", "1", "--quiet"])
    out = capsys.readouterr().out
    assert rc == 0
    flat = " ".join(out.split())  # the plan's footnotes wrap at 120 columns
    assert "not applicable: prompt × who (tiny-t5): t5 models do not run single_cls tasks with the prompt method" in flat
    assert ("not applicable: prompt × who (tiny-bert): task 'who': field 'prompt.label_words': zebra is not in this "
            "tokenizer's vocabulary" in flat), out


def test_prompt_runs_on_ernie_and_albert(tiny_models, tmp_path):
    """The MLM head is found the same way on every encoder family (ERNIE 'cls', ALBERT 'predictions')."""
    tasks = _synthetic_task(tmp_path, 24, 8)
    out = tmp_path / "o"
    rc = main(["run", "--models", str(tiny_models), "--only-models", "tiny-ernie,tiny-albert", "--tasks", "who",
               "--task-dir", str(tasks), "--data-dir", str(tmp_path / "data"), "--output-dir", str(out),
               "--methods", "prompt", "--max-steps", "2", "--quiet"])
    assert rc == 0
    recs = [json.loads(p.read_text()) for p in (out / "results").rglob("seed*.json")]
    assert sorted(r["job"]["model"] for r in recs) == ["tiny-albert", "tiny-ernie"]
    assert all(r["job"]["method"] == "prompt" and r["data"]["sizes"]["test"] == 8 for r in recs)


def test_rdrop_loss_is_two_dropout_passes_plus_symmetric_kl(tmp_path):
    from tiny import build_model
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    from harness.adapters.prompt import _sym_kl

    path = build_model("bert", tmp_path / "m")
    tok = AutoTokenizer.from_pretrained(path)
    spec = _spec(label_names=sorted(LABELS), prompt={"template": "{text} who {mask}", "label_words": LABELS})
    adapter = make_adapter("encoder", spec, tok, TrainConfig(rdrop_alpha=0.7), "mlm")
    model = adapter.prepare_model(AutoModelForMaskedLM.from_pretrained(path, hidden_dropout_prob=0.3)).train()
    feats = adapter.train_features([{"text": "alice lives in paris", "label": "w_alice"},
                                    {"text": "bob works in london", "label": "w_bob"}])
    batch = adapter.collator(model)(feats)
    torch.manual_seed(0)
    loss = model(**batch).loss
    torch.manual_seed(0)
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    s1, s2 = model.label_scores(**inputs), model.label_scores(**inputs)
    ce = torch.nn.functional.cross_entropy
    assert not torch.allclose(s1, s2)  # dropout differs between the passes
    expect = (ce(s1, batch["labels"]) + ce(s2, batch["labels"])) / 2 + 0.7 * _sym_kl(s1, s2)
    assert torch.allclose(loss, expect, atol=1e-6)


def test_predict_cli_reads_a_prompt_checkpoint_and_export_refuses_it(who_run, tmp_path, capsys):
    rec = json.loads(_prompt_result(who_run).read_text())
    ckpt = who_run / rec["checkpoint"]
    (tmp_path / "in.txt").write_text("the film with alice in it\nlondon was in the movie\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert main(["predict", "--checkpoint", str(ckpt), "--input", str(tmp_path / "in.txt"), "--output", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["prediction"] for r in rows] == ["w_alice", "w_london"]  # the learnt task, through the verbalizer
    assert main(["export", "--checkpoint", str(ckpt), "--format", "onnx"]) == 2
    assert "ONNX export is not supported for a PromptAdapter checkpoint" in capsys.readouterr().err
