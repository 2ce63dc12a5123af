"""Pre-flight: every run prints its plan and the tokenizer fit before training; --dry-run stops there; T5 label
words a tokenizer cannot spell are refused at planning; configuration errors come before torch is imported."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main
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
    assert "  tiny-bert × x × finetune: 2 seeds (0 of 2 done)" in printed
    assert "  tiny-t5 × x × lora: 2 seeds (0 of 2 done)" in printed
    # the T5 whose vocab lacks the label words' characters is refused for every method, with the fix
    refused = [ln for ln in printed if ln.startswith("not applicable: tiny-t5-en × x")]
    assert len(refused) == 2, printed
    for line in refused:
        assert ("field 'text_to_text.label_words': 不同, 相同 are [UNK] for this tokenizer and can never be "
                "generated; set text_to_text.label_words in the task YAML") in line
    assert not any(ln.startswith("not applicable: tiny-t5 ×") for ln in printed)
    # the fit, computed by hand: 3 of 16 tokens are [UNK], 1 of 4 rows is longer than 8 tokens
    fit = f"[UNK] {3 / 16:.1%}, truncated {1 / 4:.1%} at max_length 8 (4 rows)"
    assert f"  tiny-bert × x: {fit}" in printed and f"  tiny-t5 × x: {fit}" in printed
    warnings = [ln for ln in printed if ln.startswith("warning:")]
    assert len(warnings) == 2 and "turns 18.8% of the input tokens into [UNK] (over 5%)" in warnings[0]


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
    assert "3 runs, 1 already done, 2 to run" in lines[0] and lines[1].endswith("3 seeds (1 of 3 done)")
    assert main(_run(setup, out, "--only-models", "tiny-bert", "--search", "learning_rate=1e-3,1e-2",
                     "--dry-run")) == 0
    printed = capsys.readouterr().out
    assert ("search tiny-bert × x × finetune: 2 trials (grid over learning_rate) on the validation split with "
            "seed 42, 0 of 2 trial runs done; then the chosen setting on 1 seed") in printed
    assert f"  tiny-bert × x: [UNK] {3 / 16:.1%}" in printed
    assert sorted(p.name for p in out.rglob("*") if p.is_file()) == ["seed2.json"]  # the dry run wrote nothing


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
codes = [main(["run", "--models", {str(tmp_path / "m.yaml")!r}, "--tasks", "demo_sentiment"]),
         main(["run", "--models", "demo.yaml", "--tasks", "y", "--task-dir", {str(tmp_path / "tasks")!r}])]
print(codes, sorted(m for m in ("torch", "transformers") if m in sys.modules))
"""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.stdout.strip() == "[2, 2] []", proc.stdout + proc.stderr
    assert "unknown key 'familly'" in proc.stderr and "unknown key 'languag'" in proc.stderr
