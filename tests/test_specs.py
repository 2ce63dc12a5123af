"""Config validation: strict task and model files, one-line errors with did-you-mean, precedence."""
from __future__ import annotations

import pickle
import re
from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.catalog import load_task_file, validate_task
from harness.models import load_models_file
from harness.kinds.ner import tag_names
from harness.specs import TaskSpec
from harness.trainconfig import TrainConfig, TrainOverrides, resolve_train_config

TASK = """
name: t
language: en
benchmark: GLUE
kind: single_cls
label_names: [neg, pos]
metrics: [accuracy]
main_score: accuracy
sources:
  - type: local
    dir: data
    splits: {train: train, test: dev}
"""


def write(tmp_path: Path, text: str, name: str = "t.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_valid_task_loads(tmp_path):
    spec = load_task_file(write(tmp_path, TASK))
    assert spec.name == "t" and spec.main_metrics == ["accuracy"]
    assert tag_names(spec) == ["O", "B-neg", "I-neg", "B-pos", "I-pos"]


@pytest.mark.parametrize("extra, expect", [
    ("labl_names: [a]\n", "unknown key 'labl_names' (did you mean 'label_names'?)"),
    ("train: {learning_rat: 1}\n", "unknown training option 'learning_rat' (did you mean 'learning_rate'?)"),
    ("carve: {sed: 1}\n", "unknown key 'sed' (did you mean 'seed'?)"),
    ("train: {lr_scheduler: cosin}\n", "unknown lr_scheduler 'cosin' (expected one of linear, cosine"),
])
def test_unknown_keys_are_errors_with_hint(tmp_path, extra, expect):
    with pytest.raises(HarnessError) as e:
        load_task_file(write(tmp_path, TASK + extra))
    msg = str(e.value)
    assert msg.startswith(str(tmp_path / "t.yaml")) and expect in msg and "\n" not in msg


def test_main_score_must_be_a_metric(tmp_path):
    with pytest.raises(HarnessError, match="main_score 'acuracy' is not in metrics.*did you mean 'accuracy'"):
        load_task_file(write(tmp_path, TASK.replace("main_score: accuracy", "main_score: acuracy")))


def test_bad_yaml_names_the_line(tmp_path):
    with pytest.raises(HarnessError, match=r"t.yaml: line \d+: invalid YAML"):
        load_task_file(write(tmp_path, TASK + "  bad: [unclosed\n"))


def test_missing_field_and_bad_kind(tmp_path):
    with pytest.raises(HarnessError, match="field 'kind'"):
        load_task_file(write(tmp_path, TASK.replace("kind: single_cls", "kind: classify")))
    with pytest.raises(HarnessError, match="field 'metrics': required field is missing"):
        load_task_file(write(tmp_path, TASK.replace("metrics: [accuracy]\n", "")))


REGRESSION = TASK.replace("kind: single_cls", "kind: regression").replace("label_names: [neg, pos]\n", "")
KIND_LIST = "(expected one of ...)"  # the registered kinds, in the order they were loaded


@pytest.mark.parametrize("text, message", [
    (TASK.replace("kind: single_cls", "kind: single_clf"),
     f"field 'kind': unknown task kind 'single_clf' {KIND_LIST} (did you mean 'single_cls'?)"),
    (TASK.replace("kind: single_cls", "kind: single_clf").replace("metrics: [accuracy]\n", ""),
     f"field 'kind': unknown task kind 'single_clf' {KIND_LIST} (did you mean 'single_cls'?) (+1 more)"),
    (TASK.replace("label_names: [neg, pos]\n", ""), "kind single_cls needs label_names"),
    (TASK.replace("metrics: [accuracy]", "metrics: [accuracy, pearson]"),
     "metric 'pearson' does not apply to kind single_cls (expected one of: accuracy, f1, macro_f1, mcc)"),
    (TASK.replace("metrics: [accuracy]", "metrics: [accuracy, acuracy]"),
     "unknown metric 'acuracy' (did you mean 'accuracy'?); built-in metrics only, or an evaluate Hub metric named "
     "evaluate:NAME (runs the metric's code from the Hub: needs --trust-metric-code)"),
    (TASK.replace("metrics: [accuracy]", "metrics: [acuracy]"),
     "main_score 'accuracy' is not in metrics ['acuracy'] (did you mean 'acuracy'?)"),
    (TASK.replace("metrics: [accuracy]", "metrics: [accuracy, 'evaluate:../evil']"),
     "metric 'evaluate:../evil': expected evaluate:NAME or evaluate:ORG/NAME naming a Hub metric, not a path or a "
     "script"),
    (REGRESSION.replace("metrics: [accuracy]", "metrics: [mse, pearson]").replace("main_score: accuracy",
                                                                                  "main_score: [mse, pearson]"),
     "main_score mixes directions {'mse': 'lower', 'pearson': 'higher'}: a mean of a higher-is-better and a "
     "lower-is-better metric ranks nothing; pick metrics of one direction"),
    (REGRESSION.replace("metrics: [accuracy]", "metrics: [pearson]").replace("main_score: accuracy",
                                                                             "main_score: pearson")
     + "prompt: {template: '{text_a} {mask}'}\n",
     "prompt: applies to kinds with a label set (single_cls, pair_cls), not regression"),
    (TASK + "prompt: {template: '{txt} It was {mask}.', label_words: {nope: x}}\n",
     "prompt.template: unknown placeholder {txt}; a single_cls task has {text} and {mask} (did you mean 'text'?)"),
])
def test_registry_checks_run_where_tasks_load(tmp_path, text, message):
    """The checks that need the kinds and metrics run as the catalogue loads a task (TaskSpec itself imports no
    registry), with the one-line errors they had when TaskSpec made them."""
    with pytest.raises(HarnessError) as e:
        load_task_file(write(tmp_path, text))
    got = re.sub(r"\(expected one of [a-z_, ]+\)", KIND_LIST, str(e.value))
    assert got == f"{tmp_path / 't.yaml'}: {message}"


def test_a_task_spec_without_the_registries_checks_only_its_data():
    data = {"name": "t", "language": "en", "benchmark": "b", "kind": "no_such_kind", "metrics": ["no_such_metric"],
            "main_score": "no_such_metric", "sources": [{"type": "local", "dir": "d", "splits": {"test": "t"}}]}
    spec = TaskSpec(**data)
    with pytest.raises(RuntimeError, match="harness.catalog.validate_task"):
        spec.task_kind
    with pytest.raises(ValueError, match="unknown task kind 'no_such_kind'"):
        validate_task(data)
    ok = validate_task({**data, "kind": "regression", "metrics": ["mse"], "main_score": "mse"})
    assert ok.task_kind.name == "regression" and ok.direction == "lower"
    assert pickle.loads(pickle.dumps(ok)).direction == "lower"  # jobs carry their task to other processes




def test_split_roles_are_checked(tmp_path):
    with pytest.raises(HarnessError, match="unknown split role 'dev'"):
        load_task_file(write(tmp_path, TASK.replace("{train: train, test: dev}", "{train: train, dev: dev}")))


def test_models_file_validation_and_relative_paths(tmp_path):
    p = write(tmp_path, "models:\n  - name: m\n    id: ./weights\n    family: bert\n", "m.yaml")
    (m,) = load_models_file(p)
    assert m.id == str((tmp_path / "weights").resolve())
    bad = write(tmp_path, "models:\n  - name: m\n    id: x\n    family: roberta\n", "b.yaml")
    with pytest.raises(HarnessError, match="b.yaml: field 'models.0.family'"):
        load_models_file(bad)
    dup = write(tmp_path, "models:\n  - {name: m, id: x, family: bert}\n  - {name: m, id: y, family: bert}\n", "d.yaml")
    with pytest.raises(HarnessError, match="duplicate model names"):
        load_models_file(dup)
    rnd = write(tmp_path, "models:\n  - {name: r, init: random, family: t5}\n", "r.yaml")
    with pytest.raises(HarnessError, match="init: random needs 'tokenizer'"):
        load_models_file(rnd)


def test_precedence_cli_over_model_task_over_model_over_task_over_family():
    family = {"learning_rate": 3e-4, "epochs": 5, "batch_size": 8, "max_length": 64, "weight_decay": 0.1}
    task = TrainOverrides(epochs=2, batch_size=16, max_length=256, weight_decay=0.01)
    model = TrainOverrides(batch_size=64, max_length=512, weight_decay=0.02)
    model_task = TrainOverrides(max_length=384, weight_decay=0.03)
    cli = {"weight_decay": 0.04, "max_steps": None}
    cfg = resolve_train_config(family, task, model, model_task, cli)
    assert (cfg.learning_rate, cfg.epochs, cfg.batch_size, cfg.max_length, cfg.weight_decay) == (
        3e-4, 2, 64, 384, 0.04)
    assert cfg.max_steps == -1  # None at the CLI level means "not given"


def test_auto_speed_settings_resolve_per_device_and_explicit_values_win():
    cpu, cuda = TrainConfig().for_device("cpu"), TrainConfig().for_device("cuda")
    assert (cpu.eval_batch_size, cpu.bf16) == (16, "off")
    assert cuda.eval_batch_size == 128  # bf16 depends on the GPU present
    assert TrainConfig(eval_batch_size=64).for_device("cuda").eval_batch_size == 64
    with pytest.raises(ValueError):
        TrainConfig(eval_batch_size=0)
    with pytest.raises(ValueError):
        TrainConfig(eval_batch_size="big")


def test_early_stopping_needs_selection_best():
    with pytest.raises(ValueError, match="early_stopping_patience needs selection: best"):
        resolve_train_config({"selection": "last", "early_stopping_patience": 2})


def test_t5_label_words_must_name_labels():
    with pytest.raises(ValueError, match="label_words names 'nope'"):
        validate_task(dict(name="t", language="en", benchmark="x", kind="single_cls", label_names=["a"],
                           metrics=["accuracy"], main_score="accuracy",
                           sources=[{"type": "local", "dir": "d", "splits": {"test": "t"}}],
                           text_to_text={"label_words": {"nope": "x"}}))


def test_task_spec_round_trips_through_json(tmp_path):
    spec = load_task_file(write(tmp_path, TASK + "train: {learning_rate: 1.0e-4, epochs: 2}\n"))
    dumped = spec.model_dump(mode="json")
    assert dumped["train"] == {"learning_rate": 1e-4, "epochs": 2}
    assert validate_task(dumped) == spec


def test_lr_schedulers_are_trainers():
    """Every scheduler the specs accept is one Trainer knows (kept in step with transformers' SchedulerType)."""
    from transformers.trainer_utils import SchedulerType

    from harness.trainconfig import LR_SCHEDULERS

    assert set(LR_SCHEDULERS) <= {s.value for s in SchedulerType}
