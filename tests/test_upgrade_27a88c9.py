"""An output folder written before the restructuring of issue 24 (main 27a88c9) reruns nothing and builds the same
tables: config hashes, record schema and scoring did not move with the code (tests/fixtures/27a88c9/README.md)."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Iterator

import pytest

from harness.cli import main

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "fixtures" / "27a88c9" / "output"
# where the fixture's models file lay (its ./ tokenizer path, resolved, is in the random-init models' config hash)
MODELS_HOME = Path("/tmp/mc27")
MODELS = MODELS_HOME / "demo.yaml"
TINY = ["--max-train-samples", "8", "--max-eval-samples", "8", "--max-steps", "1", "--keep-checkpoints", "none",
        "--seeds", "1", "--quiet"]
COMMANDS = [
    (["run", "--models", str(MODELS), "--tasks", "demo", "--methods", "finetune,lora,prompt", *TINY],
     "0 run, 41 already done, 0 failed"),
    (["run", "--models", str(MODELS), "--only-models", "minilm-l6-h384", "--tasks", "demo_sentiment",
      "--search", "learning_rate=1e-4,3e-4", *TINY], "0 run, 3 already done, 0 failed"),
]


@pytest.fixture
def old_output(tmp_path) -> Iterator[Path]:
    shutil.rmtree(MODELS_HOME, ignore_errors=True)
    (MODELS_HOME / "harness" / "assets").mkdir(parents=True)
    shutil.copy(FIXTURE.parent / "demo.yaml", MODELS)
    tokenizer = Path("harness") / "assets" / "demo-tokenizer"
    shutil.copytree(REPO / tokenizer, MODELS_HOME / tokenizer)
    out = tmp_path / "out"
    shutil.copytree(FIXTURE, out)
    (out / "leaderboard.csv").unlink()
    (out / "leaderboard.md").unlink()
    yield out
    shutil.rmtree(MODELS_HOME, ignore_errors=True)


def _files(root: Path) -> list[Path]:
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


def test_the_same_commands_rerun_nothing_and_build_the_same_tables(old_output, capsys):
    results_before = {p: (old_output / p).read_bytes() for p in _files(old_output)}
    for argv, summary in COMMANDS:
        assert main(argv + ["--output-dir", str(old_output)]) == 0
        assert summary in capsys.readouterr().out
    assert {p: (old_output / p).read_bytes() for p in results_before} == results_before  # no result file rewritten
    new = [p for p in _files(old_output) if p not in results_before]
    assert sorted(map(str, new)) == [".leaderboard-index.json", "leaderboard.csv", "leaderboard.md"]
    assert (old_output / "leaderboard.csv").read_text(encoding="utf-8") == \
        (FIXTURE / "leaderboard.csv").read_text(encoding="utf-8")
    assert (old_output / "leaderboard.md").read_text(encoding="utf-8") == \
        (FIXTURE / "leaderboard.md").read_text(encoding="utf-8")
