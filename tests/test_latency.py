"""Latency measured apart from training (harness.latency): the run's latency.seed<k>.json, read by the board, refreshed
by `python -m harness latency` without touching a record."""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

from harness.cli import main
from harness.latency import median_input, targets
from harness.record import Latency, RecordError
from harness.results import latency_path
from leaderboard.table import leaderboard, load_results

SMOKE = ["--max-train-samples", "24", "--max-eval-samples", "16", "--max-steps", "2", "--quiet"]


@pytest.fixture(scope="module")
def timed(tiny_models, tmp_path_factory) -> Path:
    """tiny-bert on demo_sentiment, fine-tuned and LoRA, timed by `run` itself (5 runs each)."""
    out = tmp_path_factory.mktemp("latency") / "out"
    rc = main(["run", "--models", str(tiny_models), "--only-models", "tiny-bert", "--tasks", "demo_sentiment",
               "--methods", "finetune,lora", "--output-dir", str(out), "--seeds", "1", "--latency-runs", "5", *SMOKE])
    assert rc == 0
    return out


def _records(out: Path) -> list[Path]:
    return sorted(p for p in (out / "results").rglob("seed*.json") if not p.name.endswith(".failed.json"))


def test_median_input_is_the_same_whatever_the_order():
    rows = [{"id": f"r{i}", "input": {"text": "x" * n}} for i, n in enumerate((5, 1, 9, 5, 3))]
    picked = median_input(rows)
    assert picked["input"] == {"text": "xxxxx"} and picked["id"] == "r0"  # two of length 5: the first id
    assert median_input(list(reversed(rows))) == picked
    assert median_input([{"id": "a", "input": None}]) is None


def test_run_times_each_kept_checkpoint_apart_from_training(timed):
    recs = _records(timed)
    assert len(recs) == 2
    for path in recs:
        rec = json.loads(path.read_text())
        assert rec["timing"]["cpu_latency_ms_p50"] is None  # nothing is timed inside the training job any more
        lat = Latency.read(latency_path(path))
        assert lat.checkpoint == rec["checkpoint"] and lat.config_hash == rec["job"]["config_hash"]
        assert lat.runs == 5 and lat.warmup == 10 and lat.machine.threads == 1 and lat.backend == "torch"
        assert 0 < lat.min_ms <= lat.p50_ms <= lat.p95_ms and lat.iqr_ms >= 0
        assert lat.machine.cores == os.cpu_count() and lat.machine.cpu
        assert not Path(lat.checkpoint).is_absolute()
    inputs = {Latency.read(latency_path(p)).input_id for p in recs}
    assert len(inputs) == 1  # both methods timed on the same test example


def test_the_board_shows_the_measured_figure(timed):
    loaded = load_results(timed, write_index=False)
    by_method = {r.method: r for r in loaded.runs.itertuples()}
    for path in _records(timed):
        lat = Latency.read(latency_path(path))
        row = by_method[json.loads(path.read_text())["job"]["method"]]
        assert row.cpu_latency_ms == lat.p50_ms and row.latency_p95_ms == lat.p95_ms
        assert row.latency_setting.startswith(f"{lat.runs} runs after {lat.warmup} warm-up, torch, 1 thread, ")
    table = leaderboard(loaded.runs, loaded.failures)
    assert set(table["latency_ms"].round(3)) == set(loaded.runs["cpu_latency_ms"].round(3))


def test_latency_command_refreshes_without_touching_records(timed, tmp_path, capsys):
    out = tmp_path / "out"
    import shutil

    shutil.copytree(timed, out)
    before = {p: p.read_bytes() for p in _records(out)}
    first = load_results(out).runs.set_index("method")["cpu_latency_ms"]  # writes the index
    lat_file = latency_path(_records(out)[0])
    old = Latency.read(lat_file)
    assert main(["latency", "--output-dir", str(out), "--runs", "7", "--warmup", "2", "--quiet"]) == 0
    assert "latency: 2 checkpoint(s) timed (7 runs after 2 warm-up, 1 thread(s)" in capsys.readouterr().out
    assert {p: p.read_bytes() for p in _records(out)} == before
    new = Latency.read(lat_file)
    assert new.runs == 7 and new.measured_at >= old.measured_at
    again = load_results(out).runs.set_index("method")["cpu_latency_ms"]  # the index sees the new file
    method = json.loads(_records(out)[0].read_text())["job"]["method"]
    assert again[method] == new.p50_ms and set(again.index) == set(first.index)
    assert main(["latency", "--output-dir", str(out), "--missing", "--quiet"]) == 0  # all have one: none timed
    assert "latency: 0 checkpoint(s) timed" in capsys.readouterr().out
    assert Latency.read(lat_file) == new


def test_a_damaged_latency_file_leaves_the_row_without_a_figure(timed, tmp_path, caplog):
    import shutil

    out = tmp_path / "out"
    shutil.copytree(timed, out)
    lat_file = latency_path(_records(out)[0])
    lat_file.write_text("{not json", encoding="utf-8")
    with pytest.raises(RecordError, match="cannot read"):
        Latency.read(lat_file)
    with caplog.at_level(logging.WARNING):
        runs = load_results(out, write_index=False).runs
    assert runs["cpu_latency_ms"].isna().sum() == 1 and "latency not read" in caplog.text
    lat_file.write_text(json.dumps({"schema_version": 9}), encoding="utf-8")
    with pytest.raises(RecordError, match="schema_version 9"):
        Latency.read(lat_file)


def test_a_run_whose_checkpoint_is_gone_says_why(timed, tmp_path, capsys):
    import shutil

    out = tmp_path / "out"
    shutil.copytree(timed, out)
    for f in out.rglob("latency.seed*.json"):
        f.unlink()
    shutil.rmtree(out / "checkpoints")
    assert [t.skipped for t in targets(out)][0].startswith("checkpoint checkpoints/")
    assert main(["latency", "--output-dir", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert printed.count("latency not measured: tiny-bert/demo_sentiment/") == 2 and "0 checkpoint(s) timed" in printed


@pytest.mark.parametrize("argv, message", [
    (["latency", "--output-dir", "no/such/folder"], "--output-dir: no results/ folder"),
    (["latency", "--output-dir", ".", "--warmup", "-1"], None),
    (["run", "--models", "demo.yaml", "--tasks", "demo", "--latency-runs", "-1", "--dry-run"], "--latency-runs"),
])
def test_bad_latency_options_are_one_line(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    if argv[0] == "latency" and argv[2] == ".":
        (tmp_path / "results").mkdir()
        argv = [*argv[:2], str(tmp_path), *argv[3:]]
        message = "--warmup: expected 0 or more"
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
