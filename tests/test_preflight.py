"""Pre-flight: every run prints its plan, one models × tasks matrix with the tokenizer fit folded in, before
training; --dry-run stops there; T5 label words a tokenizer cannot spell are refused at planning; configuration
errors come before torch is imported, and a rerun with nothing to do never imports it; no escape codes in job logs
or piped output."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main
from harness.record import ResultRecord
from test_bad_input import snapshot
from test_cli import REPO
from tiny import WORDS, build_model, save_tiny

# 4 training rows: 16 word tokens, 3 of them [UNK] (qqq, zzz, xxx); the 10-word row is longer than max_length 8
ROWS = ["good film", "bad qqq", "the movie was very good and the food was great", "zzz xxx"]
TASK = """name: x
language: en
benchmark: b
kind: single_cls
label_names: [neg, pos]
metrics: [accuracy]
main_score: accuracy
sources:
  - {type: local, relative_to: task_file, dir: data, format: jsonl, splits: {train: train, validation: dev, test: test}}
text_to_text:
  label_words: {neg: 不同, pos: 相同}
"""


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> Path:
    """Tiny BERT and T5 with the word + character vocab, and a T5 whose vocab has no Chinese characters."""
    from transformers import BertTokenizerFast

    root = tmp_path_factory.mktemp("preflight")
    bert, t5 = build_model("bert", root / "tiny-bert"), build_model("t5", root / "tiny-t5")
    en = root / "tiny-t5-en"
    en.mkdir()
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sorted(set(WORDS))]
    (en / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tok = BertTokenizerFast(vocab=str(en / "vocab.txt"), do_lower_case=True)
    tok.save_pretrained(en)
    save_tiny("t5", tok, en)
    (root / "models.yaml").write_text("models:\n" + "".join(
        f"  - {{name: {p.name}, id: {p}, family: {fam}}}\n" for p, fam in ((bert, "bert"), (t5, "t5"), (en, "t5"))))
    tasks = root / "tasks"
    (tasks / "data").mkdir(parents=True)
    (tasks / "x.yaml").write_text(TASK, encoding="utf-8")
    for split in ("train", "dev", "test"):
        (tasks / "data" / f"{split}.jsonl").write_text(
            "".join(json.dumps({"text": t, "label": "pos" if i % 2 else "neg"}) + "\n" for i, t in enumerate(ROWS)),
            encoding="utf-8")
    return root


def _run(setup: Path, out: Path, *extra: str) -> list[str]:
    return ["run", "--models", str(setup / "models.yaml"), "--tasks", "x", "--task-dir", str(setup / "tasks"),
            "--output-dir", str(out), "--set", "max_length=8", "--quiet", *extra]


def test_dry_run_prints_plan_fit_and_refusals_and_writes_nothing(setup, tmp_path, capsys):
    before = snapshot(setup)
    out = tmp_path / "out"
    assert main(_run(setup, out, "--seeds", "1,2", "--methods", "finetune,lora", "--dry-run")) == 0
    printed = capsys.readouterr().out.splitlines()
    assert not out.exists() and snapshot(setup) == before
    assert "plan: 4 jobs (model × task × method × fold) × 2 seeds = 8 runs, 0 already done, 8 to run" in printed[0]
    # one line per model, one column per task: 2 methods × 2 seeds to do; the fit, computed by hand, folded in:
    # 3 of 16 tokens are [UNK] (⚠, over 5%), 1 of 4 rows is longer than 8 tokens (✂, over 10%)
    assert printed[1].split() == ["model", "x"]
    assert printed[2].split() == ["tiny-bert", "4/4", f"⚠{3 / 16:.0%}", f"✂{1 / 4:.0%}"]
    assert printed[3].split() == ["tiny-t5", "4/4", f"⚠{3 / 16:.0%}", f"✂{1 / 4:.0%}"]
    # the T5 whose vocab lacks the label words' characters is refused for every method: one footnote with the fix
    assert printed[4].split() == ["tiny-t5-en", "—¹"]
    legend = " ".join(ln.strip() for ln in printed if not ln.startswith("¹"))
    assert "⚠N%: N% of the input tokens are [UNK] (over 5%)" in legend
    assert "✂N%: N% of the rows are longer than max_length (over 10%) (tokenizer fit on the first 200" in legend
    note = " ".join(ln.strip() for ln in printed[printed.index(next(ln for ln in printed if ln.startswith("¹"))):])
    assert note.startswith("¹ not applicable: finetune, lora × x (tiny-t5-en): field 'text_to_text.label_words': "
                           "不同, 相同 are [UNK] for this tokenizer and can never be generated; set "
                           "text_to_text.label_words in the task YAML"), note
    assert len(printed) <= 10 and all(len(ln) <= 120 for ln in printed[1:]), printed


def test_plan_counts_done_runs_and_shows_searches(setup, tmp_path, capsys):
    from harness import catalog, preflight
    from harness.plan import RunOptions
    from harness.models import load_models_file
    from harness.results import result_path

    out = tmp_path / "out"
    specs = load_models_file(setup / "models.yaml")[:1]
    entries = catalog.select(catalog.discover([setup / "tasks"]), "x")
    opts = RunOptions(output_dir=out, seeds=(1, 2, 3))
    plan = preflight.make_plan(specs, entries, opts)
    done = result_path(out, plan.jobs[0].key, 2)
    done.parent.mkdir(parents=True)
    done.write_text("{}")
    lines = preflight.plan_lines(plan, opts)
    assert "3 runs, 1 already done, 2 to run" in lines[0] and lines[2].split() == ["tiny-bert", "2/3"]
    assert main(_run(setup, out, "--only-models", "tiny-bert", "--search", "learning_rate=1e-3,1e-2",
                     "--dry-run")) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[2].split() == ["tiny-bert", "⚙2/2", f"⚠{3 / 16:.0%}", f"✂{1 / 4:.0%}"], printed
    assert ("searches: 1 × 2 trials (grid over learning_rate) on the validation split with seed 42; then the chosen "
            "setting on 1 seed") in printed
    assert sorted(p.name for p in out.rglob("*") if p.is_file()) == ["seed2.json"]  # the dry run wrote nothing


def test_a_300_job_grid_fits_30_lines_of_120_columns(setup, tmp_path):
    """6 models × 20 tasks × 3 methods, a sixth of them not applicable, 3 seeds: 300 jobs. The matrix wraps its task
    columns into blocks: the whole plan stays within 30 lines of at most 120 characters, every cell shown."""
    from types import SimpleNamespace

    from harness import catalog, preflight
    from harness.plan import NotApplicable, RunOptions

    tasks = sorted(catalog.discover([]))[:20]
    models = [f"model-{i}-{'x' * (i * 2)}" for i in range(6)]
    jobs, skipped, k = [], [], 0
    for m in models:
        for t in tasks:
            for method in ("finetune", "lora", "prompt"):
                k += 1
                if k % 6 == 0:
                    skipped.append(NotApplicable(m, t, method, f"task {t} has no prompt: section"))
                else:
                    jobs.append(SimpleNamespace(model=SimpleNamespace(name=m), spec=SimpleNamespace(name=t),
                                                method=method, seeds=(1, 2, 3), key=Path(m, t, method), fold=None))
    assert len(jobs) == 300
    plan = preflight.Plan(jobs, skipped, [], models, tasks)
    lines = preflight.plan_lines(plan, RunOptions(output_dir=tmp_path, seeds=(1, 2, 3)))
    assert len(lines) <= 30 and max(len(ln) for ln in lines[1:]) <= 120, "\n".join(lines)  # [0] names the folder
    headers = [ln for ln in lines if ln.startswith("model ")]
    assert len(headers) >= 2 and sorted(t for h in headers for t in h.split()[1:]) == sorted(tasks)
    assert sum(ln.startswith("model-0-") for ln in lines) == len(headers)  # each block: one line per model
    assert "¹ not applicable: " in "\n".join(lines)


def test_label_word_the_tokenizer_changes_is_refused(setup):
    """Not [UNK], yet never generated: the tokenizer strips the accent, so 'négatif' decodes as 'negatif'."""
    from transformers import BertTokenizerFast

    from harness.adapters.seq2seq import Seq2SeqAdapter
    from harness.catalog import load_task_file
    from harness.trainconfig import TrainConfig

    vocab = setup / "accents" / "vocab.txt"
    vocab.parent.mkdir()
    vocab.write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\nnegatif\npositif\n", encoding="utf-8")
    tok = BertTokenizerFast(vocab=str(vocab), do_lower_case=True)
    task = load_task_file(setup / "tasks" / "x.yaml")
    changed = task.model_copy(update={"text_to_text": task.text_to_text.model_copy(
        update={"label_words": {"neg": "négatif", "pos": "positif"}})})
    reason = Seq2SeqAdapter(changed, tok, TrainConfig()).check()
    assert reason and "négatif is not spelt back by this tokenizer ('négatif' comes back as 'negatif')" in reason
    plain = changed.model_copy(update={"text_to_text": task.text_to_text.model_copy(
        update={"label_words": {"neg": "negatif", "pos": "positif"}})})
    assert Seq2SeqAdapter(plain, tok, TrainConfig()).check() is None


def test_config_errors_come_before_torch_is_imported(tmp_path):
    """A bad models file and a bad task YAML: the one error line, and neither torch nor transformers imported."""
    (tmp_path / "m.yaml").write_text("models:\n  - {name: a, id: x, familly: bert}\n")
    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks" / "y.yaml").write_text(TASK.replace("name: x", "name: y").replace("language:", "languag:"))
    code = f"""
import sys
from harness.cli import main
from harness.record import ResultRecord
codes = [main(["run", "--models", {str(tmp_path / "m.yaml")!r}, "--tasks", "demo_sentiment"]),
         main(["run", "--models", "demo.yaml", "--tasks", "y", "--task-dir", {str(tmp_path / "tasks")!r}])]
print(codes, sorted(m for m in ("torch", "transformers") if m in sys.modules))
"""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.stdout.strip() == "[2, 2] []", proc.stdout + proc.stderr
    assert "unknown key 'familly'" in proc.stderr and "unknown key 'languag'" in proc.stderr


@pytest.fixture(scope="module")
def finished(setup, tmp_path_factory) -> tuple[Path, list[str]]:
    """An output folder whose every run is done (tiny BERT and T5, 1 step), and the command that made it."""
    out = tmp_path_factory.mktemp("finished") / "out"
    argv = _run(setup, out, "--only-models", "tiny-bert,tiny-t5", "--max-steps", "1")
    assert main(argv) == 0
    return out, argv


def test_a_rerun_with_nothing_to_do_imports_no_torch_and_pipes_no_escape_codes(finished):
    """Nothing to run: no tokenizer loads, so neither transformers nor torch is imported (the cost of a rerun is
    the plan and the tables); the console is a pipe, so a library's coloured message reaches it without its escape
    codes; the job logs (transformers' load report is bold) hold none either."""
    out, argv = finished
    code = f"""
import logging, sys
from harness.cli import main
from harness.record import ResultRecord
code = main({argv!r})
logging.getLogger("transformers.x").warning("\\x1b[1mLOAD REPORT\\x1b[0m of a library")
print(code, sorted(m for m in ("torch", "transformers") if m in sys.modules))
"""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.stdout.splitlines()[-1] == "0 []", proc.stdout + proc.stderr
    assert "2 runs, 2 already done, 0 to run" in proc.stdout
    assert ["tiny-bert", "done"] in [ln.split() for ln in proc.stdout.splitlines()]
    assert "WARNING transformers.x: LOAD REPORT of a library" in proc.stderr
    assert "\x1b[" not in proc.stdout + proc.stderr
    logs = sorted(out.rglob("seed42.log"))
    texts = [p.read_text(encoding="utf-8") for p in logs]
    assert len(texts) == 2 and any("LOAD REPORT" in t for t in texts) and not any("\x1b[" in t for t in texts)


def test_a_done_job_that_must_run_again_is_checked_first(finished, capsys, monkeypatch):
    """A job planned as done skips the checks that need its tokenizer; when one of its result files turns out
    damaged (moved aside, the run again), those checks run before it trains: it reruns, or, if it no longer
    applies, the command stops with one line naming it."""
    from harness import plan as plan_mod

    out, argv = finished
    damaged = next(out.rglob("seed42.json"))
    damaged.write_text("{}")
    monkeypatch.setattr(plan_mod, "check_with_tokenizer", lambda *a: "a reason it no longer applies")
    assert main(argv) == 2
    assert "× finetune: a reason it no longer applies (its earlier results under" in capsys.readouterr().err
    monkeypatch.undo()
    assert main(argv) == 0
    assert "jobs: 2 planned: 1 succeeded, 1 already done, 0 failed" in capsys.readouterr().out
    assert ResultRecord.read(damaged).status == "ok"
