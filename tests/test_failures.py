"""Nothing silently wrong: a diverged run is a recorded failure (never scored), and failures stay visible on the
leaderboard (cells, partial averages, the failures section, the CSV columns and the CLI summary)."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
import torch

from harness import results
from harness.divergence import Diverged, DivergenceGuard, failure_step, mark_step, watch_outputs
from harness.record import SCHEMA_VERSION, ResultRecord

# ---------------------------------------------------------------- divergence: the guard's checks


class _State:
    global_step = 2


def test_guard_stops_on_a_non_finite_loss_gradient_or_logged_value():
    guard = DivergenceGuard()
    guard.on_step_begin(None, _State(), None)
    assert guard.step == 3
    guard.check_loss(torch.tensor(0.7))  # finite: nothing
    with pytest.raises(Diverged, match="loss became NaN at step 3") as e:
        guard.check_loss(torch.tensor(float("nan")))
    assert e.value.step == 3 and failure_step(e.value) == 3
    model = torch.nn.Linear(2, 1)
    model.weight.grad = torch.tensor([[1.0, float("inf")]])
    with pytest.raises(Diverged, match="gradients became infinite at step 3"):
        guard.on_pre_optimizer_step(None, _State(), None, model=model)
    model.weight.grad = torch.ones(1, 2)
    guard.on_pre_optimizer_step(None, _State(), None, model=model)  # finite: nothing
    with pytest.raises(Diverged, match="gradient norm became NaN at step 2"):
        guard.on_log(None, _State(), None, logs={"loss": 0.5, "grad_norm": float("nan")})


def test_predictions_with_nan_or_inf_outputs_are_divergence_but_masked_logits_are_not():
    model = torch.nn.Linear(2, 2)
    with watch_outputs(model, 7, "test"):
        model(torch.tensor([[1.0, 2.0]]))  # finite
    with torch.no_grad():
        model.bias[0] = float("-inf")
    with watch_outputs(model, 7, "test"):
        model(torch.tensor([[1.0, 2.0]]))  # -inf: a masked logit, not divergence
    with torch.no_grad():
        model.bias[1] = float("nan")
    with pytest.raises(Diverged, match="test predictions became NaN after step 7"), watch_outputs(model, 7, "test"):
        model(torch.tensor([[1.0, 2.0]]))
    model(torch.tensor([[1.0, 2.0]]))  # the hook is gone after the block


def test_an_error_inside_training_keeps_its_step():
    err = RuntimeError("boom")
    mark_step(err, 5)
    assert failure_step(err) == 5
    wrapped = ValueError("outer")
    wrapped.__cause__ = err
    assert failure_step(wrapped) == 5 and failure_step(RuntimeError("no step")) is None


# ---------------------------------------------------------------- divergence end to end


@pytest.fixture(scope="module")
def bert_models(tmp_path_factory) -> Path:
    from tiny import models_yaml

    return models_yaml(tmp_path_factory.mktemp("tiny-bert"), families=("bert",))


def test_a_diverged_run_is_a_failure_never_scored(bert_models, tmp_path, capsys):
    """Learning rate 1e8 turns the tiny model's loss NaN within a few steps: the job is recorded as failed (kind
    diverged, with the step), not retried, has no score, and the tables and the summary say so. Exit 1."""
    from harness.cli import main

    out = tmp_path / "o"
    rc = main(["run", "--models", str(bert_models), "--tasks", "demo_sentiment", "--output-dir", str(out),
               "--max-train-samples", "24", "--max-eval-samples", "8", "--max-steps", "4", "--learning-rate", "1e8",
               "--seeds", "1", "--quiet"])
    printed = capsys.readouterr().out
    assert rc == 1
    assert not list((out / "results").rglob("seed1.json"))
    (failed,) = (out / "results").rglob("seed1.failed.json")
    rec = ResultRecord.read(failed)
    f = rec.failure
    assert rec.status == "failed" and f.kind == "diverged" and isinstance(f.step, int) and 1 <= f.step <= 4
    assert f.reason in (f"loss became NaN at step {f.step}", f"gradients became NaN at step {f.step}",
                        f"loss became infinite at step {f.step}", f"gradients became infinite at step {f.step}")
    assert rec.execution.attempts == 1 and not rec.execution.oom_retries and not rec.metrics
    assert rec.task_info.benchmark == "demo"
    assert f"failed: tiny-bert × demo_sentiment: seed 1 of 1 — {f.reason} (diverged)" in printed
    csv = pd.read_csv(out / "leaderboard.csv")
    assert list(csv["demo_sentiment_failed"]) == [1] and f.reason in csv["demo_sentiment_failed_reason"][0]
    assert pd.isna(csv["demo_avg"][0]) and pd.isna(csv["demo_sentiment"][0])
    md = (out / "leaderboard.md").read_text()
    assert "| failed |" in md and f"| tiny-bert | demo_sentiment | 1 | {f.reason} (diverged) |" in md


# ---------------------------------------------------------------- failures on the leaderboard


def record(model: str, task: str, seed: int, main: float, chash: str = "abc", bench: str = "GLUE",
           created: str = "2026-01-01T00:00:00+00:00", fold: str | None = None) -> dict:
    """A complete result record of the current schema (checked by ResultRecord when written)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "job": {"model": model, "revision": "main", "task": task, "method": "finetune", "seed": seed,
                "config_hash": chash, "fold": fold},
        "config": {}, "created_at": created,
        "task_info": {"benchmark": bench, "language": "en", "kind": "single_cls", "main_score": ["accuracy"]},
        "model_info": {"family": "bert", "parameters": 1_000_000},
        "data": {"source": {}, "fingerprint": "f", "sizes": {"test": 10}},
        "metrics": {"accuracy": main, "main": main}, "training": {"steps": 1, "epochs": 1.0},
        "timing": {"train_runtime_s": 1.0, "train_samples_per_s": 10.0},
    }


def failed(model: str, task: str, seed: int, reason: str, chash: str = "abc", kind: str = "diverged",
           bench: str = "GLUE", created: str = "2026-01-01T00:00:00+00:00", cause: str | None = None,
           fold: str | None = None) -> dict:
    """A failed record as the driver writes it (with task_info, the class, its cause and the step)."""
    ok = record(model, task, seed, 0.0, chash, bench, created)
    return {"schema_version": SCHEMA_VERSION, "status": "failed", "job": {**ok["job"], "fold": fold}, "config": {},
            "task_info": ok["task_info"], "created_at": created,
            "failure": {"reason": reason, "kind": kind, "cause": cause, "step": 37 if kind == "diverged" else None}}


def put(root: Path, rec: dict) -> None:
    j = rec["job"]
    key = results.job_key(j["model"], j["revision"], j["task"], j["method"], j["config_hash"])
    key = key / f"fold-{j['fold']}" if j.get("fold") is not None else key
    path = results.result_path(root, key, j["seed"])
    ResultRecord.model_validate(rec).write(results.failure_path(path) if rec.get("status") == "failed" else path)


NAN = "loss became NaN at step 37"


@pytest.fixture
def grid(tmp_path) -> Path:
    """m1: complete and clean. m2: rte failed on every seed. m3: rte 1 of 3 failed. m4: seed 1 failed, then a later
    success of the same seed (replaced). m5: a failure of another configuration than the one shown."""
    for seed in (1, 2, 3):
        put(tmp_path, record("m1", "sst2", seed, 0.80))
        put(tmp_path, record("m1", "rte", seed, 0.60))
        put(tmp_path, record("m3", "sst2", seed, 0.70))
        put(tmp_path, record("m5", "sst2", seed, 0.75))
        put(tmp_path, record("m5", "rte", seed, 0.55))
    put(tmp_path, record("m2", "sst2", 1, 0.90))
    put(tmp_path, failed("m2", "rte", 1, NAN))
    put(tmp_path, failed("m2", "rte", 2, "gradients became infinite at step 4"))
    put(tmp_path, record("m3", "rte", 1, 0.50))
    put(tmp_path, record("m3", "rte", 2, 0.52))
    put(tmp_path, failed("m3", "rte", 3, "RuntimeError: boom", kind="code"))
    put(tmp_path, record("m4", "sst2", 1, 0.85))
    put(tmp_path, record("m4", "rte", 1, 0.58))
    put(tmp_path, failed("m4", "rte", 1, NAN))  # a stale failure: the same seed succeeded
    put(tmp_path, failed("m5", "rte", 1, NAN, chash="other"))  # not the configuration shown
    return tmp_path


def test_failed_cells_counts_and_partial_averages(grid):
    from leaderboard.table import avg_cell, leaderboard, load_results, task_cell

    loaded = load_results(grid)
    t = leaderboard(loaded.runs, loaded.failures).set_index("model")
    assert task_cell(t.loc["m2"], "rte") == "failed" and pd.isna(t.loc["m2", "rte"])
    assert t.loc["m2", "rte_failed"] == 2 and NAN in t.loc["m2", "rte_failed_reason"]
    assert "gradients became infinite at step 4 (diverged)" in t.loc["m2", "rte_failed_reason"]
    assert task_cell(t.loc["m3"], "rte") == "51.0 ± 1.4 (n=2) · 1 of 3 failed"
    assert t.loc["m3", "rte_failed_reason"] == "RuntimeError: boom (code error)"  # every failure names its class
    for clean in ("m1", "m4", "m5"):  # m4's failure was replaced, m5's is of another configuration
        assert t.loc[clean, "rte_failed"] == 0 and "failed" not in task_cell(t.loc[clean], "rte")
        assert pd.notna(t.loc[clean, "GLUE_avg"])
    for partial in ("m2", "m3"):
        assert pd.isna(t.loc[partial, "GLUE_avg"]) and pd.isna(t.loc[partial, "GLUE_rank"])
        assert t.loc[partial, "GLUE_failed"] == 1
    table = leaderboard(loaded.runs, loaded.failures)
    assert avg_cell(table, t.loc["m2"], "GLUE") == "partial (1/2, 1 failed)"
    assert avg_cell(table, t.loc["m3"], "GLUE") == "partial (2/2, 1 failed)"
    assert leaderboard(loaded.runs).loc[lambda d: d.model == "m3", "GLUE_avg"].notna().all()  # without failures


def test_markdown_csv_and_cli_show_the_failures(grid, capsys):
    from harness.cli import main

    assert main(["leaderboard", "--output-dir", str(grid)]) == 0
    printed = capsys.readouterr().out
    md = (grid / "leaderboard.md").read_text()
    assert "| failed |" in md and "· 1 of 3 failed" in md and "partial (1/2, 1 failed)" in md
    section = md[md.index("Failures:"):]
    assert f"| m2 | rte | 1 | {NAN} (diverged) |" in section and "| m3 | rte | 3 | RuntimeError: boom (code error) |" in section
    assert "| m4 |" not in section and "| m5 |" not in section
    csv = pd.read_csv(grid / "leaderboard.csv").set_index("model")
    assert csv.loc["m2", "rte_failed"] == 2 and csv.loc["m1", "rte_failed"] == 0
    assert csv.loc["m3", "rte_failed_reason"] == "RuntimeError: boom (code error)" and pd.isna(csv.loc["m2", "GLUE_avg"])
    lines = [line for line in printed.splitlines() if line.startswith("failed:")]
    assert lines == [
        f"failed: m2 × rte: seeds 1, 2 of 2 — {NAN} (diverged); gradients became infinite at step 4 (diverged)",
        "failed: m3 × rte: seed 3 of 3 — RuntimeError: boom (code error)",
        f"failed: m5 × rte: seed 1 of 1 — {NAN} (diverged) [configuration other, not the one shown]"]


def test_a_task_whose_every_job_failed_still_has_its_column(tmp_path):
    """No model ran the task successfully: the column and a row of failed cells are still there."""
    from leaderboard.table import leaderboard, load_results, task_cell, to_markdown

    put(tmp_path, failed("m1", "cola", 1, NAN, bench="GLUE"))
    put(tmp_path, failed("m1", "cola", 2, NAN, chash="older", created="2025-01-01T00:00:00+00:00"))
    loaded = load_results(tmp_path)
    table = leaderboard(loaded.runs, loaded.failures)
    assert list(table["row"]) == ["m1"] and task_cell(table.iloc[0], "cola") == "failed"
    assert table.attrs["benchmarks"] == {"GLUE": ["cola"]} and table.iloc[0]["cola_failed"] == 1  # newest config
    assert "| m1 | cola | 1 |" in to_markdown(table)
    from leaderboard.filters import Filters, filter_table

    shown, hidden = filter_table(table, {}, Filters())
    assert list(shown["cola"]) == ["failed"] and hidden == 0  # the app shows the row of failed cells


def test_the_app_shows_failed_cells_and_why(grid):
    from webapp.handlers import problems_md
    from webapp.state import AppState
    from leaderboard.filters import Filters, filter_table
    from webapp.source import resolve_source

    view = AppState(resolve_source(grid)).view
    data = view.data
    shown, _ = filter_table(data.table, data.task_info, Filters())
    cells = dict(zip(shown["model"], shown["rte"]))
    assert cells["m2"] == "failed" and cells["m3"].endswith("· 1 of 3 failed") and "failed" not in cells["m4"]
    assert dict(zip(shown["model"], shown["GLUE avg"]))["m2"] == "partial (1/2, 1 failed)"
    md = problems_md(view)
    assert f"- m2 × rte: seeds 1, 2 of 2 — {NAN} (diverged)" in md and "- m3 × rte: seed 3 of 3 — RuntimeError" in md


# ---------------------------------------------------------------- cause classes


def test_an_exception_is_classified_in_one_place():
    from harness.errors import HarnessError
    from harness.failure_class import classify, describe, lost_worker

    assert classify(Diverged("loss became NaN at step 3", 3)) == "diverged"
    assert classify(torch.OutOfMemoryError("CUDA out of memory")) == "out_of_memory"
    assert classify(MemoryError()) == "out_of_memory"  # the host's
    try:  # the back-off gave up: a HarnessError raised from the device's OOM
        try:
            raise torch.OutOfMemoryError("CUDA out of memory")
        except torch.OutOfMemoryError as e:
            raise HarnessError("out of memory in training at batch 1 after 0 halvings") from e
    except HarnessError as e:
        assert classify(e) == "out_of_memory"
    assert classify(HarnessError("data/x.jsonl: row 3: field 'text': expected a string")) == "input"
    assert classify(KeyError("input_ids")) == "code" and classify(RuntimeError("boom")) == "code"
    assert lost_worker(-9) == "worker lost" and lost_worker(-15) == "pre-empted" and lost_worker(1) == "worker lost"
    assert describe("infrastructure", "node lost") == "infrastructure: node lost" and describe("code") == "code error"


LOST = "worker process 4242 died (exit code -9, killed by SIGKILL) while running this job"


@pytest.fixture
def lost_grid(tmp_path) -> Path:
    """m1: complete. m6: rte seed 3 lost to a killed worker, seeds 1 and 2 fine. m7: every rte seed lost. m8: a
    lost seed beside a diverged one. m9: a few-shot task whose fold 1 lost its only seed (fold 0 fine)."""
    for seed in (1, 2, 3):
        for m in ("m1", "m6", "m7", "m8"):
            put(tmp_path, record(m, "sst2", seed, 0.80))
        put(tmp_path, record("m1", "rte", seed, 0.60))
    for seed in (1, 2):
        put(tmp_path, record("m6", "rte", seed, 0.62 + seed / 100))
    put(tmp_path, failed("m6", "rte", 3, LOST, kind="infrastructure", cause="worker lost"))
    for seed in (1, 2, 3):
        put(tmp_path, failed("m7", "rte", seed, LOST, kind="infrastructure", cause="worker lost"))
    put(tmp_path, record("m8", "rte", 1, 0.55))
    put(tmp_path, failed("m8", "rte", 2, NAN))
    put(tmp_path, failed("m8", "rte", 3, "Ray task lost", kind="infrastructure", cause="node lost"))
    put(tmp_path, record("m9", "sst2", 1, 0.80))
    put(tmp_path, record("m9", "rte", 1, 0.60, fold="0"))
    put(tmp_path, failed("m9", "rte", 1, LOST, kind="infrastructure", cause="pre-empted", fold="1"))
    return tmp_path


def test_an_infrastructure_failure_does_not_count_where_its_fold_has_a_run(lost_grid, capsys):
    """The rule (docs/trust.md): an infrastructure failure is listed with its class and counts against its cell only
    where no run of the same configuration and fold succeeded."""
    from harness.cli import main
    from leaderboard.table import avg_cell, leaderboard, load_results, task_cell

    loaded = load_results(lost_grid)
    table = leaderboard(loaded.runs, loaded.failures)
    t = table.set_index("model")
    # m6: ranked like m1, on its two runs; the lost one is not "1 of 3 failed"
    assert task_cell(t.loc["m6"], "rte") == "63.5 ± 0.7 (n=2)" and t.loc["m6", "rte_failed"] == 0
    assert pd.notna(t.loc["m6", "GLUE_avg"]) and pd.notna(t.loc["m6", "GLUE_rank"])
    # m7: nothing succeeded, so the cell has no score: failed, partial
    assert task_cell(t.loc["m7"], "rte") == "failed" and avg_cell(table, t.loc["m7"], "GLUE") == "partial (1/2, 1 failed)"
    # m8: the divergence counts, the lost node's run does not
    assert task_cell(t.loc["m8"], "rte") == "55.0 (n=1) · 1 of 2 failed" and pd.isna(t.loc["m8", "GLUE_avg"])
    # m9: fold 1 has no run: the cell's mean would cover one fold of two, so the lost run counts
    assert t.loc["m9", "rte_failed"] == 1 and pd.isna(t.loc["m9", "GLUE_avg"])
    assert main(["leaderboard", "--output-dir", str(lost_grid)]) == 0
    printed = capsys.readouterr().out
    md = (lost_grid / "leaderboard.md").read_text()
    section = md[md.index("Failures:"):]
    assert "except for infrastructure failures" in section
    assert (f"| m6 | rte | 3 | {LOST} (infrastructure: worker lost; not counted: a run of the same fold "
            "succeeded) |") in section
    assert f"| m7 | rte | 1 | {LOST} (infrastructure: worker lost) |" in section
    assert "| m8 | rte | 3 | Ray task lost (infrastructure: node lost; not counted" in section
    assert f"| m9 | rte | 1 (fold 1) | {LOST} (infrastructure: pre-empted) |" in section
    lines = [line for line in printed.splitlines() if line.startswith("failed: m6")]
    assert lines == [f"failed: m6 × rte: seed 3 of 3 — {LOST} (infrastructure: worker lost; not counted: a run of "
                     "the same fold succeeded)"]


def test_the_app_lists_a_lost_run_with_its_class_and_ranks_the_row(lost_grid):
    from leaderboard.detail import cell_detail
    from webapp.handlers import problems_md
    from webapp.state import AppState
    from webapp.source import resolve_source

    view = AppState(resolve_source(lost_grid)).view
    assert "- m6 × rte: seed 3 of 3 — " in problems_md(view) and "not counted" in problems_md(view)
    assert "infrastructure failures of a fold with a successful run are listed, not counted" in problems_md(view)
    runs = cell_detail(view.data, "m6", "main", "finetune", "rte").runs
    assert list(runs["status"]) == ["ok", "ok", "failed"]
    assert "infrastructure: worker lost" in runs["reason"].iloc[2]


def test_an_untrained_row_whose_every_run_failed_is_labelled_and_hidden_as_untrained(tmp_path):
    """A random-init model whose every run failed has a row of failed cells: labelled '(untrained)' like its
    successful peers, and hidden by 'hide untrained baselines' (its config says init: random)."""
    from leaderboard.filters import Filters, filter_table
    from leaderboard.table import leaderboard, load_results

    put(tmp_path, record("m1", "sst2", 1, 0.9))
    bad = failed("rnd", "sst2", 1, "loss became NaN at step 3")
    bad["config"] = {"model": {"init": "random", "family": "bert"}}
    put(tmp_path, bad)
    loaded = load_results(tmp_path)
    table = leaderboard(loaded.runs, loaded.failures)
    row = table.set_index("model").loc["rnd"]
    assert row["row"] == "rnd (untrained)" and bool(row["untrained"])
    info = {"sst2": {"benchmark": "GLUE", "language": "en", "kind": "single_cls", "license": "x", "caveats": []}}
    shown, hidden = filter_table(table, info, Filters(hide_untrained=True))
    assert hidden == 1 and "rnd (untrained)" not in list(shown.iloc[:, 0])
