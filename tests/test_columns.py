"""Declared columns, the one cell formatter, the one row label, and the score's direction wherever a best is picked."""
from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from app_fixtures import sig_results, tiny_results  # noqa: F401 - fixtures
from leaderboard.columns import COLUMNS, Column, format_cell, row_label, row_labels, table_columns
from leaderboard.compare import right_choices
from leaderboard.data import checkpoint_label, load_app_data
from leaderboard.filters import Filters, choices, filter_table
from leaderboard import decision
from leaderboard.report import write_tables
from leaderboard.significance import tie_markers
from leaderboard.table import aggregate, csv_frame, leaderboard, to_markdown
from webapp.plots import model_points, pareto_mask, score_scatter, task_bars


def run(model: str, task: str, bench: str, main: float, seed: int = 1, method: str = "finetune",
        direction: str = "higher", params: float = 22_700_000, latency: float = 3.0, untrained: bool = False) -> dict:
    """One row of the runs DataFrame (one result file)."""
    return {"model": model, "revision": "main", "method": method, "task": task, "seed": seed, "fold": "",
            "config_hash": "h", "created_at": "2026-01-01T00:00:00+00:00", "main": main, "benchmark": bench,
            "language": "en", "family": "bert", "untrained": untrained, "parameters": params, "unk_rate": 0.0,
            "cpu_latency_ms": latency, "direction": direction, "path": f"results/{model}/{task}/{method}/{seed}"}


@pytest.fixture
def lower_runs() -> pd.DataFrame:
    """'err' (lower is better, benchmark ERR); 'acc' + 'err2' (benchmark MIX: higher and lower mixed)."""
    return pd.DataFrame([
        run("big", "err", "ERR", 0.30, direction="lower", params=9e7, latency=9.0),
        run("small", "err", "ERR", 0.10, direction="lower", params=1e7),
        run("mid", "err", "ERR", 0.20, direction="lower", params=5e7, latency=5.0),
        run("big", "acc", "MIX", 0.9), run("big", "err2", "MIX", 0.3, direction="lower"),
        run("small", "acc", "MIX", 0.8), run("small", "err2", "MIX", 0.2, direction="lower"),
    ])


@pytest.fixture
def two_methods() -> pd.DataFrame:
    """minilm fine-tuned and prompted on the same task, plus another model."""
    return pd.DataFrame([run("minilm", "sst2", "GLUE", 0.80, s) for s in (1, 2)]
                        + [run("minilm", "sst2", "GLUE", 0.70, s, method="prompt") for s in (1, 2)]
                        + [run("bert", "sst2", "GLUE", 0.75)])


# ------------------------------------------------------------------ direction

def test_lower_is_better_task_is_ranked_ascending(lower_runs):
    t = leaderboard(lower_runs)
    assert list(t["model"]) == ["small", "mid", "big"]  # rows sorted best (smallest) first
    ranks = t.set_index("model")["ERR_rank"]
    assert (ranks["small"], ranks["mid"], ranks["big"]) == (1, 2, 3)
    assert t.attrs["directions"]["err"] == "lower" and t.attrs["directions"]["ERR"] == "lower"
    agg = aggregate(lower_runs)
    assert set(agg["direction"]) == {"higher", "lower"}
    assert "| ERR avg ↓ | err ↓ |" in to_markdown(t)


def test_benchmark_mixing_directions_has_no_average_or_rank(lower_runs):
    t = leaderboard(lower_runs).set_index("model")
    assert t["MIX_avg"].isna().all() and t["MIX_rank"].isna().all()
    assert t.loc["big", "MIX_tasks"] == "2/2"  # complete, yet not averaged
    md = to_markdown(leaderboard(lower_runs))
    assert "mixed directions" in md and "mix directions" in md  # cell and documented in the notes
    shown, _ = filter_table(leaderboard(lower_runs), {}, Filters())
    assert set(shown["MIX avg"]) == {"mixed directions"}


def test_missing_direction_column_means_higher(lower_runs):
    t = leaderboard(lower_runs.drop(columns="direction"))
    assert list(t["model"]) == ["big", "mid", "small"] and t.set_index("model").loc["big", "ERR_rank"] == 1
    assert pd.notna(t.set_index("model").loc["big", "MIX_avg"])


def test_tie_markers_follow_the_sign_of_better():
    sig = pd.DataFrame([{"task": "t", "model": "a", "diff": 0.2, "tie": False},
                        {"task": "t", "model": "b", "diff": -0.1, "tie": False},
                        {"task": "t", "model": "c", "diff": -0.1, "tie": True}])
    assert tie_markers(sig) == {("a", "t"): ">", ("b", "t"): "<", ("c", "t"): "≈"}


def test_significance_order_and_sign_follow_direction(sig_results):  # noqa: F811 - fixture
    data = load_app_data(sig_results)
    draws = decision.all_draws(data)
    keys = decision.row_keys(data.table)
    up = decision.adjacent_pairs(decision.decide(draws, keys, ["demo_sentiment"], "demo_sentiment"))
    assert up[0].model == "oracle" and up[0].diff > 0 and not up[0].tie
    # the same predictions, read as a lower-is-better score: the oracle ranks last, and the one ranked first is
    # "better by" a positive amount (a lower score) wherever the difference is clear
    dec = decision.decide(draws, keys, ["demo_sentiment"], "demo_sentiment", direction="lower")
    down = decision.adjacent_pairs(dec)
    order = [down[0].model] + [r.next_model for r in down]
    scores = {r.label: r.score for r in dec.rows}
    assert order[-1] == "oracle" and [scores[o] for o in order] == sorted(scores[o] for o in order)
    assert dec.get("oracle").p_best == 0.0 and dec.get("oracle").rank_lo == len(dec.rows)
    last = down[-1]
    assert last.next_model == "oracle" and last.diff > 0 and last.ci_low > 0 and not last.tie
    sig = pd.DataFrame([{**dataclasses.asdict(p), "task": p.scope} for p in down])
    assert tie_markers(sig)[(last.model, "demo_sentiment")] == ">"


def test_pareto_front_and_bars_use_direction(lower_runs):
    agg = aggregate(lower_runs)
    pts = model_points(agg, leaderboard(lower_runs), "err")
    assert set(pts["direction"]) == {"lower"}
    front = pts.set_index("model")["parameters"].index[pareto_mask(pts, "parameters", direction="lower").values]
    assert list(front) == ["small"]  # smallest and lowest error dominates the others
    assert list(pareto_mask(pts, "parameters").values).count(True) == 3  # read as higher-is-better: all on it
    fig = score_scatter(pts, "parameters", "t", "params")
    assert list(next(t for t in fig.data if t.name == "Pareto front").text) == ["small"]
    bars = task_bars(agg, "err")
    assert list(bars.data[0].x) == ["small", "mid", "big"] and "lower is better" in bars.layout.yaxis.title.text
    assert list(task_bars(agg, "acc").data[0].x) == ["big", "small"]


# ------------------------------------------------------------------ row label everywhere

def test_row_label():
    assert row_label("minilm", "finetune") == "minilm"
    assert row_label("minilm", "prompt") == "minilm [prompt]"
    assert row_label("minilm", "prompt", "tuned") == "minilm [prompt, tuned]"
    assert row_label("minilm", "finetune", "tuned") == "minilm [tuned]"
    assert row_label("ernie", "finetune", None, untrained=True) == "ernie (untrained)"
    frame = pd.DataFrame({"model": ["a", "a"], "method": ["finetune", "prompt"], "untrained": [True, None]})
    assert row_labels(frame) == ["a (untrained)", "a [prompt]"]


def test_finetune_and_prompt_rows_are_told_apart_everywhere(two_methods, tmp_path):
    table = leaderboard(two_methods)
    assert list(table["row"]) == ["minilm", "bert", "minilm [prompt]"]
    md = to_markdown(table)
    assert "| minilm [prompt] |" in md and "| minilm |" in md
    shown, _ = filter_table(table, {}, Filters(markers={("minilm [prompt]", "sst2"): "≈"}))
    assert list(shown["model"]) == ["minilm", "minilm [prompt]", "bert"]  # a model's methods together
    ranked, _ = filter_table(table, {}, Filters(sort_by="sst2"))  # a sort the user picks is applied as it is
    assert list(ranked["model"]) == ["minilm", "bert", "minilm [prompt]"]
    assert shown.set_index("model").loc["minilm [prompt]", "sst2"] == "70.0 ± 0.0 (n=2) ≈"
    assert shown.set_index("model").loc["minilm", "sst2"] == "80.0 ± 0.0 (n=2)"
    agg = aggregate(two_methods)
    pts = model_points(agg, table, "GLUE")
    scatter = score_scatter(pts, "parameters", "t", "params")
    assert sorted(t for trace in scatter.data if trace.name in ("finetune", "prompt") for t in trace.text) == [
        "bert", "minilm", "minilm [prompt]"]
    assert list(task_bars(agg, "sst2").data[0].x) == ["minilm", "bert", "minilm [prompt]"]
    csv = tmp_path / "leaderboard.csv"
    csv_frame(table).to_csv(csv, index=False)
    back = pd.read_csv(csv)
    assert back.columns[0] == "row" and list(back["row"]) == ["minilm", "bert", "minilm [prompt]"]
    labels = [checkpoint_label("minilm", "main", 42), checkpoint_label("minilm", "main", 42, "prompt"),
              checkpoint_label("minilm", "main", 1, "prompt", 0)]
    assert labels == ["minilm · main · seed 42", "minilm [prompt] · main · seed 42",
                      "minilm [prompt] · main · fold 0 · seed 1"]
    assert "only minilm [prompt] · main · seed 42 right" in right_choices(labels[:2])


def test_write_tables_csv_has_the_row_column(tiny_results, tmp_path):  # noqa: F811 - fixture
    import shutil

    out = tmp_path / "out"
    shutil.copytree(tiny_results / "results", out / "results")
    table = write_tables(out).table
    back = pd.read_csv(out / "leaderboard.csv")
    assert back.columns[0] == "row" and list(back["row"]) == list(table["row"])
    assert set(back["row"]) == {"tiny-bert", "tiny-ernie", "tiny-albert", "tiny-t5"}


# ------------------------------------------------------------------ columns and cells

def test_declared_columns_expand_per_benchmark_and_task(lower_runs):
    table = leaderboard(lower_runs)
    cols = {c.name: c for c in table_columns(table.attrs["benchmarks"], table.attrs["directions"])}
    assert [c.name for c in COLUMNS if c.group == "identity"][0] == "row"
    assert cols["err"].direction == "lower" and cols["acc"].direction == "higher"
    assert cols["MIX_avg"].direction == "mixed" and cols["ERR_rank"].kind == "rank"
    assert cols["err_n"].group == "task" and cols["ERR_tasks"].group == "benchmark"
    declared = [c for c in cols if c in table]
    assert list(csv_frame(table).columns[:len(declared)]) == declared
    assert cols["ERR_p_best"].kind == "prob" and cols["err_regret"].direction == "lower"


@pytest.mark.parametrize("missing", [None, float("nan"), pd.NA, ""])
def test_format_cell_missing(missing):
    for kind in ("text", "score", "count", "params", "rate", "rank"):
        assert format_cell(kind, missing) == "—"


def test_format_cell_each_kind():
    assert format_cell("score", 82.04) == "82.0"
    assert format_cell("score", 82.0, std=2.0, n=3) == "82.0 ± 2.0 (n=3)"
    assert format_cell("score", 82.0, std=0.0, n=1) == "82.0 (n=1)"  # one run: n=1, not "± 0.0"
    assert format_cell("score", 82.0, std=0.0, n=2) == "82.0 ± 0.0 (n=2)"
    assert format_cell("score", 82.0, std=2.0, n=10, folds=5) == "82.0 ± 2.0 (n=10, 5 folds)"
    assert format_cell("score", 82.0, std=2.0, n=3, folds=0, unk=0.6, marker=">") == "82.0 ± 2.0 (n=3) ⚠UNK 60% >"
    assert format_cell("count", 3.0) == "3" and format_cell("rank", pd.array([2], dtype="Int64")[0]) == "2"
    assert format_cell("params", 22_700_000) == "22.7M" and format_cell("params", 500_000) == "500K"
    assert format_cell("params", 1.5e9) == "1.5B"
    assert format_cell("rate", 0.012) == "1.2%"
    unk = next(c for c in COLUMNS if c.name == "max_unk_rate")
    assert format_cell(unk, 0.2) == "20.0% ⚠" and format_cell(unk, 0.01) == "1.0%"
    assert format_cell("text", "bert") == "bert"
    assert format_cell(Column("x", "x", "score", ".2f"), 1.234) == "1.23"
    with pytest.raises(ValueError, match="unknown column kind"):
        format_cell("colour", 1)


def test_the_app_picker_the_display_and_the_markdown_derive_from_the_declaration(lower_runs):
    """Columns are declared once (columns.py): the picker's labels (part of shared URLs), the display headers and
    leaderboard.md's headers all come from the declaration."""
    from leaderboard.columns import IDENTITY, IN_MARKDOWN, PICKABLE
    from leaderboard.filters import DEFAULT_COLUMNS, OPTIONAL_COLUMNS

    assert OPTIONAL_COLUMNS == ("family", "parameters", "method", "revision", "max UNK rate", "trainable params",
                                "checkpoint MB", "p50 latency ms")  # URLs written before keep their meaning
    assert DEFAULT_COLUMNS == ("family", "parameters")
    table = leaderboard(lower_runs)
    shown, _ = filter_table(table, {}, Filters(columns=OPTIONAL_COLUMNS))
    assert [c.title for c in PICKABLE] == [h for h in shown.columns if h in {c.title for c in IDENTITY}][1:]
    head = to_markdown(table).splitlines()[0]
    assert head.startswith("| " + " | ".join(["rank", *(c.short for c in IN_MARKDOWN)]) + " |")


def test_marks_follow_the_order_the_board_shows(sig_results):  # noqa: F811 - fixture
    """Ties on a task keep the board's order (a stable sort, as the filters sort), and each pair compares a row with
    the one shown below it, so a mark never refers to a row further down."""
    from leaderboard.significance import display_pairs, p_text

    table = pd.DataFrame({"row": ["a", "b", "c", "d"], "t": [18.3, 18.3, 20.0, float("nan")]})
    assert decision.board_order(table, "t", "higher") == ["c", "a", "b"]
    assert decision.board_order(table, "t", "lower") == ["a", "b", "c"]
    data = load_app_data(sig_results)
    draws = decision.all_draws(data)
    dec = decision.decide(draws, decision.row_keys(data.table), ["demo_sentiment"], "demo_sentiment")
    labels = [r.label for r in dec.rows]
    shown = list(reversed(labels))  # whatever order the board shows: the pairs walk it
    pairs = decision.adjacent_pairs(dec, order=shown)
    assert [p.model for p in pairs] == shown[:-1] and [p.next_model for p in pairs] == shown[1:]
    assert p_text(0.0, 1000) == "< 0.001" and p_text(0.0004, 1000) == "< 0.001" and p_text(0.25, 1000) == "0.250"
    sig = pd.DataFrame([{**dataclasses.asdict(p), "task": p.scope} for p in pairs])
    assert all(v == "< 0.001" or float(v) >= 0.001 for v in display_pairs(sig)["p_value"])


def test_the_task_filter_shows_those_tasks_and_keeps_the_whole_average():
    runs = pd.DataFrame([run(m, t, "GLUE", s) for m, base in (("a", 0.9), ("b", 0.6))
                         for t, s in (("sst2", base), ("rte", base - 0.1))])
    table = leaderboard(runs)
    shown, _ = filter_table(table, {}, Filters(tasks=["rte"]))
    assert "rte" in shown and "sst2" not in shown
    full, _ = filter_table(table, {}, Filters())
    assert list(shown["GLUE avg"]) == [v + " (all tasks)" for v in full["GLUE avg"]]
    assert choices(table, {})["tasks"] == ["rte", "sst2"]
    assert filter_table(table, {}, Filters(tasks=["nope"]))[0].empty  # no task shown, no row
