"""A cell's detail view (leaderboard/detail.py; its figures: webapp/detail_plots.py) over the bundled sample and a
tiny run: seeds table, training curves, the kinds' evidence checked against the records' own scores, errors,
tokenizer fit, provenance, and the command a record carries (its --dry-run finds the job done)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harness.cli import main
from harness.kinds import get_kind
from harness.record import ResultRecord
from harness.rerun import models_entry
from leaderboard.data import load_app_data
from leaderboard.detail import NOT_RECORDED, cell_detail, config_choices, errors, first_task, row_summary
from leaderboard.result_files import model_url as hub_url
from webapp.detail_plots import curve_figure, detail_matrix_figure
from webapp.sample import SAMPLE_DIR


@pytest.fixture(scope="module")
def sample():
    return load_app_data(SAMPLE_DIR)


def _cells(data, where=lambda kind: True):
    """(model, revision, method, task) of every cell whose task kind passes `where`."""
    return [(r.model, r.revision, r.method, r.task) for r in data.agg.itertuples()
            if where(get_kind(data.task_info[r.task]["kind"]))]


def _record(data, detail) -> ResultRecord:
    runs = data.runs
    row = runs[(runs.model == detail.model) & (runs.task == detail.task) & (runs.method == detail.method)
               & (runs.config_hash == detail.config_hash)].sort_values("seed").iloc[0]
    return ResultRecord.read(data.root / row["path"])


def test_classification_confusion_and_per_class_agree_with_the_record(sample):
    cells = _cells(sample, lambda k: k.label_set)
    assert len(cells) >= 4  # single_cls and pair_cls for every model
    for cell in cells:
        d = cell_detail(sample, *cell)
        rec = _record(sample, d)
        m = d.matrix
        assert int(m.values.sum()) == len(d.rows) == rec.data.sizes["test"], cell
        correct = sum(int(m.loc[name, name]) for name in m.index if name in m.columns)
        assert correct / len(d.rows) == pytest.approx(rec.metrics["accuracy"]), cell
        per_class = d.tables["per class"].set_index("label")
        for name, scores in rec.breakdown.items():
            assert per_class.loc[name, "f1"] == pytest.approx(scores["f1"]), (cell, name)
        assert detail_matrix_figure(d) is not None and d.classes == sorted(rec.breakdown)


def test_ner_and_qa_evidence_agree_with_the_record(sample):
    ner = [c for c in _cells(sample) if sample.task_info[c[3]]["main_score"] == ["entity_f1"]]
    qa = [c for c in _cells(sample) if "exact_match" in sample.task_info[c[3]]["main_score"]]
    assert ner and qa
    for cell in ner:
        d = cell_detail(sample, *cell)
        rec = _record(sample, d)
        per_type = d.tables["per entity type"].set_index("entity type")
        for name, scores in rec.breakdown.items():
            assert per_type.loc[name, "f1"] == pytest.approx(scores["f1"]), (cell, name)
        gold_entities = d.matrix.drop(index="(none)").values.sum()  # every gold entity once, by its span
        assert gold_entities == sum(s["support"] for s in rec.breakdown.values())
    for cell in qa:
        d = cell_detail(sample, *cell)
        rec = _record(sample, d)
        by_len = d.tables["by answer length"]
        assert by_len["n"].sum() == len(d.rows)
        em = (by_len["n"] * by_len["exact_match"]).sum() / by_len["n"].sum()
        assert em == pytest.approx(rec.metrics["exact_match"]), cell


def test_errors_are_errors_and_filter_by_gold_class(sample):
    for cell in _cells(sample):
        d = cell_detail(sample, *cell)
        kind = get_kind(d.kind)
        wrong = [r for r in d.rows if kind.example_correct(r["prediction"], r["gold"], d.spec) < 1]
        table = errors(d, limit=len(d.rows))
        assert len(table) == len(wrong), cell
        by_id = {r["id"]: r for r in d.rows}
        assert all(by_id[i]["gold"] != by_id[i]["prediction"] for i in table["id"]), cell
        for cls in d.classes[:2]:
            sub = errors(d, cls, limit=5)
            assert len(sub) <= 5 and all(cls in kind.error_classes(by_id[i]["gold"]) for i in sub["id"])
        conf = [c for c in table["confidence"].tolist() if c is not None and c == c]
        assert conf == sorted(conf, reverse=True), cell  # the most confident errors first, blanks last
        if any(r.get("scores") for r in d.rows) and kind.label_set:
            assert len(conf) == len(table), cell  # probabilities saved: every error has its confidence


def test_seeds_table_failed_runs_tokenizer_provenance_and_command(sample, tmp_path):
    d = cell_detail(sample, *_cells(sample, lambda k: k.label_set)[0])
    rec = _record(sample, d)
    assert list(d.runs["run"]) == ["seed 42"] and d.runs.loc[0, "main"] == rec.main
    assert d.runs.loc[0, "validation main"] == rec.validation.metrics["main"]
    assert d.provenance["data fingerprint"] == rec.data.fingerprint
    assert d.provenance["config hash"] == rec.job.config_hash and "transformers" in d.provenance["library versions"]
    assert d.tokenizer.loc[0, "unk_rate"] == rec.tokenizer_stats["unk_rate"]
    assert d.command.startswith("python -m harness run --models models.yaml")
    assert ("Rebuilt" in d.command_note) == (rec.command is None)  # the sample's records hold their command line
    assert d.models_entry.startswith("models:\n- name: ")
    hub = rec.model_copy(update={"model_info": rec.model_info.model_copy(update={"id": "org/some-model"}),
                                 "job": rec.job.model_copy(update={"revision": "v1.0"}),
                                 "config": {**rec.config, "model": {"id": "org/some-model", "revision": "v1.0"}}})
    assert hub_url(hub) == "https://huggingface.co/org/some-model/tree/v1.0" and hub_url(rec) is None
    shutil.copytree(Path(__file__).parent / "fixtures" / "v1" / "output", tmp_path / "v1")  # reading writes an index
    v1 = load_app_data(tmp_path / "v1")
    d = cell_detail(v1, *[c for c in _cells(v1) if c[3] == "demo_sentiment"][0])
    failed = d.runs[d.runs["status"] == "failed"]
    assert list(failed["seed"]) == [43] and "CUDA error" in failed.iloc[0]["reason"]
    assert d.command.startswith("python -m harness run --models models.yaml") and "Rebuilt" in d.command_note  # v1


def test_a_record_without_history_says_not_recorded(sample, tmp_path):
    root = tmp_path / "out"
    shutil.copytree(SAMPLE_DIR / "results", root / "results")
    for path in (root / "results").rglob("seed*.json"):
        raw = json.loads(path.read_text(encoding="utf-8"))
        raw["training"]["log_history"], raw["validation"]["history"] = [], []
        path.write_text(json.dumps(raw), encoding="utf-8")
    data = load_app_data(root)
    d = cell_detail(data, *_cells(data)[0])
    assert d.curve == {} and curve_figure(d.curve) is None and d.curve_note.startswith(NOT_RECORDED)
    assert curve_figure(cell_detail(sample, *_cells(sample)[0]).curve) is not None


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    """A tiny BERT on demo_sentiment, two seeds of two steps, run by the CLI (the driver writes the records)."""
    from tiny import models_yaml

    root = tmp_path_factory.mktemp("detail")
    out = root / "out"
    assert main(["run", "--models", str(models_yaml(root / "models", families=("bert",))), "--tasks",
                 "demo_sentiment", "--output-dir", str(out), "--max-train-samples", "24", "--max-eval-samples", "16",
                 "--max-steps", "2", "--seeds", "1,2", "--quiet"]) == 0
    return out


@pytest.fixture(scope="module")
def tiny(tiny_run):
    return load_app_data(tiny_run)


def test_two_seeds_give_two_curves_and_a_run_choice(tiny):
    cell = _cells(tiny, lambda k: k.label_set)[0]
    d = cell_detail(tiny, *cell)
    assert list(d.runs["run"]) == ["seed 1", "seed 2"] and d.run_choices == ["seed 1", "seed 2"]
    runs = tiny.runs[(tiny.runs.task == cell[3]) & (tiny.runs.model == cell[0]) & (tiny.runs.method == cell[2])]
    recs = [ResultRecord.read(tiny.root / p) for p in runs["path"]]
    with_log = [r for r in recs if any("loss" in e for e in r.training.log_history)]
    with_val = [r for r in recs if any("main" in e for e in r.validation.history)]
    assert len(with_log) == len(with_val) == 2
    names = [t.name for t in curve_figure(d.curve).data]
    assert sum(n.endswith(" loss") for n in names) == sum(n.endswith(" validation") for n in names) == 2
    other = cell_detail(tiny, *cell, run="seed 2")
    assert other.run == "seed 2" and int(other.matrix.values.sum()) == len(other.rows)
    assert "--seeds 2" in other.command and "Rebuilt" not in other.command_note


def test_a_records_command_reruns_exactly_its_job(tiny_run, tmp_path, monkeypatch, capsys):
    """The driver fills ResultRecord.command; with the models entry in models.yaml its --dry-run plans the very
    job (same config hash), already done."""
    recs = [ResultRecord.read(p) for p in sorted((tiny_run / "results").rglob("seed2.json"))]
    assert recs and all(r.command for r in recs)
    rec = recs[0]
    assert rec.command[:4] == ["python", "-m", "harness", "run"] and "--seeds" in rec.command
    assert rec.command[rec.command.index("--seeds") + 1] == "2" and "DATA_DIR" not in rec.command
    (tmp_path / "models.yaml").write_text(models_entry(rec.job.model, rec.config), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main([*rec.command[3:], "--output-dir", str(tiny_run), "--dry-run"]) == 0
    assert "1 runs, 1 already done, 0 to run" in capsys.readouterr().out


def test_every_kind_has_evidence_from_rows_alone():
    """Kinds the sample lacks (multiple choice), an invalid classification prediction, and the default."""
    from harness.catalog import validate_task

    src = [{"type": "local", "dir": "x", "splits": {"test": "test"}}]
    mc = validate_task(dict(name="m", language="zh", benchmark="b", kind="multiple_choice", metrics=["accuracy"],
                            main_score="accuracy", sources=src))
    rows = [{"input": {"choices": ["x", "y"]}, "gold": 0, "prediction": 0, "scores": {"0": 0.9, "1": 0.1}},
            {"input": {"choices": ["x", "y", "z"]}, "gold": 2, "prediction": 0, "scores": {"0": 0.6, "1": 0.3}},
            {"input": {"choices": ["x", "y", "z"]}, "gold": 1, "prediction": None, "scores": None}]
    ev = mc.task_kind.evidence(mc, rows)
    assert ev.matrix.values.sum() == 3 and ev.matrix.loc["0", "0"] == 1 and ev.matrix.loc["1", "(none)"] == 1
    assert ev.tables["by number of choices"].set_index("choices")["accuracy"].to_dict() == {2: 1.0, 3: 0.0}
    assert [mc.task_kind.confidence(r) for r in rows] == [0.9, 0.6, None] and mc.task_kind.error_classes(2) == ["2"]
    cls = validate_task(dict(name="c", language="en", benchmark="b", kind="single_cls", label_names=["a", "b"],
                             metrics=["accuracy"], main_score="accuracy", sources=src))
    ev = cls.task_kind.evidence(cls, [{"gold": "a", "prediction": None}, {"gold": "b", "prediction": "b"}])
    assert list(ev.matrix.columns) == ["a", "b", "(invalid)"] and ev.matrix.loc["a", "(invalid)"] == 1
    reg = validate_task(dict(name="r", language="en", benchmark="b", kind="regression", metrics=["pearson"],
                             main_score="pearson", sources=src))
    table = reg.task_kind.evidence(reg, [{"gold": g, "prediction": p} for g, p in
                                         [(0.0, 0.2), (1.0, None), (4.0, 3.0), (5.0, 5.0)]]).tables["by gold score"]
    assert table["n"].sum() == 4 and set(table.columns) == {"gold score", "n", "mae", "mean_prediction", "within 0.5"}


def test_the_decision_plot_shows_the_rows_rank_and_gap_over_the_resamples(tmp_path, monkeypatch):
    """Details: the spread of the row's rank and of its gap to the leader on its task and benchmark average, over
    every row, with a caption giving P(best), rank interval, regret and seeds to separate (leaderboard.decision);
    shown at once when the draws are ready, else filled in after them."""
    import numpy as np

    from leaderboard import decision
    from webapp.details import DECISION_PENDING, DetailHandlers, decision_part
    from webapp.detail_plots import decision_figure
    from webapp.handlers import Handlers
    from webapp.source import resolve_source
    from webapp.state import AppState

    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cold"))  # nothing cached: the draws are computed
    root = tmp_path / "s"
    shutil.copytree(SAMPLE_DIR, root, ignore=shutil.ignore_patterns(".leaderboard-index.json"))
    dh = DetailHandlers(Handlers(AppState(resolve_source(root)), tmp_path, 3))
    shown = dh.show("ernie-random-small (untrained)", "demo_sentiment")
    assert shown["decision"] is None and shown["decision_note"] == DECISION_PENDING
    after = dh.decision_after("ernie-random-small (untrained)", "demo_sentiment", shown["decision_note"])
    fig, caption = after["decision"], after["decision_note"]
    again = dh.show("ernie-random-small (untrained)", "demo_sentiment")  # the draws are ready now: at once
    import gradio as gr

    assert again["decision_note"] == caption and dh.decision_after("x", "y", caption) == {
        "decision": gr.skip(), "decision_note": gr.skip()}  # nothing pending: left as shown
    view = dh.h.state.view
    assert "over all 4 rows" in caption and "filters do not apply" in caption
    lines = caption.splitlines()[1:]
    assert [line.split("**")[1] for line in lines] == ["demo_sentiment", "demo average"]
    assert all(w in lines[0] for w in ("P(best)", "rank 95%", "expected regret", "seeds to separate"))
    assert [a.text for a in fig.layout.annotations] == [
        "demo_sentiment: rank of ernie-random-small (untrained)", "demo_sentiment: behind minilm-l6-h384 (pt)",
        "demo average: rank of ernie-random-small (untrained)", "demo average: behind minilm-l6-h384 (pt)"]
    dec = dict(decision.cell_decisions(view.draws(), view.data.table, "demo_sentiment"))["demo_sentiment"]
    row = dec.get("ernie-random-small (untrained)")
    ranks, gaps, _ = decision.row_spread(dec, row.label)
    shares = dict(zip(fig.data[0].x, fig.data[0].y))  # the share of resamples at each rank, as the bars show it
    assert sum(shares.values()) == pytest.approx(1.0) and shares == pytest.approx(
        {r: float(np.mean(ranks == r)) for r in np.unique(ranks)})
    assert sum(v for r, v in shares.items() if row.rank_lo <= r <= row.rank_hi) >= 0.95
    assert list(fig.data[1].x) == pytest.approx(list(gaps))  # leader − row on every resample, in points
    assert 0 < np.mean(gaps) <= row.regret + 1e-9  # the best of a resample is at least the leader
    _, lead, what = decision.row_spread(dec, "minilm-l6-h384")
    runner = dec.rows[1].label
    assert what == f"lead over {runner}" and list(lead) == pytest.approx(list(dec.gaps()[1]))
    # a row that takes no part says why, and draws only the scopes it is in
    fig, caption = decision_part(view, "t5-random-small (untrained)", "demo_sentiment")
    assert "takes no part in the decision (partial: 4/5 tasks)" in caption and len(fig.data) == 2
    assert decision_figure("x", []) is None


def test_a_cell_whose_runs_all_failed_opens_its_failures(tmp_path):
    """Every run of a cell failed (one diverged, one lost worker): details list each run with its class and reason,
    and say there is nothing else to show (a 'steps' KeyError crashed the app here)."""
    from test_failures import failed, put, record

    put(tmp_path, record("m1", "sst2", 1, 0.9))
    put(tmp_path, failed("m2", "sst2", 1, "loss became NaN at step 37"))
    put(tmp_path, failed("m2", "sst2", 2, "the worker died", kind="infrastructure", cause="worker lost"))
    data = load_app_data(tmp_path)
    d = cell_detail(data, "m2", "main", "finetune", "sst2")
    assert list(d.runs["status"]) == ["failed", "failed"] and list(d.runs["seed"]) == [1, 2]
    assert "(diverged)" in d.runs.loc[0, "reason"] and "worker lost" in d.runs.loc[1, "reason"]
    assert d.runs["steps"].isna().all() and "no run of this cell succeeded" in d.curve_note
    summary = row_summary(data.table, "m2")  # what a click on the row's average opens beside it
    assert list(summary["task"]) == ["GLUE average", "sst2"]
    assert summary.loc[0, "cell"] == "partial (0/1, 1 failed)" and summary.loc[1, "cell"] == "failed"
    assert "(diverged)" in summary.loc[1, "failed runs"]
    assert first_task(data.table, "m2", "GLUE") == "sst2" and first_task(data.table, "m2", "CLUE") is None
    assert row_summary(data.table, "no such row").empty and first_task(data.table, "no such row") is None


def test_a_rebuilt_command_needs_no_data_dir_for_the_shipped_demo_data(sample, tmp_path, monkeypatch):
    """The bundled sample stores its demo data folder relative to the checkout: the command rebuilt from it (for a
    record holding none) asks for no --data-dir, from any working directory; a folder outside the checkout does."""
    from harness.rerun import rerun

    rec = _record(sample, cell_detail(sample, *_cells(sample)[0]))
    assert not Path(rec.data.source["dir"]).is_absolute()
    monkeypatch.chdir(tmp_path)
    assert "--data-dir" not in rerun(rec)[1]
    outside = rec.model_copy(update={"data": rec.data.model_copy(update={"source": {**rec.data.source,
                                                                                  "dir": str(tmp_path / "d")}})})
    assert "DATA_DIR" in rerun(outside)[1]


def test_details_say_when_the_cell_has_another_configuration(tmp_path):
    """Two configurations of one cell: the board shows the one with more runs; Details names the other."""
    from test_failures import put, record

    root = tmp_path
    put(root, record("m1", "sst2", 1, 0.9, chash="aaa"))
    put(root, record("m1", "sst2", 2, 0.8, chash="aaa"))
    put(root, record("m1", "sst2", 1, 0.5, chash="bbb", created="2026-02-01T00:00:00+00:00"))
    d = cell_detail(load_app_data(root), "m1", "main", "finetune", "sst2")
    assert d.config_hash == "aaa" and d.others == ["bbb (1 run)"]
    # and lets Details switch to it: its runs, its score; the board's stays first among the choices
    data = load_app_data(root)
    assert config_choices(data, "m1", "main", "finetune", "sst2") == [("aaa (on the board, 2 runs)", "aaa"),
                                                                      ("bbb (1 run)", "bbb")]
    other = cell_detail(data, "m1", "main", "finetune", "sst2", config="bbb")
    assert other.config_hash == "bbb" and other.board_config == "aaa" and other.others == ["aaa (2 runs)"]
    assert list(other.runs["main"]) == [0.5] and list(d.runs["main"]) == [0.9, 0.8]
    assert cell_detail(data, "m1", "main", "finetune", "sst2", config="zzz").config_hash == "aaa"  # not this cell's
    from webapp.details import _title_md

    assert "not the one the board shows** (aaa)" in _title_md(other) and "not the one" not in _title_md(d)
