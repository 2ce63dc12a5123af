"""The typed result record: one schema, one migration, and an upgrade that orphans nothing.

tests/fixtures/v1 holds files of the schema-1 format written by the harness before the record became typed
(see its README): result records, a failure record and a checkpoint's JSON files.
"""
from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

from harness.cli import main
from harness.record import (CHECKPOINT_SCHEMA_VERSION, SCHEMA_VERSION, CheckpointInfo, RecordError, ResultRecord,
                            UnknownSchema)

FIXTURES = Path(__file__).parent / "fixtures" / "v1"
REPO = Path(__file__).resolve().parents[1]
V1_SENTIMENT = "results/minilm-l6-h384/py-0.1.0/demo_sentiment/finetune/c04919808340"
# the command that wrote the fixture folder (its README)
V1_COMMAND = ["run", "--models", str(REPO / "demo.yaml"), "--only-models", "minilm-l6-h384",
              "--tasks", "demo_sentiment,demo_ner", "--max-train-samples", "8", "--max-eval-samples", "8",
              "--max-steps", "1", "--keep-checkpoints", "none", "--quiet"]


@pytest.fixture
def v1_output(tmp_path) -> Path:
    out = tmp_path / "out"
    shutil.copytree(FIXTURES / "output", out)
    return out


def test_v1_records_are_read_through_the_class_and_migrated():
    rec = ResultRecord.read(FIXTURES / "output" / V1_SENTIMENT / "seed42.json")
    assert rec.schema_version == SCHEMA_VERSION and rec.status == "ok"
    assert rec.job.model == "minilm-l6-h384" and rec.job.seed == 42 and rec.job.config_hash == "c04919808340"
    assert rec.task_info.direction == "higher" and rec.task_info.main_score == ["accuracy"]
    assert 0.0 <= rec.main <= 1.0 and rec.execution.executor == "serial" and rec.execution.batch_size == 16
    failed = ResultRecord.read(FIXTURES / "output" / V1_SENTIMENT / "seed43.failed.json")
    assert failed.status == "failed" and failed.job.seed == 43 and failed.job.task == "demo_sentiment"
    assert failed.job.config_hash == "c04919808340" and "device-side assert" in failed.failure.reason


def test_a_record_round_trips_and_rejects_what_it_does_not_know(tmp_path):
    rec = ResultRecord.read(FIXTURES / "output" / V1_SENTIMENT / "seed42.json")
    path = tmp_path / "seed42.json"
    rec.write(path)
    assert ResultRecord.read(path) == rec
    raw = json.loads(path.read_text())
    raw["surprise"] = 1
    path.write_text(json.dumps(raw))
    with pytest.raises(RecordError, match="surprise"):
        ResultRecord.read(path)
    raw.pop("surprise")
    raw["schema_version"] = 99
    path.write_text(json.dumps(raw))
    with pytest.raises(UnknownSchema, match=r"seed42.json: schema_version 99"):
        ResultRecord.read(path)
    ok = dict(raw, schema_version=SCHEMA_VERSION)
    ok.pop("metrics")
    path.write_text(json.dumps(ok))
    with pytest.raises(RecordError, match="metrics.main"):
        ResultRecord.read(path)
    for not_a_record, why in (({}, "schema_version None"), ([], "a JSON list"), ("x", "a JSON str"),
                               (dict(raw, schema_version="3"), "schema_version '3'"),
                               (dict(raw, schema_version=0), "schema_version 0")):
        path.write_text(json.dumps(not_a_record))  # damaged (moved aside and rerun by `run`), never "newer"
        with pytest.raises(RecordError, match="not a result record") as got:
            ResultRecord.read(path)
        assert not isinstance(got.value, UnknownSchema) and why in str(got.value)


def test_unknown_schema_is_a_failed_run_of_its_cell_with_a_warning_naming_the_file(v1_output, caplog):
    from leaderboard.table import load_results

    bad = v1_output / V1_SENTIMENT / "seed44.json"
    bad.write_text(json.dumps({"schema_version": 7, "job": {}}))
    with caplog.at_level(logging.WARNING):
        loaded = load_results(v1_output)
    assert len(loaded.runs) == 2 and set(loaded.runs["direction"]) == {"higher"}
    assert not loaded.problems
    (unreadable,) = [f for f in loaded.failures if f["path"].endswith("seed44.json")]
    assert unreadable["kind"] == "unreadable" and unreadable["seed"] == 44 and "schema_version 7" in unreadable["error"]
    assert "seed44.json" in caplog.text
    assert [f["seed"] for f in loaded.failures if f["kind"] == "code"] == [43]  # schema 1's error: a RuntimeError


def test_a_v2_record_reads_as_current_with_no_race_block(tmp_path):
    """Schema 2 -> 3 added only `execution.race` (optional), 3 -> 4 only classified failures: a v2 success record
    reads as it was, with race None."""
    v2 = next((REPO / "tests" / "fixtures" / "27a88c9" / "output" / "results").rglob("seed1.json"))
    raw = json.loads(v2.read_text(encoding="utf-8"))
    assert raw["schema_version"] == 2 and "race" not in (raw.get("execution") or {})
    rec = ResultRecord.read(v2)
    assert rec.schema_version == SCHEMA_VERSION == 4 and rec.execution.race is None

    def within(old, new) -> bool:  # every value of the v2 file is in the record as read
        return all(k in new and within(v, new[k]) for k, v in old.items()) if isinstance(old, dict) else old == new
    assert within({k: v for k, v in raw.items() if k != "schema_version"}, json.loads(rec.to_json()))
    path = tmp_path / "seed1.json"
    rec.write(path)  # written again: schema 4, and the same record
    assert json.loads(path.read_text())["schema_version"] == 4 and ResultRecord.read(path) == rec


def _v3_failure(reason: str, kind: str = "error", traceback: str | None = None) -> dict:
    """A failed record as schema 3 wrote it (kind 'error', 'out_of_memory' or 'diverged'; no cause)."""
    return {"schema_version": 3, "status": "failed", "created_at": "2026-12-01T00:00:00+00:00", "config": {},
            "job": {"model": "m", "revision": "main", "task": "t", "method": "finetune", "seed": 1,
                    "config_hash": "abc"},
            "failure": {"reason": reason, "kind": kind, "step": None, "traceback": traceback}}


@pytest.mark.parametrize("reason, kind, traceback, expected", [
    ("worker process 4242 died (exit code -9) while running this job", "error", None, ("infrastructure", "worker lost")),
    ("worker process 4242 died (exit code -15) while running this job", "error", None, ("infrastructure", "pre-empted")),
    ("worker process 4242 died (exit code None) while running this job", "error", None,
     ("infrastructure", "worker lost")),
    ("Ray task lost after 2 retries (NodeDiedError: the node 1a2b died)", "error", None, ("infrastructure", "node lost")),
    ("Ray task lost after 2 retries (WorkerCrashedError: the worker died)", "error", None,
     ("infrastructure", "worker lost")),
    ("data/x.jsonl: row 3: field 'label': unknown label 'maybe'", "error",
     "Traceback (most recent call last):\n  ...\nharness.errors.HarnessError: data/x.jsonl: row 3: field 'label'\n",
     ("input", None)),
    ("KeyError: 'input_ids'", "error", "Traceback (most recent call last):\n  ...\nKeyError: 'input_ids'\n",
     ("code", None)),
    ("boom", "error", None, ("code", None)),  # no traceback: nothing says it was the input
    ("out of memory in training at batch 2 after 3 halvings", "out_of_memory", None, ("out_of_memory", None)),
    ("loss became NaN at step 3", "diverged", None, ("diverged", None)),
], ids=["killed", "sigterm", "no-exit-code", "ray-node", "ray-worker", "harness-error", "bug", "bare", "oom",
        "diverged"])
def test_a_v3_failure_reads_with_its_cause_class(tmp_path, reason, kind, traceback, expected):
    """Schema 3 -> 4: a failure of kind 'error' is classified from what the harness wrote (failure_class.legacy);
    the file itself is never rewritten."""
    path = tmp_path / "seed1.failed.json"
    path.write_text(json.dumps(_v3_failure(reason, kind, traceback)))
    before = path.read_bytes()
    rec = ResultRecord.read(path)
    assert rec.schema_version == SCHEMA_VERSION and (rec.failure.kind, rec.failure.cause) == expected
    assert rec.failure.reason == reason and path.read_bytes() == before


def test_a_failure_has_a_cause_exactly_when_it_is_infrastructure():
    from harness.record import Failure

    assert Failure(reason="x", kind="infrastructure", cause="node lost").cause == "node lost"
    for bad in ({"kind": "infrastructure"}, {"kind": "code", "cause": "worker lost"},
                {"kind": "infrastructure", "cause": "gremlins"}, {"kind": "error"}):
        with pytest.raises(ValueError):
            Failure(reason="x", **bad)


def test_rerunning_the_same_command_over_a_v1_folder_runs_nothing(v1_output, capsys):
    """The new config hash covers only what was set; the schema-1 folders are adopted, so nothing re-runs."""
    before = sorted(p.relative_to(v1_output) for p in v1_output.rglob("*") if p.is_file())
    assert main(V1_COMMAND + ["--output-dir", str(v1_output)]) == 0
    out = capsys.readouterr().out
    assert "0 succeeded, 2 already done" in out
    after = sorted(p.relative_to(v1_output) for p in v1_output.rglob("*") if p.is_file())
    assert [p for p in after if p not in before] == [Path(n) for n in
                                                     (".leaderboard-index.json", "leaderboard.csv", "leaderboard.md")]


def test_a_new_seed_joins_the_adopted_v1_folder(v1_output, capsys):
    """More seeds of the same job land beside the schema-1 ones (same hash), as records of the current schema."""
    assert main(V1_COMMAND + ["--tasks", "demo_sentiment", "--seeds", "42,7", "--output-dir", str(v1_output)]) == 0
    assert "1 succeeded, 1 already done" in capsys.readouterr().out
    new = ResultRecord.read(v1_output / V1_SENTIMENT / "seed7.json")
    assert new.schema_version == SCHEMA_VERSION and new.job.config_hash == "c04919808340"
    from harness.confighash import config_hash

    assert config_hash(new.config) == "c04919808340"  # the adopted config is stored, so the hash is reproducible


@pytest.fixture
def v1_checkpoint(tmp_path) -> Path:
    """The schema-1 checkpoint's JSON files, with weights rebuilt from its config.json (not stored in git)."""
    from transformers import AutoConfig, AutoModelForSequenceClassification

    ckpt = tmp_path / "ckpt"
    shutil.copytree(FIXTURES / "checkpoint", ckpt)
    config = AutoConfig.from_pretrained(str(ckpt))
    AutoModelForSequenceClassification.from_config(config).save_pretrained(str(ckpt))
    return ckpt


def test_a_v1_checkpoint_loads_in_predict_export_and_the_app(v1_checkpoint, v1_output, tmp_path):
    from harness.checkpoint import load_checkpoint
    from harness.export import export_checkpoint
    from harness.predict import predict_file
    from leaderboard.data import load_app_data
    from webapp.playground import Playground

    info = CheckpointInfo.read(v1_checkpoint / "harness_job.json")
    assert info.schema_version == CHECKPOINT_SCHEMA_VERSION and info.method == "finetune" and info.adapter == "encoder"
    adapter, model = load_checkpoint(v1_checkpoint, backend="torch")
    assert adapter.task.name == "demo_sentiment"
    src = tmp_path / "in.txt"
    src.write_text("good food\nterrible service\n", encoding="utf-8")
    summary = predict_file(v1_checkpoint, src, tmp_path / "out.jsonl", backend="torch", progress=False)
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert summary["rows"] == 2 and {r["prediction"] for r in rows} <= {"negative", "positive"}
    report = export_checkpoint(v1_checkpoint, verify=False, latency_runs=2, latency_threads=(1,),
                               latency_tokens=(16,))
    assert (v1_checkpoint / "onnx" / "model.onnx").is_file() and report["task"] == "demo_sentiment"
    # the app: a schema-1 record that lists the checkpoint; the playground loads it
    dest = v1_output / "checkpoints" / "minilm-l6-h384/py-0.1.0/demo_sentiment/finetune/c04919808340/seed42"
    shutil.copytree(v1_checkpoint, dest)
    rfile = v1_output / V1_SENTIMENT / "seed42.json"
    raw = json.loads(rfile.read_text())
    raw["checkpoint"] = str(dest.relative_to(v1_output))
    rfile.write_text(json.dumps(raw))
    data = load_app_data(v1_output)
    label = next(iter(data.checkpoints["demo_sentiment"]))
    out, _ = Playground(data).predict("demo_sentiment", label, "good food")
    assert out["text"].startswith("prediction: ") and set(out["label"]) == {"negative", "positive"}


def test_a_checkpoint_of_an_unknown_format_is_one_line(v1_checkpoint):
    from harness.checkpoint import load_checkpoint
    from harness.errors import HarnessError

    job = v1_checkpoint / "harness_job.json"
    job.write_text(json.dumps({**json.loads(job.read_text()), "schema_version": 5}))
    with pytest.raises(HarnessError, match="schema_version 5"):
        load_checkpoint(v1_checkpoint, backend="torch")
