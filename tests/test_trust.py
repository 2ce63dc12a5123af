"""Nothing runs that the user did not choose, and nothing damaged is taken for a result: metric code from the Hub
only when trusted, pickled weights only when a model allows them, damaged result files moved aside and rerun,
temporary files of killed writes removed only when their writer is gone."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from harness import metrics, models, results
from harness.plan import check_metric_code
from harness.cli import main
from harness.errors import HarnessError
from harness.specs import ModelSpec
from harness.catalog import TaskEntry
from test_metrics import make_task
from tiny import build_model

RUN = ["run", "--tasks", "demo_sentiment", "--max-train-samples", "8", "--max-eval-samples", "8", "--max-steps", "1",
       "--seeds", "1", "--quiet", "--set", "selection=last"]


def test_a_damaged_result_is_moved_aside_and_rerun_and_leftovers_of_gone_writers_removed(tiny_models, tmp_path):
    out = tmp_path / "out"
    args = [*RUN, "--models", str(tiny_models), "--only-models", "tiny-bert", "--output-dir", str(out)]
    assert main(args) == 0
    (rfile,) = (out / "results").rglob("seed1.json")
    good = json.loads(rfile.read_text(encoding="utf-8"))
    truncated = rfile.read_text(encoding="utf-8")[:200]
    rfile.write_text(truncated, encoding="utf-8")  # a truncated write
    host = results.writer_tag().rsplit("-", 1)[0]
    dead = rfile.with_name(f".seed1.json.{host}-{2**22 + 12345}.abc.tmp")  # a PID above Linux's pid_max
    live = rfile.with_name(f".seed1.json.{results.writer_tag()}.abc.tmp")  # this process: still writing
    young = rfile.with_name(".seed1.json.otherhost-7.abc.tmp")  # another host's, not old yet
    old = rfile.with_name(".seed1.json.otherhost-8.abc.tmp")
    for p in (dead, live, young, old):
        p.write_text("partial", encoding="utf-8")
    os.utime(old, (time.time() - 3600,) * 2)
    assert main(args) == 0
    assert (rfile.parent / "seed1.json.corrupt").read_text(encoding="utf-8") == truncated
    again = json.loads(rfile.read_text(encoding="utf-8"))
    assert again["status"] == "ok" and again["job"] == good["job"]
    assert not dead.exists() and not old.exists() and live.exists() and young.exists()
    live.unlink()
    young.unlink()
    assert main(args) == 0  # nothing damaged now: nothing runs again, nothing else moved aside
    assert sorted(p.name for p in rfile.parent.glob("*.corrupt")) == ["seed1.json.corrupt"]


def test_an_empty_object_is_a_damaged_result_and_a_newer_one_is_kept_and_both_show_on_the_board(tiny_models, tmp_path):
    """`{}` in a result file is no record: `run` moves it aside and runs the job again (it is not taken for a newer
    harness's record, which would hide the task for good). A newer schema's record is kept and not rerun, and the
    board shows it in its cell as unreadable, the row's average partial."""
    from leaderboard.data import load_app_data

    out = tmp_path / "out"
    args = [*RUN, "--models", str(tiny_models), "--only-models", "tiny-bert,tiny-ernie", "--output-dir", str(out),
            "--seeds", "1,2"]
    assert main(args) == 0
    bert, ernie = (next((out / "results" / m).rglob("seed1.json")) for m in ("tiny-bert", "tiny-ernie"))
    bert.write_text("{}", encoding="utf-8")
    newer = {**json.loads(ernie.read_text(encoding="utf-8")), "schema_version": 99}
    ernie.write_text(json.dumps(newer), encoding="utf-8")
    table = load_app_data(out).table.set_index("row")
    assert table.loc["tiny-bert", "demo_sentiment_failed"] == 1
    assert table.loc["tiny-bert", "demo_sentiment_failed_reason"].startswith("damaged: not a result record")
    assert table.loc["tiny-ernie", "demo_sentiment_failed_reason"].startswith("unreadable (newer harness?)")
    assert main(args) == 0
    assert (bert.parent / "seed1.json.corrupt").read_text(encoding="utf-8") == "{}"
    assert json.loads(bert.read_text(encoding="utf-8"))["status"] == "ok"  # run again
    assert json.loads(ernie.read_text(encoding="utf-8"))["schema_version"] == 99  # kept, not rerun
    table = load_app_data(out).table.set_index("row")
    assert table.loc["tiny-bert", "demo_sentiment_failed"] == 0 and table.loc["tiny-ernie", "demo_sentiment_failed"] == 1


def test_a_result_whose_checkpoint_leads_outside_is_damaged_and_rerun(tiny_models, tmp_path):
    """`run` does not keep a record naming a checkpoint outside the output folder ('..', absolute, or a link inside
    pointing out): it is moved aside and the job runs again, writing a checkpoint path of its own."""
    out = tmp_path / "out"
    args = [*RUN, "--models", str(tiny_models), "--only-models", "tiny-bert", "--output-dir", str(out)]
    assert main(args) == 0
    (rfile,) = (out / "results").rglob("seed1.json")
    good = json.loads(rfile.read_text(encoding="utf-8"))
    assert good["checkpoint"] and (out / good["checkpoint"]).is_dir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (out / "checkpoints" / "link-out").symlink_to(elsewhere, target_is_directory=True)
    for bad in ("../elsewhere", str(elsewhere), "checkpoints/link-out"):
        rfile.write_text(json.dumps({**good, "checkpoint": bad}), encoding="utf-8")
        assert main(args) == 0
        assert json.loads(rfile.read_text(encoding="utf-8"))["checkpoint"] == good["checkpoint"], bad
    assert len(list(rfile.parent.glob("seed1.json*corrupt"))) == 3  # each moved aside, none deleted


def test_pickled_base_weights_load_only_when_the_model_allows_them(tmp_path):
    import torch

    folder = build_model("bert", tmp_path / "bin-model")
    from safetensors.torch import load_file

    weights = load_file(folder / "model.safetensors")
    (folder / "model.safetensors").unlink()
    torch.save(weights, folder / "pytorch_model.bin")
    from transformers import AutoModelForSequenceClassification

    tok = models.tokenizer_for(ModelSpec(name="m", id=str(folder), family="bert"))
    refused = ModelSpec(name="m", id=str(folder), family="bert")
    with pytest.raises(HarnessError, match="has no safetensors weights .* 'allow_pickle: true'"):
        models.check_weights(refused)
    with pytest.raises(HarnessError, match="allow_pickle"):
        models.load_model(refused, AutoModelForSequenceClassification, tok, 0, num_labels=2)
    allowed = ModelSpec(name="m", id=str(folder), family="bert", allow_pickle=True)
    models.check_weights(allowed)
    model = models.load_model(allowed, AutoModelForSequenceClassification, tok, 0, num_labels=2)
    name = "embeddings.word_embeddings.weight"  # saved from the bare model; the classifier prefixes "bert."
    assert torch.equal(model.state_dict()[f"bert.{name}"], weights[name])  # the pickled weights, not a random init


def _entry(tmp_path: Path, metric: str) -> TaskEntry:
    spec = make_task("single_cls", ["accuracy", metric], "accuracy", label_names=["a", "b"])
    return TaskEntry(spec=spec, path=tmp_path / "t.yaml")


def test_a_hub_metric_needs_trust_and_is_fetched_at_planning(tmp_path, monkeypatch):
    entries = [_entry(tmp_path, "evaluate:accuracy")]
    with pytest.raises(HarnessError, match="t.yaml: field 'metrics': 'evaluate:accuracy' runs the metric's code"):
        check_metric_code(entries, trusted=False)

    def offline(name):
        raise ConnectionError(f"cannot reach the Hub for {name}")

    monkeypatch.setattr("evaluate.load", offline)
    with pytest.raises(HarnessError, match=r"cannot load 'evaluate:accuracy' \(cannot reach the Hub for accuracy\)"):
        check_metric_code(entries, trusted=True)
    fetched = []
    monkeypatch.setattr("evaluate.load", lambda name: fetched.append(name))
    check_metric_code(entries, trusted=True)
    assert fetched == ["accuracy"]
    check_metric_code([_entry(tmp_path, "f1")], trusted=False)  # built-in: nothing to trust
    assert not metrics.TRUST_METRIC_CODE.get()


def test_a_hub_metric_never_runs_a_local_script_of_its_name(tmp_path, monkeypatch):
    """evaluate.load('evilm') would run ./evilm/evilm.py before looking at the Hub: with such a folder (or any path
    of the metric's name) in the working directory, planning refuses, and nothing of it runs."""
    marker = tmp_path / "ran"
    (tmp_path / "evilm").mkdir()
    (tmp_path / "evilm" / "evilm.py").write_text(f"open({str(marker)!r}, 'w').write('x')\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    called = []
    monkeypatch.setattr("evaluate.load", lambda name: called.append(name))
    with pytest.raises(HarnessError, match=r"t.yaml: field 'metrics': metric 'evaluate:evilm': the working directory "
                                           r"holds 'evilm' .* which evaluate would run instead of the Hub metric"):
        check_metric_code([_entry(tmp_path, "evaluate:evilm")], trusted=True)
    with pytest.raises(HarnessError, match="which evaluate would run instead"):
        metrics.load_hub_metric("evaluate:evilm")
    assert not called and not marker.exists()
    check_metric_code([_entry(tmp_path, "evaluate:accuracy")], trusted=True)  # no local 'accuracy': the Hub's
    assert called == ["accuracy"]


# ---------------------------------------------------------------- a 10 MB row: a bounded text reaches the tokenizer

class _SpyTokenizer:
    """Counts the characters of every call that reaches the real tokenizer."""

    def __init__(self, tok):
        self.tok, self.most = tok, 0

    def __getattr__(self, name):
        return getattr(self.tok, name)

    def __len__(self):
        return len(self.tok)

    def __call__(self, *args, **kwargs):
        def chars(v):
            return len(v) if isinstance(v, str) else sum(chars(x) for x in v) if isinstance(v, (list, tuple)) else 0

        self.most = max(self.most, sum(chars(v) for v in (*args, *kwargs.values())))
        return self.tok(*args, **kwargs)


@pytest.mark.parametrize("family, task, role, method", [("bert", "demo_sentiment", "head", "finetune"),
                                                        ("bert", "demo_paraphrase", "head", "finetune"),
                                                        ("bert", "demo_ner", "head", "finetune"),
                                                        ("bert", "c3", "head", "finetune"),
                                                        ("bert", "demo_sentiment", "mlm", "prompt"),
                                                        ("t5", "demo_sentiment", "head", "finetune")])
def test_a_10_mb_row_reaches_the_tokenizer_cut_to_a_bound_with_the_same_features(tmp_path, family, task, role,
                                                                                  method):
    """Each text is cut to max_length × CHARS_PER_TOKEN characters before tokenizing (a spy on the tokenizer counts
    what reaches it), and a row a few times longer than that gives the same features as the whole row would."""
    from transformers import AutoTokenizer

    from harness.adapters import make_adapter
    from harness.adapters.base import CHARS_PER_TOKEN
    from harness.catalog import discover
    from harness.trainconfig import TrainConfig

    spec = discover()[task].spec
    tok = AutoTokenizer.from_pretrained(build_model(family, tmp_path / family))
    cfg = TrainConfig(max_length=32)
    bound = cfg.max_length * CHARS_PER_TOKEN
    fam = "seq2seq" if family == "t5" else "encoder"

    def row(n_words: int) -> dict:
        words = ["good", "food"] * (n_words // 2)
        text = " ".join(words)
        label = spec.label_names[0] if spec.label_names else None
        return {"single_cls": lambda: {"text": text, "label": label},
                "pair_cls": lambda: {"text_a": text, "text_b": text, "label": label},
                "ner": lambda: {"tokens": words, "tags": ["O"] * len(words)},
                "multiple_choice": lambda: {"context": text, "question": "good?", "choices": ["good", "food"],
                                            "label": 0}}[spec.kind]()

    spy = _SpyTokenizer(tok)
    adapter = make_adapter(fam, spec, spy, cfg, role)
    huge = row(2_000_000)  # 10 MB of text
    stats = adapter.token_stats([huge])
    feats = adapter.train_features([huge])
    assert 0 < spy.most <= 3 * bound + 100, spy.most  # a few texts of one row, each cut to the bound
    assert stats["truncation_rate"] == 1.0  # a cut text still counts as truncated
    # a row 4× the bound: the features are those of the whole row (the cut drops nothing the model would see)
    long = row(4 * bound // 5)
    whole = make_adapter(fam, spec, tok, cfg, role)
    whole.tok.max_chars = 10 ** 9
    assert adapter.train_features([long]) == whole.train_features([long])
    assert feats[0]["input_ids"] == adapter.train_features([row(bound)])[0]["input_ids"]
