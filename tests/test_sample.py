"""The bundled sample (webapp/sample/): reads with the current record schema, its tables are its results',
it stays small and checkpoint-free, and the script that regenerates it works."""
from __future__ import annotations

import re
import shutil

import pandas as pd
import pytest

from app_fixtures import tiny_results  # noqa: F401 - fixture
from harness.errors import HarnessError
from harness.record import SCHEMA_VERSION, ResultRecord
from leaderboard.data import load_app_data
from leaderboard.report import write_tables
from webapp.sample import NOTICE_MD, SAMPLE_DIR, is_sample, main, regenerate

REGENERATE = "regenerate it: python -m webapp.sample <demo output folder> (see webapp/sample.py)"


def test_sample_reads_with_current_schema():
    files = sorted((SAMPLE_DIR / "results").rglob("seed*.json"))
    assert files, f"no records in {SAMPLE_DIR}; {REGENERATE}"
    for path in files:
        raw_version = pd.read_json(path, typ="series")["schema_version"]
        assert raw_version == SCHEMA_VERSION, f"{path} has schema {raw_version}; {REGENERATE}"
        rec = ResultRecord.read(path)
        assert rec.checkpoint is None, f"{path} names a checkpoint; the sample ships none"
        text = path.read_text(encoding="utf-8")  # no machine's folders: the checkout's paths are relative
        assert not re.search(r'"/(tmp|work|home|root|Users)/', text), f"{path} holds an absolute path; {REGENERATE}"
    data = load_app_data(SAMPLE_DIR)
    assert data.loaded.problems == []
    assert {"minilm-l6-h384", "ernie-random-small", "albert-random-small", "t5-random-small"} <= set(data.runs.model)
    assert len(data.tasks) >= 5 and data.checkpoints == {}
    assert is_sample(SAMPLE_DIR) and "untrained" in NOTICE_MD


def test_sample_is_small_and_holds_only_results():
    files = [p for p in SAMPLE_DIR.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) < 1024 * 1024
    assert not (SAMPLE_DIR / "checkpoints").exists()
    allowed = (".json", ".predictions.jsonl.gz", "leaderboard.csv", "leaderboard.md")
    assert [p for p in files if not p.name.endswith(allowed)] == []
    assert any(p.name.endswith(".predictions.jsonl.gz") for p in files)


def test_sample_tables_are_its_results(tmp_path):
    copy = tmp_path / "sample"
    shutil.copytree(SAMPLE_DIR, copy)
    write_tables(copy)
    for name in ("leaderboard.csv", "leaderboard.md"):
        assert (copy / name).read_text("utf-8") == (SAMPLE_DIR / name).read_text("utf-8"), f"{name}: {REGENERATE}"


def test_regenerate_from_a_results_folder(tiny_results, tmp_path, capsys):
    dest = tmp_path / "sample"
    size = regenerate(tiny_results, dest)
    records = sorted((dest / "results").rglob("seed*.json"))
    source = sorted((tiny_results / "results").rglob("seed*.json"))
    assert [p.relative_to(dest) for p in records] == [p.relative_to(tiny_results) for p in source]
    assert all(ResultRecord.read(p).checkpoint is None for p in records)
    assert len(list(dest.rglob("*.predictions.jsonl.gz"))) == len(list(tiny_results.rglob("*.predictions.jsonl.gz")))
    assert not list(dest.rglob("*.log")) and not (dest / "checkpoints").exists()
    assert size == sum(p.stat().st_size for p in dest.rglob("*") if p.is_file())
    pd.testing.assert_frame_equal(load_app_data(dest).table, load_app_data(tiny_results).table)
    with pytest.raises(HarnessError, match="no result files"):
        regenerate(tmp_path / "empty", tmp_path / "out")
    assert main([str(tmp_path / "empty")]) == 2
    assert "no result files" in capsys.readouterr().err
