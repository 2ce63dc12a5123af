"""Task kinds and methods have one home each; the config hash covers what was set."""
from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import pytest

from harness import plan as planning
from harness.cli import main
from harness.models import load_models_file
from harness.confighash import config_hash
from harness.kinds import REGISTRY, get_kind, load_all
from harness.kinds.classification import SINGLE
from harness.methods import get_method, method_names
from harness.record import ResultRecord
from harness.catalog import TASKS_DIR, discover

REPO = Path(__file__).resolve().parents[1]
DEMO = TASKS_DIR / "demo" / "demo_sentiment.yaml"


def test_every_kind_declares_what_the_harness_asks():
    kinds = load_all()
    assert set(kinds) == {"single_cls", "pair_cls", "regression", "ner", "extractive_qa", "multiple_choice"}
    for kind in kinds.values():
        assert kind.gold_field in kind.fields and kind.gold_field not in kind.input_fields
        assert kind.length_field in kind.input_fields
        assert kind.adapters, kind.name
        for (family_adapter, role), ref in kind.adapters.items():
            cls = kind.adapter_class(family_adapter, role)
            assert cls is not None and cls.__name__ == ref.split(":")[1]
        assert kind.metrics and all(m in __import__("harness.metrics").metrics.REGISTRY for m in kind.metrics)


def test_no_kind_or_method_branches_outside_their_modules():
    """`if kind == ...` and kind names as literals live in harness/kinds only; method names in harness/methods
    (a default argument naming the default method aside)."""
    kinds = "|".join(load_all())
    branch = re.compile(r"(?<![\w.])(kind|task\.kind|spec\.kind|task_kind)\s*(==|!=|in|not in)\s*[(\[\"']")
    literal = re.compile(rf"[\"']({kinds})[\"']")
    method_branch = re.compile(r"method\s*(==|!=|in|not in)\s*[(\[\"']")
    offenders = []
    files = [*REPO.glob("harness/**/*.py"), *REPO.glob("leaderboard/**/*.py"), *REPO.glob("webapp/**/*.py"),
             REPO / "app.py"]
    assert {p.parent.name for p in files} >= {"harness", "leaderboard", "webapp"}
    for path in files:
        rel = path.relative_to(REPO).as_posix()
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if rel.startswith("harness/kinds/"):
                continue
            if branch.search(line) or (literal.search(line) and '"problem_type"' not in line):
                offenders.append(f"{rel}:{n}: {line.strip()}")
            if not rel.startswith("harness/methods/") and method_branch.search(line):
                offenders.append(f"{rel}:{n}: {line.strip()}")
    assert offenders == []


def write_task(folder: Path, name: str, kind: str, **extra: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    src = DEMO.read_text(encoding="utf-8").replace("name: demo_sentiment", f"name: {name}")
    src = src.replace("kind: single_cls", f"kind: {kind}").replace("groups: [demo]", "groups: []")
    src = src.replace("dir: data/demo_sentiment", f"dir: {DEMO.parent / 'data' / 'demo_sentiment'}")
    for old, new in extra.items():
        src = src.replace(old, new)
    (folder / f"{name}.yaml").write_text(src, encoding="utf-8")
    return folder


def test_unknown_kind_and_method_names_are_one_line_errors(tmp_path, tiny_models, capsys):
    tasks = write_task(tmp_path / "tasks", "typo_kind", "single_clf")
    rc = main(["run", "--models", str(tiny_models), "--tasks", "typo_kind", "--task-dir", str(tasks),
               "--output-dir", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2 and "unknown task kind 'single_clf'" in err and "did you mean 'single_cls'" in err
    with pytest.raises(SystemExit) as stop:
        main(["run", "--models", str(tiny_models), "--tasks", "demo_sentiment", "--methods", "promt",
              "--output-dir", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "unknown method 'promt'" in err and "did you mean 'prompt'" in err
    rc = main(["run", "--models", str(tiny_models), "--tasks", "demo_sentiment", "--set", "rdrop_alpha=0.5",
               "--output-dir", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2 and "rdrop_alpha" in err and "prompt method only" in err
    assert not (tmp_path / "o").exists()
    assert set(method_names()) == {"finetune", "prompt", "lora"} and get_method("prompt").adapter_role == "mlm"


def test_a_new_kind_is_one_registered_object(tmp_path, tiny_models, monkeypatch, capsys):
    """A kind nothing else knows about runs end to end once registered: data, training, scores, record, table."""
    topic = dataclasses.replace(SINGLE, name="topic_cls", description="one text -> a topic")
    monkeypatch.setitem(REGISTRY, "topic_cls", topic)
    tasks = write_task(tmp_path / "tasks", "topics", "topic_cls")
    out = tmp_path / "o"
    rc = main(["run", "--models", str(tiny_models), "--only-models", "tiny-bert", "--tasks", "topics",
               "--task-dir", str(tasks), "--output-dir", str(out), "--max-train-samples", "16",
               "--max-eval-samples", "8", "--max-steps", "2", "--quiet"])
    assert rc == 0, capsys.readouterr().err
    (rfile,) = (out / "results").rglob("seed42.json")
    rec = ResultRecord.read(rfile)
    assert rec.task_info.kind == "topic_cls" and 0.0 <= rec.metrics["accuracy"] <= 1.0
    assert set(rec.breakdown) == {"negative", "positive"}  # per-class scores, from the kind it copied
    assert sum(b["support"] for b in rec.breakdown.values()) == rec.data.sizes["test"]
    assert "topics" in (out / "leaderboard.md").read_text(encoding="utf-8")


def plan_one(tiny_models: Path, monkeypatch=None, cli: dict | None = None, task_yaml: Path | None = None,
             model_train: dict | None = None, out: Path | None = None) -> planning.Job:
    specs = [m for m in load_models_file(tiny_models) if m.name == "tiny-bert"]
    if model_train:
        from harness.trainconfig import TrainOverrides

        specs = [m.model_copy(update={"train": TrainOverrides(**model_train)}) for m in specs]
    reg = discover([task_yaml] if task_yaml else [])
    entry = reg["demo_sentiment" if task_yaml is None else next(n for n in reg if n.startswith("hash_"))]
    opts = planning.RunOptions(output_dir=out or Path("/nonexistent"), cli_train=cli or {}, max_train_samples=16)
    jobs, _ = planning.plan(specs, [entry], opts)
    return jobs[0]


def test_the_hash_covers_what_was_set_not_every_default(tiny_models, tmp_path, monkeypatch):
    base = plan_one(tiny_models)
    assert config_hash(base.config) == base.config_hash
    assert set(base.config["train"]) == {"batch_size", "bf16", "epochs", "max_length"}  # task train: + bf16
    # the same value set at another level is the same job; a different value is another
    assert plan_one(tiny_models, cli={"learning_rate": 5e-5}).config_hash == \
        plan_one(tiny_models, model_train={"learning_rate": 5e-5}).config_hash != base.config_hash
    # a shown-only task field does not count; a task field that changes scores does
    shown = write_task(tmp_path / "a", "hash_a", "single_cls", **{"description: Synthetic": "description: Other"})
    other = write_task(tmp_path / "b", "hash_a", "single_cls", **{"max_length: 64": "max_length: 32"})
    assert plan_one(tiny_models, task_yaml=shown).config_hash != plan_one(tiny_models, task_yaml=other).config_hash
    same = write_task(tmp_path / "c", "hash_a", "single_cls", **{"caveats:": "caveats:\n  - another caveat"})
    assert plan_one(tiny_models, task_yaml=shown).config_hash == plan_one(tiny_models, task_yaml=same).config_hash


def test_a_new_training_option_with_a_default_leaves_hashes_unchanged(tiny_models, monkeypatch):
    from pydantic import create_model

    from harness import confighash, trainconfig

    before = plan_one(tiny_models)
    Extended = create_model("TrainConfig", __base__=trainconfig.TrainConfig, new_option=(int, 0))
    monkeypatch.setattr(trainconfig, "TrainConfig", Extended)
    monkeypatch.setattr(confighash, "TrainConfig", Extended)
    monkeypatch.setattr(trainconfig, "TRAIN_FIELDS", tuple(Extended.model_fields))
    after = plan_one(tiny_models)
    assert hasattr(after.cfg, "new_option") and after.config_hash == before.config_hash
    changed = plan_one(tiny_models, cli={"new_option": 3})
    assert changed.config_hash != before.config_hash and changed.config["train"]["new_option"] == 3


def test_a_schema1_folder_is_adopted_only_for_the_same_job(tiny_models, tmp_path):
    """Planning keys a job by its schema-1 hash when that folder holds results and the new one does not."""
    from harness.confighash import legacy_config

    job = plan_one(tiny_models)
    legacy = legacy_config("finetune", job.spec, job.model, job.cfg, 16, None, job.config["data"])
    old = config_hash(legacy)
    assert old != job.config_hash
    out = tmp_path / "out"
    (out / "results" / job.key.parent / old).mkdir(parents=True)
    adopted = plan_one(tiny_models, out=out)
    assert adopted.config_hash == old and adopted.config == legacy and adopted.key.name == old
    other = plan_one(tiny_models, cli={"learning_rate": 1e-3}, out=out)
    assert other.config_hash not in (old, job.config_hash)
    shutil.rmtree(out)


def test_get_kind_names_the_field():
    with pytest.raises(Exception, match="did you mean 'ner'"):
        get_kind("nerr", "kind")


def test_breakdowns_per_class_and_per_entity_type():
    from harness.catalog import validate_task

    src = [{"type": "local", "dir": "x", "splits": {"test": "test"}}]
    cls = validate_task(dict(name="c", language="en", benchmark="b", kind="single_cls", label_names=["a", "b"],
                             metrics=["accuracy"], main_score="accuracy", sources=src))
    got = cls.task_kind.breakdown(cls, ["a", "a", "b", None], ["a", "b", "b", "b"])
    assert got["a"] == {"precision": 0.5, "recall": 1.0, "f1": pytest.approx(2 / 3), "support": 1.0}
    assert got["b"]["recall"] == pytest.approx(1 / 3) and got["b"]["support"] == 3.0  # None counts as wrong
    ner = validate_task(dict(name="n", language="en", benchmark="b", kind="ner", label_names=["PER", "LOC"],
                             metrics=["entity_f1"], main_score="entity_f1", sources=src))
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-LOC", "O"]]
    pred = [["B-PER", "I-PER", "O", "O"], ["B-LOC", "O"]]
    got = ner.task_kind.breakdown(ner, pred, gold)
    assert got["PER"]["f1"] == 1.0 and got["LOC"]["recall"] == 0.5 and got["LOC"]["support"] == 2.0
    assert get_kind("regression").breakdown(ner, [1.0], [1.0]) == {}
