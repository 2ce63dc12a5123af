"""An output folder written before the restructuring of issue 24 (main 27a88c9) reruns nothing and builds the same
tables: config hashes, record schema and scoring did not move with the code (tests/fixtures/27a88c9/README.md).
Its records are of schema 2 (read as 3, never rewritten); the board has since gained the decision's columns, so the
tables are compared on the columns 27a88c9 wrote."""
from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Iterator

import pandas as pd
import pytest

from harness.cli import main
from leaderboard.decision import DECISION_FIELDS

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "fixtures" / "27a88c9" / "output"
# where the fixture's models file lay (its ./ tokenizer path, resolved, is in the random-init models' config hash)
MODELS_HOME = Path("/tmp/mc27")
MODELS = MODELS_HOME / "demo.yaml"
TINY = ["--max-train-samples", "8", "--max-eval-samples", "8", "--max-steps", "1", "--keep-checkpoints", "none",
        "--seeds", "1", "--quiet"]
COMMANDS = [
    (["run", "--models", str(MODELS), "--tasks", "demo", "--methods", "finetune,lora,prompt", *TINY],
     "0 succeeded, 41 already done, 0 failed"),
    (["run", "--models", str(MODELS), "--only-models", "minilm-l6-h384", "--tasks", "demo_sentiment",
      "--search", "learning_rate=1e-4,3e-4", *TINY], "0 succeeded, 3 already done, 0 failed"),
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


TIED = re.compile(r"(.*) \(all (\d+) trials tied on validation: none chosen, the first kept; (\w+)\)")


def test_the_same_commands_rerun_nothing_and_build_the_same_tables(old_output, capsys):
    results_before = {p: (old_output / p).read_bytes() for p in _files(old_output)}
    for argv, summary in COMMANDS:
        assert main(argv + ["--output-dir", str(old_output)]) == 0
        assert summary in capsys.readouterr().out
    assert {p: (old_output / p).read_bytes() for p in results_before} == results_before  # no result file rewritten
    new = [p for p in _files(old_output) if p not in results_before]
    assert sorted(map(str, new)) == [".leaderboard-index.json", "leaderboard.csv", "leaderboard.md"]
    # the same table as 27a88c9 built, column for column; the board has since added the decision's columns
    # (leaderboard.decision, after 27a88c9) and the measured latency (harness.latency): those are the only new ones
    csv_new, csv_old = (pd.read_csv(p / "leaderboard.csv", dtype=str) for p in (old_output, FIXTURE))
    assert [c for c in csv_old if c not in csv_new] == []
    assert all(c.endswith(DECISION_FIELDS) or c == "latency_ms" for c in csv_new if c not in csv_old)
    assert csv_new["latency_ms"].isna().all()  # never timed apart from training; the old in-job figure is not read
    # and a search whose trials all tied says so (since issue 26) where 27a88c9 said "best of N": the same setting
    for col in (c for c in csv_old if c.endswith("_tuned")):
        for i in csv_new.index[csv_new[col].fillna("") != csv_old[col].fillna("")]:
            tied = TIED.fullmatch(csv_new.at[i, col])
            assert tied and csv_old.at[i, col] == f"{tied[1]} (best of {tied[2]} trials on validation, {tied[3]})"
            csv_new.at[i, col] = csv_old.at[i, col]
    pd.testing.assert_frame_equal(csv_new[list(csv_old.columns)], csv_old)
    md_new, md_old = (_md_table(p / "leaderboard.md") for p in (old_output, FIXTURE))
    assert all(c.endswith(("P(best)", "rank 95%")) or c == "p50 ms" for c in md_new if c not in md_old)
    pd.testing.assert_frame_equal(md_new[list(md_old.columns)], md_old)


def _md_table(path: Path) -> pd.DataFrame:
    """leaderboard.md's table (its lines that start with '|'), cells as text."""
    rows = [[c.strip() for c in line.strip().strip("|").split("|")]
            for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("|")]
    return pd.DataFrame(rows[2:], columns=rows[0])
