"""An output folder written by schema 3 (main 96bea60, tests/fixtures/96bea60/README.md) under schema 4: its
failure of kind 'error' (a killed local worker) reads as an infrastructure failure, the board no longer counts it
against the model, and the same command reruns only that seed; no success file is rewritten."""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Iterator

import pandas as pd
import pytest

from harness.cli import main
from harness.record import SCHEMA_VERSION, ResultRecord

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "fixtures" / "96bea60" / "output"
MODELS_HOME = Path("/tmp/mc96")
MODELS = MODELS_HOME / "demo.yaml"
COMMAND = ["run", "--models", str(MODELS), "--tasks", "demo_sentiment,demo_paraphrase", "--seeds", "1,2,3",
           "--max-train-samples", "8", "--max-eval-samples", "8", "--max-steps", "1", "--keep-checkpoints", "none",
           "--quiet"]


@pytest.fixture
def old_output(tmp_path) -> Iterator[Path]:
    shutil.rmtree(MODELS_HOME, ignore_errors=True)
    MODELS_HOME.mkdir(parents=True)
    shutil.copy(FIXTURE.parent / "demo.yaml", MODELS)
    out = tmp_path / "out"
    shutil.copytree(FIXTURE, out)
    yield out
    shutil.rmtree(MODELS_HOME, ignore_errors=True)


def test_a_schema_3_folder_reads_classified_ranks_the_model_and_reruns_only_the_lost_seed(old_output, capsys):
    (lost,) = (old_output / "results").rglob("*.failed.json")
    raw = json.loads(lost.read_text())
    assert raw["schema_version"] == 3 and raw["failure"]["kind"] == "error"
    rec = ResultRecord.read(lost)
    assert rec.schema_version == SCHEMA_VERSION == 4
    assert (rec.failure.kind, rec.failure.cause) == ("infrastructure", "worker lost")
    old_csv = pd.read_csv(FIXTURE / "leaderboard.csv")
    assert pd.isna(old_csv.loc[0, "demo_avg"]) and old_csv.loc[0, "demo_sentiment_failed"] == 1  # 96bea60's board

    assert main(["leaderboard", "--output-dir", str(old_output)]) == 0
    printed = capsys.readouterr().out
    csv = pd.read_csv(old_output / "leaderboard.csv")
    assert csv.loc[0, "demo_sentiment_failed"] == 0 and csv.loc[0, "demo_sentiment_n"] == 2
    assert csv.loc[0, "demo_avg"] == pytest.approx((csv.loc[0, "demo_sentiment"] + csv.loc[0, "demo_paraphrase"]) / 2)
    assert "(infrastructure: worker lost; not counted: a run of the same fold succeeded)" in printed
    # the scores themselves are 96bea60's
    assert list(csv[["demo_sentiment", "demo_paraphrase"]].round(6).iloc[0]) == \
        list(old_csv[["demo_sentiment", "demo_paraphrase"]].round(6).iloc[0])

    successes = {p: p.read_bytes() for p in (old_output / "results").rglob("seed*.json")
                 if not p.name.endswith(".failed.json")}
    assert main(COMMAND + ["--output-dir", str(old_output)]) == 0
    assert "jobs: 6 planned: 1 succeeded, 5 already done, 0 failed;" in capsys.readouterr().out
    assert {p: p.read_bytes() for p in successes} == successes  # no result file rewritten
    assert not lost.exists() and ResultRecord.read(lost.with_name("seed1.json")).schema_version == SCHEMA_VERSION
