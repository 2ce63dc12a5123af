"""The reviewer's controls without a browser: licence / untrained / partial filters, the URL state, the About tab,
the empty state, model links and the named wiring (leaderboard/filters.py, url_state.py, about.py, webapp/page.py,
webapp/handlers.linked, webapp/wiring.py)."""
from __future__ import annotations

import json
import shutil

import pytest

from leaderboard.about import about_markdown
from leaderboard.data import load_app_data
from leaderboard.filters import Filters, choices, filter_table
from leaderboard.table import SCORES_NOTE
from leaderboard.url_state import from_query
from webapp.sample import SAMPLE_DIR


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    root = tmp_path_factory.mktemp("sample") / "s"
    shutil.copytree(SAMPLE_DIR, root, ignore=shutil.ignore_patterns(".leaderboard-index.json"))
    return root


def test_hide_untrained_partial_and_licence_filters(sample):
    data = load_app_data(sample)
    table, info = data.table, data.task_info
    every, _ = filter_table(table, info, Filters())
    trained, hidden = filter_table(table, info, Filters(hide_untrained=True))
    assert list(trained["model"]) == [r for r, u in zip(table["row"], table["untrained"]) if not u] and hidden == 3
    complete, hidden = filter_table(table, info, Filters(hide_partial=True))
    partial = [r for r, a in zip(table["row"], table["demo_avg"]) if a != a]  # NaN average: a task missing/failed
    assert partial and not set(partial) & set(complete["model"]) and hidden == len(partial)
    licences = choices(table, info)["licenses"]
    assert licences == sorted({i["license"] for i in info.values()})
    same, _ = filter_table(table, info, Filters(licenses=licences))
    assert list(same["model"]) == list(every["model"])
    none, hidden = filter_table(table, info, Filters(licenses=["CC-BY-NC-4.0"]))  # no task under it: no scores
    assert none.empty and hidden == len(table)


def test_model_licence_from_the_models_file_filters_rows(sample):
    data = load_app_data(sample)
    table = data.table.assign(model_license=[("apache-2.0" if r.startswith("minilm") else None)
                                             for r in data.table["row"]])
    lic = next(iter(data.task_info.values()))["license"]
    assert "apache-2.0" in choices(table, data.task_info)["licenses"]
    kept, _ = filter_table(table, data.task_info, Filters(licenses=[lic]))  # the task's only: minilm excluded
    assert "minilm-l6-h384" not in list(kept["model"]) and len(kept) == len(table) - 1


def test_url_state_round_trip_keeps_only_offered_values():
    from webapp.board import PARAMS, WRITE_JS

    options = {"languages": ["en", "zh"], "benchmarks": ["glue"], "sort_by": ["glue avg", "model"],
               "columns": ["family", "parameters", "method"], "licenses": ["MIT"]}
    got = from_query({"lang": "zh,xx", "min": "10", "max": "0", "q": "bert", "sort": "nope", "desc": "0",
                      "hide_partial": "1", "cols": "method", "license": "MIT,GPL", "zzz": "1"}, options, PARAMS)
    assert got == {"languages": ["zh"], "min_params": 10.0, "max_params": None, "search": "bert", "sort_by": None,
                   "descending": False, "hide_partial": True, "columns": ["method"], "licenses": ["MIT"]}
    assert from_query({"min": "abc", "max": "inf"}, options, PARAMS) == {"min_params": None, "max_params": None}
    assert all(f'"{p}"' in WRITE_JS for p, _, _ in PARAMS)  # the page writes every parameter it reads
    assert [c for _, c, _ in PARAMS][:11] == ["languages", "benchmarks", "families", "methods", "min_params",
                                              "max_params", "search", "columns", "sort_by", "descending", "markers"]


def test_about_says_how_every_number_is_made(sample):
    data = load_app_data(sample)
    text = about_markdown(data, str(sample), sample=False)
    newest = max(json.loads(p.read_text())["created_at"] for p in (sample / "results").rglob("seed*.json")
                 if not p.name.endswith(".failed.json"))
    assert SCORES_NOTE in text and "paired bootstrap" in text and "[UNK]" in text and "non-commercial" in text
    assert newest[:10] in text and all(t in text for t in data.tasks)  # last update; every task's licence row
    assert "## Latency" in text and "one thread" in text and "p50 latency ms" in text  # what the latency plot measured


def test_empty_source_shows_one_panel_and_no_tables(tmp_path):
    from webapp.build import build_app

    (tmp_path / "results").mkdir()
    demo = build_app(tmp_path)
    page = {c.elem_id: c for c in demo.blocks.values() if getattr(c, "elem_id", None)}
    assert page["empty-state"].visible and "No results yet" in page["empty-state"].value
    body = next(b for b in demo.blocks.values() if type(b).__name__ == "Column" and page["lb-table"] in
                _descendants(b))
    assert body.visible is False and not page["sample-notice"].visible


def _descendants(block):
    out = []
    for child in getattr(block, "children", []):
        out += [child, *_descendants(child)]
    return out


def test_hub_models_link_to_their_page(sample):
    from webapp.handlers import linked

    rec = next((sample / "results").rglob("minilm-l6-h384/**/seed*.json"))
    data = json.loads(rec.read_text())
    assert data["model_info"]["id"].startswith("python:")  # the packaged MiniLM: a local source, no link
    from webapp.state import AppState
    from webapp.source import resolve_source

    view = AppState(resolve_source(sample)).view
    assert view.links == {}
    shown, _ = filter_table(view.data.table, view.data.task_info, Filters())
    plain = linked(shown, view.links)
    assert plain["value"] is shown and plain["datatype"][0] == "str"
    update = linked(shown, {"minilm-l6-h384": "https://huggingface.co/org/m/tree/main"})
    assert update["value"].iloc[0, 0].startswith("[minilm-l6-h384](https://huggingface.co/org/m/tree/main)")
    assert update["datatype"][0] == "markdown"
    # widths: a header never narrower than its longest word, the row label's cells wrap past LABEL_CHARS
    from webapp.handlers import CHAR_PX, HEAD_PAD_PX, LABEL_CHARS, column_widths

    widths = [float(w.removesuffix("px")) for w in update["column_widths"]]
    assert update["column_widths"] == column_widths(shown) and len(widths) == len(shown.columns)
    for col, w in zip(shown.columns, widths):
        assert w >= max(len(word) for word in col.split()) * CHAR_PX + HEAD_PAD_PX - 0.5, col
    assert widths[0] <= max(LABEL_CHARS * CHAR_PX + 30, len("model") * CHAR_PX + HEAD_PAD_PX) + 0.5


def test_a_hub_model_row_links_to_its_revision(sample, tmp_path):
    from webapp.state import AppState
    from webapp.source import resolve_source

    root = tmp_path / "hub-model"
    shutil.copytree(sample, root, ignore=shutil.ignore_patterns(".leaderboard-index.json"))
    for path in (root / "results").rglob("minilm-l6-h384/**/seed*.json"):
        rec = json.loads(path.read_text())
        rec["model_info"]["id"] = "sentence-transformers/all-MiniLM-L6-v2"
        path.write_text(json.dumps(rec))
    view = AppState(resolve_source(root)).view
    assert view.links == {"minilm-l6-h384":
                          "https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2/tree/py-0.1.0"}


def test_wiring_binds_by_name_and_keeps_gradio_positions():
    """webapp.wiring: values by name in, a dict by name out; Gradio's positional lists follow the mappings' order, a
    list entry (input boxes) takes its length of values (the last one any extra), one output is returned bare."""
    from harness.kinds import InputError
    from webapp.wiring import bind, by_name, flat

    inputs = {"task": "T", "boxes": ["B1", "B2"]}
    assert flat(inputs) == ["T", "B1", "B2"]
    assert by_name(inputs, ("t", "a", "b", "extra")) == {"task": "t", "boxes": ["a", "b", "extra"]}
    assert by_name({"boxes": ["B1"], "task": "T"}, ("a",)) == {"boxes": ["a"], "task": None}

    def handler(task, boxes):
        if not task:
            raise InputError("choose a task")
        return {"msg": f"{task}: {' '.join(boxes)}", "boxes": boxes[::-1]}

    fn = bind(handler, inputs, {"boxes": ["O1", "O2"], "msg": "M"}, msg="msg")
    assert fn("t", "a", "b") == ("b", "a", "t: a b")
    assert fn("", "a", "b") == (None, None, "⚠ choose a task")
    assert bind(handler, inputs, {"msg": "M"}, msg="msg")("t", "a", "b") == "t: a b"


# ------------------------------------------------------------------ the decision of the view (issue 25)

@pytest.fixture(scope="module")
def board(sample, tmp_path_factory):
    """The app's handlers over the sample, and the controls' defaults by name."""
    from webapp.board import CONTROLS
    from webapp.handlers import Handlers
    from webapp.source import resolve_source
    from webapp.state import AppState

    h = Handlers(AppState(resolve_source(sample)), tmp_path_factory.mktemp("csv"), 3)
    return h, {c.name: c.default for c in CONTROLS}


def test_the_decision_paragraph_names_the_leader_and_a_filter_that_hides_it_changes_it(board):
    h, defaults = board
    got = h.leaderboard_view(**defaults)
    assert "**demo average**: pick **minilm-l6-h384**" in got["decision"] and "4 row(s) shown" in got["decision"]
    assert "Left out: t5-random-small (untrained) (partial: 4/5 tasks)" in got["decision"]
    hidden = h.leaderboard_view(**{**defaults, "search": "random"})  # the leader hidden: the decision is among these
    assert "pick **ernie-random-small (untrained)**" in hidden["decision"] and "minilm" not in hidden["decision"]
    assert "3 row(s) shown" in hidden["decision"]
    assert h.leaderboard_view(**{**defaults, "search": "no such model"})["decision"] == "—"


def test_the_toggle_adds_p_best_and_rank_interval_columns_per_shown_scope(board):
    import pandas as pd

    h, defaults = board
    averages_only = h.leaderboard_view(**defaults)["table"]["value"]  # by default: the benchmark averages' columns
    assert {"demo P(best)", "demo rank 95%"} <= set(averages_only.columns)
    assert not [c for c in averages_only.columns if "P(best)" in c and not c.startswith("demo ")]
    shown = h.leaderboard_view(**{**defaults, "task_decision": True})["table"]["value"]
    data = h.state.view.data
    scopes = ["demo", *data.tasks]
    for s in scopes:
        assert {f"{s} P(best)", f"{s} rank 95%"} <= set(shown.columns)
    assert list(shown.columns).index("demo P(best)") == list(shown.columns).index("demo avg") + 1
    by_row = shown.set_index("model")
    assert by_row.loc["minilm-l6-h384", "demo P(best)"] == "1.00" and by_row.loc["minilm-l6-h384",
                                                                               "demo rank 95%"] == "1"
    assert by_row.loc["t5-random-small (untrained)", "demo P(best)"] == "—"  # partial: no part in the average's
    assert by_row.loc["t5-random-small (untrained)", "demo_ner rank 95%"] == "—"  # not run
    assert "–" in "".join(shown[[f"{t} rank 95%" for t in data.tasks]].values.ravel())  # an interval '2–3'
    off = h.leaderboard_view(**{**defaults, "decision": False})["table"]["value"]
    assert not [c for c in off.columns if "P(best)" in c or "rank 95%" in c]
    assert list(off.columns) == [c for c in shown.columns if "P(best)" not in c and "rank 95%" not in c]
    # a filter that hides every task hides their decision columns and the decision too
    none = h.leaderboard_view(**{**defaults, "languages": ["zh"]})
    assert not [c for c in none["table"]["value"].columns if "P(best)" in c] and none["decision"] == "—"
    frame = pd.read_csv(h.leaderboard_view(**defaults)["csv"])  # the numbers carry the view's decision
    assert frame.loc[frame["row"] == "minilm-l6-h384", "demo_p_best"].item() == 1.0
    assert {"demo_rank_lo", "demo_rank_hi", "demo_ner_regret", "demo_ner_seeds_to_separate"} <= set(frame.columns)


def test_marks_and_significance_rows_describe_the_rows_shown(board):
    h, defaults = board
    every = h.leaderboard_view(**defaults)
    sig = every["significance"]
    assert ("minilm-l6-h384", "ernie-random-small (untrained)") in set(zip(sig["model"], sig["next_model"]))
    some = h.leaderboard_view(**{**defaults, "search": "random"})
    shown = set(some["table"]["value"]["model"])
    sig = some["significance"]
    assert len(sig) and set(sig["model"]) | set(sig["next_model"]) <= shown
    for task, pairs in sig.groupby("task"):  # each task: the rows shown with a score, one pair fewer
        rows = some["table"]["value"].set_index("model")[task]
        assert len(pairs) == (rows != "—").sum() - 1
    cells = some["table"]["value"].set_index("model")
    marked = set(zip(sig["model"], sig["task"]))
    assert all(cells.loc[m, t].endswith(("≈", ">", "<")) for m, t in marked)
    plain = h.leaderboard_view(**{**defaults, "search": "random", "markers": False})["table"]["value"].set_index("model")
    assert not any(plain.loc[m, t].endswith(("≈", ">", "<")) for m, t in marked)


def test_the_decision_says_it_is_being_computed_until_the_draws_are_ready(sample, tmp_path, monkeypatch):
    from webapp.board import CONTROLS
    from webapp.handlers import Handlers
    from webapp.source import resolve_source
    from webapp.state import AppState

    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cold"))  # nothing cached
    h = Handlers(AppState(resolve_source(sample)), tmp_path, 3)
    defaults = {c.name: c.default for c in CONTROLS}
    first = h.first_paint(**defaults)
    assert "being computed" in first["decision"] and "being computed" in first["note"]
    assert not [c for c in first["table"]["value"].columns if "P(best)" in c] and first["significance"].empty
    h.warm_decision()
    after = h.first_paint(**defaults)  # the page's redraw after warm_decision
    assert "pick **minilm-l6-h384**" in after["decision"] and "being computed" not in after["note"]


def test_a_folder_without_predictions_shows_no_decision(sample, tmp_path):
    from webapp.board import CONTROLS
    from webapp.handlers import Handlers
    from webapp.source import resolve_source
    from webapp.state import AppState

    root = tmp_path / "no-preds"
    shutil.copytree(sample, root, ignore=shutil.ignore_patterns(".leaderboard-index.json", "*.predictions.jsonl.gz"))
    h = Handlers(AppState(resolve_source(root)), tmp_path, 3)
    got = h.leaderboard_view(**{**{c.name: c.default for c in CONTROLS}, "task_decision": True})
    assert "no decision" in got["decision"] and "pick" not in got["decision"]
    by_row = got["table"]["value"].set_index("model")
    assert set(by_row["demo P(best)"]) == {"—"} and set(by_row["demo_ner rank 95%"]) == {"—"}
    assert got["significance"].empty


def test_a_click_on_a_decision_column_opens_its_task():
    from leaderboard.filters import column_task

    tasks = ["demo_ner", "demo_qa"]
    assert column_task("demo_qa", tasks) == "demo_qa" and column_task("demo_ner P(best)", tasks) == "demo_ner"
    assert column_task("demo_qa rank 95%", tasks) == "demo_qa"
    assert column_task("demo avg", tasks) is None and column_task("demo P(best)", tasks) is None


def test_playground_and_compare_offer_trained_checkpoints_first_and_no_button_without_any(board):
    """With no checkpoint (the bundled sample) Predict and Compare are off and say why; checkpoint lists put the
    untrained baselines last, so what is preselected is a trained model."""
    import pandas as pd

    from webapp.handlers import trained_first

    h, _ = board
    task = h.state.view.data.tasks[0]
    pg, cmp = h.playground_task(task), h.compare_task(task)
    assert pg["run"].interactive is False and cmp["run"].interactive is False
    assert "No checkpoint of this task" in pg["caveat"] and "No checkpoint of this task" in cmp["caveat"]
    table = pd.DataFrame({"row": ["a (untrained)", "b", "c (untrained)", "d"], "untrained": [True, False, True, False]})
    assert trained_first(table, ["a (untrained)", "b", "c (untrained)", "d"]) == ["b", "d", "a (untrained)",
                                                                                   "c (untrained)"]


def test_the_playground_shows_only_the_views_a_kind_fills(board):
    """Class probabilities for classification and multiple choice, spans for NER and extractive QA, neither for
    regression (TaskKind.playground_views): no empty 'class probabilities' box under an entity or answer."""
    from harness.kinds import get_kind

    h, _ = board
    info = h.state.view.data.task_info
    seen = set()
    for task in h.state.view.data.tasks:
        kind = info[task]["kind"]
        got = h.playground_task(task)
        views = get_kind(kind).playground_views
        assert got["label"].visible == ("label" in views) and got["spans"].visible == ("highlight" in views), task
        seen.add((kind, got["label"].visible, got["spans"].visible))
    assert ("ner", False, True) in seen and ("extractive_qa", False, True) in seen and ("single_cls", True, False) in seen
    assert ("regression", False, False) in seen
