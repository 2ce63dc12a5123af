"""Plots that can be read (one bar per row, labels inside and apart, the scope note) and the filtered download as
numbers (webapp/plots.py, webapp/downloads.py), on the bundled sample and a copy of it with a second
method ('prompt', two seeds) for two of its models."""
from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from harness.results import latency_path
from leaderboard import decision, sig_cache
from leaderboard.columns import distinct_row_labels
from leaderboard.data import load_app_data
from leaderboard.filters import Filters, filter_table, shown_rows
from leaderboard.report import write_tables
from leaderboard.table import aggregate, leaderboard
from webapp.downloads import FLOAT_FORMAT, csv_download, numeric_csv_download, numeric_rows, plain_label
from webapp.plots import (CANDIDATES, MARKER_PX, model_points, place_labels, plot_scope, score_vs_latency,
                          score_vs_params, task_bars)

SAMPLE = Path(__file__).resolve().parents[1] / "webapp" / "sample"
PROMPTED = ("minilm-l6-h384", "ernie-random-small")
MINILM, MINILM_P = "minilm-l6-h384", "minilm-l6-h384 [prompt]"
T5 = "t5-random-small (untrained)"


def _prompt_copy(root: Path) -> None:
    """Each result of PROMPTED models again as method 'prompt' (config hash 'aaaaaaaaaaaa'), seeds 42 and 43, with
    main scores 0.9× and 0.85× the fine-tuned one's."""
    for f in sorted((root / "results").rglob("seed*.json")):
        rec = json.loads(f.read_text(encoding="utf-8"))
        if rec["job"]["model"] not in PROMPTED:
            continue
        parts = list(f.relative_to(root).parts)
        parts[-3:-1] = ["prompt", "aaaaaaaaaaaa"]
        main = rec["metrics"]["main"]
        for seed, factor in ((42, 0.9), (43, 0.85)):
            rec["job"].update(method="prompt", config_hash="aaaaaaaaaaaa", seed=seed)
            rec["metrics"] = {**rec["metrics"], "main": main * factor}
            dest = root.joinpath(*parts[:-1], f"seed{seed}.json")
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(json.dumps(rec), encoding="utf-8")
            if latency_path(f).is_file():  # as if `python -m harness latency` had timed the prompt checkpoint
                lat = json.loads(latency_path(f).read_text(encoding="utf-8"))
                lat.update(config_hash="aaaaaaaaaaaa", p50_ms=lat["p50_ms"] * 1.5, p95_ms=lat["p95_ms"] * 1.5)
                latency_path(dest).write_text(json.dumps(lat), encoding="utf-8")


@pytest.fixture(scope="module")
def two_methods(tmp_path_factory):
    """AppData of the sample plus the prompt rows; leaderboard.csv rebuilt from its result files."""
    root = tmp_path_factory.mktemp("two-methods") / "out"
    shutil.copytree(SAMPLE, root)
    _prompt_copy(root)
    write_tables(root)
    return load_app_data(root)


@pytest.fixture(scope="module")
def sample():
    return load_app_data(SAMPLE)


# ------------------------------------------------------------------ bars

def test_bars_one_per_row_never_stacked(two_methods):
    agg = two_methods.agg
    for task in sorted(agg["task"].unique()):
        fig = task_bars(agg, task)
        drawn = [trace for trace in fig.data if trace.type == "bar"]  # the rest: legend keys, no data
        assert all(list(t.x) == [None] for t in fig.data if t.type != "bar")
        xs = [x for trace in drawn for x in trace.x]
        ys = [y for trace in drawn for y in trace.y]
        assert len(xs) == len(set(xs)) == len(agg[agg.task == task]), task  # one bar per row, none shares an x
        assert max(ys) <= 100 and fig.layout.barmode not in ("stack", "relative")  # a 0..1 score ×100
        assert fig.layout.xaxis.type == "category"
    fig = task_bars(agg, "demo_sentiment")
    bars = dict(zip(fig.data[0].x, fig.data[0].y))
    mean = agg.set_index(["row", "task"])["mean"]
    assert bars[MINILM] == pytest.approx(100 * mean[MINILM, "demo_sentiment"])
    assert bars[MINILM_P] == pytest.approx(100 * mean[MINILM_P, "demo_sentiment"])
    assert bars[MINILM_P] < bars[MINILM]
    assert list(fig.data[0].y) == sorted(fig.data[0].y, reverse=True)  # best first
    i = list(fig.data[0].x).index(MINILM_P)
    model, revision, method, n = fig.data[0].customdata[i][:4]
    assert (model, revision, method, n) == ("minilm-l6-h384", "py-0.1.0", "prompt", 2)
    assert fig.data[0].error_y.array[i] > 0  # two seeds: a spread


def test_two_revisions_of_a_model_are_two_bars():
    runs = pd.DataFrame([{"model": "m", "revision": rev, "method": "finetune", "task": "t", "seed": 1, "fold": "",
                          "config_hash": "h", "created_at": "2026-01-01", "main": main, "benchmark": "B",
                          "language": "en", "family": "bert", "untrained": False, "parameters": 1e6,
                          "unk_rate": 0.0, "cpu_latency_ms": 2.0, "direction": "higher", "path": f"r/{rev}"}
                         for rev, main in (("main", 0.6), ("v2", 0.7))])
    agg = aggregate(runs)
    assert list(task_bars(agg, "t").data[0].x) == ["m @ v2", "m @ main"]
    assert distinct_row_labels(pd.DataFrame({"model": ["a", "a", "b"], "revision": ["x", "x", "x"]})) \
        == ["a @ x", "a @ x #2", "b"]
    assert distinct_row_labels(agg.iloc[:1]) == ["m"]  # a label of its own is kept as is


def test_bars_follow_the_shown_rows(two_methods):
    fig = task_bars(two_methods.agg, "demo_qa", rows=[MINILM_P, T5])
    assert list(fig.data[0].x) == [MINILM_P, T5]


# ------------------------------------------------------------------ scatters

def test_scatter_hover_names_every_point_and_labels_sit_inside(two_methods):
    pts = model_points(two_methods.agg, two_methods.table, "demo")
    assert set(pts["row"]) == set(two_methods.table["row"]) - {T5}  # T5 is partial: no demo average
    for x, fig in (("parameters", score_vs_params(pts, "demo")), ("latency_ms", score_vs_latency(pts, "demo"))):
        by_method = {t.name: t for t in fig.data if t.name in set(pts["method"])}  # a trace per method
        assert set(by_method) == set(pts.dropna(subset=[x])["method"])
        for meth, dots in by_method.items():
            want = pts[(pts["method"] == meth) & pts[x].notna()]["row"]
            assert sorted(dots.text) == sorted(want) and "text" not in dots.mode
            assert [c[0] for c in dots.customdata] == list(dots.text)  # the hover's first line is the row label
            for key in ("model:", "method:", "score", "parameters:", "latency:", "untrained", "Pareto front"):
                assert key in dots.hovertemplate
        assert "untrained baseline (open marker)" in {t.name for t in fig.data}
        notes = fig.layout.annotations
        assert notes and {a.text for a in notes} <= set(pts["row"]) and len({a.text for a in notes}) == len(notes)
        x0, x1 = fig.layout.xaxis.range
        y0, y1 = fig.layout.yaxis.range
        assert all(x0 < a.x < x1 and y0 < a.y < y1 for a in notes)
        assert MINILM in {a.text for a in notes}  # the best point (on the front) is labelled
        assert all(getattr(t, "cliponaxis", None) is not False for t in fig.data)


def _boxes_ok(points, spots, size):
    """Every placed label inside the area, overlapping no other label and no other point's marker."""
    for b in (s[2] for s in spots if s is not None):
        assert b[0] >= 0 and b[1] >= 0 and b[2] <= size[0] and b[3] <= size[1]
    placed = [(i, s[2]) for i, s in enumerate(spots) if s is not None]
    for (_, a), (_, b) in itertools.combinations(placed, 2):
        assert not _overlap(a, b)
    for i, (x, y) in enumerate(points):
        marker = (x - MARKER_PX, y - MARKER_PX, x + MARKER_PX, y + MARKER_PX)
        assert not any(_overlap(b, marker) for j, b in placed if j != i)


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_place_labels_keeps_labels_inside_and_apart():
    size = (490.0, 280.0)
    crowd = [(20.0 + 9 * i, 130.0 + 4 * i) for i in range(12)] + [(485.0, 275.0), (5.0, 5.0)]
    labels = [f"model-{i} [prompt] (untrained)" for i in range(len(crowd))]
    spots = place_labels(crowd, labels, list(range(len(crowd))), size)
    _boxes_ok(crowd, spots, size)
    assert spots[0] is not None and spots.count(None) > 0  # a crowd: some are left to their hover
    assert spots[-2] is not None and spots[-2][0] == "right"  # at the right edge the label points inward
    assert all(s is None or (s[0], s[1]) in CANDIDATES for s in spots)


# ------------------------------------------------------------------ scope notes

def _dots(fig) -> int:
    """The points a scatter draws (its method traces; not the front's line or the legend's keys)."""
    return sum(len(t.x) for t in fig.data if t.name != "Pareto front" and list(t.x) != [None])


def test_scope_notes_say_what_is_left_out(two_methods, sample):
    d = two_methods
    note = plot_scope(d.agg, d.table, "demo", "params")
    assert note.startswith("_Plot scope: 5 of 6 row(s)") and f"`{T5}` (partial, 4/5 demo tasks)" in note
    assert _dots(score_vs_params(model_points(d.agg, d.table, "demo"))) == 5  # what the note counts
    assert "untrained baselines included (3" in note
    assert f"`{T5}` (no result on demo_ner)" in plot_scope(d.agg, d.table, "demo_ner", "bars")
    assert plot_scope(d.agg, d.table, "demo_sentiment", "bars").startswith("_Plot scope: 6 of 6 row(s)")
    no_lat = d.agg.assign(cpu_latency_ms=d.agg["cpu_latency_ms"].where(d.agg["model"] != "albert-random-small"))
    note = plot_scope(no_lat, d.table, "demo", "latency")
    assert "`albert-random-small (untrained)` (no latency measured: `python -m harness latency`)" in note
    assert "4 of 6" in note
    assert _dots(score_vs_latency(model_points(no_lat, d.table, "demo"))) == 4
    note = plot_scope(d.agg, d.table, "demo", "params", rows=[MINILM, MINILM_P, T5])
    assert "2 of 6" in note and "3 row(s) hidden by the table's filters" in note
    assert plot_scope(sample.agg, sample.table, "demo", "params").startswith("_Plot scope: 3 of 4 row(s)")
    assert "nothing chosen" in plot_scope(d.agg, d.table, None, "bars")
    with pytest.raises(ValueError, match="unknown plot"):
        plot_scope(d.agg, d.table, "demo", "pie")


def test_scope_note_names_failed_runs():
    runs = pd.DataFrame([{"model": m, "revision": "main", "method": "finetune", "task": t, "seed": 1, "fold": "",
                          "config_hash": "h", "created_at": "2026-01-01", "main": 0.5, "benchmark": "B",
                          "language": "en", "family": "bert", "untrained": False, "parameters": 1e6,
                          "unk_rate": 0.0, "cpu_latency_ms": 2.0, "direction": "higher", "path": f"{m}/{t}"}
                         for m in ("a", "b") for t in ("t1", "t2") if (m, t) != ("b", "t2")])
    failures = [{"path": "b/t2/f", "error": "RuntimeError: boom", "model": "b", "task": "t2", "method": "finetune",
                 "seed": 1, "config_hash": "h", "revision": "main", "fold": "", "kind": "error", "step": "train",
                 "created_at": "2026-01-02", "benchmark": "B", "direction": "higher"}]
    table = leaderboard(runs, failures)
    agg = aggregate(runs)
    assert "`b` (failed runs in 1 B task(s))" in plot_scope(agg, table, "B", "params")
    assert "`b` (every run failed)" in plot_scope(agg, table, "t2", "bars")


# ------------------------------------------------------------------ downloads

DECISION_SUFFIXES = ("_p_best", "_in_set", "_rank_lo", "_rank_hi", "_regret", "_seeds_to_separate")


def _view_numbers(data, f: Filters):
    """The shown rows and the table the app's download is cut from: the decision columns over the view's rows and
    tasks, as webapp.handlers.leaderboard_view builds it."""
    shown, _ = filter_table(data.table, data.task_info, f)
    vis, rows = shown_rows(data.table, data.task_info, f)
    decisions = decision.view_decisions(sig_cache.draws_of(data), data.table, rows, vis)
    return shown, decision.with_decisions(data.table, decisions)


def _check_numeric(path: str, shown: pd.DataFrame, csv_file: Path, same_decision: bool = True) -> pd.DataFrame:
    """The download holds leaderboard.csv's columns and the shown rows' numbers; the decision columns equal the
    file's only where the view shows every row and task (``same_decision``): a filter changes the decision."""
    text = Path(path).read_text(encoding="utf-8")
    assert "±" not in text and "(n=" not in text and "⚠" not in text
    back, ref = pd.read_csv(path), pd.read_csv(csv_file)
    assert list(back.columns) == list(ref.columns) and list(back["row"]) == list(shown["model"])
    tasks = [c[:-2] for c in ref.columns if c.endswith("_n")]
    for t in tasks:
        assert back[t].dtype == float and back[f"{t}_std"].dtype == float, t
        n = back[f"{t}_n"].dropna()
        assert pd.api.types.is_numeric_dtype(n) and (n == n.round()).all() and (n >= 1).all(), t
    ref = ref.set_index("row").loc[list(shown["model"])].reset_index()
    keep = [c for c in ref.columns if same_decision or not c.endswith(DECISION_SUFFIXES)]
    pd.testing.assert_frame_equal(back[keep], ref[keep], check_dtype=False)
    return back


def test_filtered_download_is_numbers_equal_to_leaderboard_csv(two_methods, tmp_path):
    d = two_methods
    f = Filters(search="minilm", sort_by="demo_qa", descending=False)
    shown, numbers = _view_numbers(d, f)
    assert list(shown["model"]) == [MINILM_P, MINILM]
    back = _check_numeric(numeric_csv_download(shown, numbers, tmp_path), shown, d.root / "leaderboard.csv",
                          same_decision=False)
    assert list(back["demo_qa_n"]) == [2, 1] and back.loc[0, "demo_qa_std"] > 0
    assert back["demo_qa_n"].dtype == int
    # the decision is the view's: over the rows shown that have saved predictions (the prompt copies have none,
    # so they take no part), P(best) sums to 1 and no rank goes past their number
    part = back["demo_qa_p_best"].notna()
    assert list(back.loc[part, "row"]) == [MINILM] and back["demo_qa_p_best"].sum() == pytest.approx(1.0, abs=1e-3)
    assert back.loc[part, "demo_qa_rank_hi"].max() == 1 and back.loc[~part, "demo_qa_rank_hi"].isna().all()
    full = pd.read_csv(d.root / "leaderboard.csv")
    assert full["demo_qa_rank_hi"].max() > 2  # over every row the ranks go further: the filter changed it
    shown, numbers = _view_numbers(d, Filters(columns=["family", "revision"]))
    _check_numeric(numeric_csv_download(shown, numbers, tmp_path), shown, d.root / "leaderboard.csv")


def test_sample_download_equals_the_bundled_csv(sample, tmp_path):
    shown, numbers = _view_numbers(sample, Filters(sort_by="model", descending=False))
    back = _check_numeric(numeric_csv_download(shown, numbers, tmp_path), shown, SAMPLE / "leaderboard.csv")
    assert pd.isna(back.set_index("row").loc[T5, "demo_ner"])  # missing stays empty, not '—'


def test_numeric_rows_edge_cases(two_methods, tmp_path):
    d = two_methods
    empty = numeric_rows(pd.DataFrame(columns=["model"]), d.table)
    assert empty.empty and list(empty.columns)[:4] == ["row", "model", "revision", "method"]
    shown = pd.DataFrame({"model": [T5, "no such row", MINILM], "revision": ["random-init", "x", "py-0.1.0"]})
    assert list(numeric_rows(shown, d.table)["row"]) == [T5, MINILM]
    linked = pd.DataFrame({"model": [f"[{MINILM_P}](https://huggingface.co/x/y)", f'<a href="/m">{T5}</a>']})
    assert list(numeric_rows(linked, d.table)["row"]) == [MINILM_P, T5]  # model names shown as links
    assert list(numeric_rows(linked, d.table, labels=[T5, MINILM])["row"]) == [T5, MINILM]
    assert plain_label("a &amp; b") == "a &amp; b" and plain_label('<a href="x">a &amp; b</a>') == "a & b"
    path = csv_download(pd.DataFrame({"a": [1.23456789]}), tmp_path)  # the display download: unchanged default
    assert Path(path).read_text().splitlines()[1] == "1.23456789"
    path = csv_download(pd.DataFrame({"a": [1.23456789]}), tmp_path, float_format=FLOAT_FORMAT)
    assert Path(path).read_text().splitlines()[1] == "1.2346"
