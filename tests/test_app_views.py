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
    assert linked(shown, view.links) is shown
    update = linked(shown, {"minilm-l6-h384": "https://huggingface.co/org/m/tree/main"})
    assert update.value["data"][0][0].startswith("[minilm-l6-h384](https://huggingface.co/org/m/tree/main)")
    assert update.datatype[0] == "markdown"


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
