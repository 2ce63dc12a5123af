"""Unit tests of the app's pure modules (leaderboard/filters, significance, plots, compare, playground, data)
and harness/checkpoint.py, over a tiny results folder made by the harness CLI."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from app_fixtures import sig_results, tiny_results  # noqa: F401 - fixtures
from harness.checkpoint import load_checkpoint
from harness.errors import HarnessError
from harness.kinds.ner import entity_spans
from harness.text import split_tokens
from leaderboard.compare import disagreements, right_choices
from leaderboard.data import inside_results, load_app_data
from leaderboard.filters import Filters, caveats_markdown, choices, filter_table
from leaderboard.significance import significance_table
from webapp.playground import (MAX_CHARS, CheckpointCache, InputError, Playground, build_example, example_inputs,
                               run_compare)
from webapp.plots import model_points, pareto_mask, score_scatter, score_vs_params, task_bars


@pytest.fixture(scope="module")
def data(tiny_results):
    return load_app_data(tiny_results)


@pytest.fixture(scope="module")
def sig_data(sig_results):
    return load_app_data(sig_results)


# ------------------------------------------------------------------ data

def test_app_data_reads_results(data):
    assert not data.loaded.problems
    assert data.tasks == ["demo_ner", "demo_qa", "demo_sentiment"]
    assert set(data.table["model"]) == {"tiny-bert", "tiny-ernie", "tiny-albert", "tiny-t5"}
    # T5 runs no NER: its sentiment and (generative) QA checkpoints are listed, no NER one
    assert any(k.startswith("tiny-t5") for k in data.checkpoints["demo_sentiment"])
    assert any(k.startswith("tiny-t5") for k in data.checkpoints["demo_qa"])
    assert not any(k.startswith("tiny-t5") for k in data.checkpoints["demo_ner"])
    info = data.task_info["demo_sentiment"]
    assert info["license"].startswith("Apache") and info["caveats"]


def test_bad_result_files_are_reported_not_fatal(tiny_results, tmp_path):
    root = tmp_path / "out"
    shutil.copytree(tiny_results / "results", root / "results")
    files = sorted((root / "results").rglob("seed1.json"))
    files[0].write_text("{ not json", encoding="utf-8")
    rec = json.loads(files[1].read_text(encoding="utf-8"))
    rec["schema_version"] = 99
    files[1].write_text(json.dumps(rec), encoding="utf-8")
    d = load_app_data(root)
    assert not d.loaded.problems  # both name their cells: shown there as failed runs, not only logged
    assert sorted(f["kind"] for f in d.loaded.failures) == ["damaged", "unreadable"]
    assert any("schema_version 99" in f["error"] for f in d.loaded.failures)
    reasons = [str(v) for c in d.table.columns if c.endswith("_failed_reason") for v in d.table[c].dropna()]
    assert any(r.startswith("damaged:") for r in reasons) and any(r.startswith("unreadable (newer") for r in reasons)
    assert not d.table.empty
    empty = load_app_data(tmp_path / "nothing")
    assert empty.table.empty and empty.tasks == [] and "not found" in empty.loaded.problems[0]
    shown, hidden = filter_table(empty.table, empty.task_info, Filters())
    assert shown.empty and hidden == 0


# ------------------------------------------------------------------ filters

def test_filters_family_search_params_and_hidden_count(data):
    shown, hidden = filter_table(data.table, data.task_info, Filters())
    assert len(shown) == 4 and hidden == 0
    assert {"demo_ner", "demo_qa", "demo_sentiment", "demo avg"} <= set(shown.columns)
    shown, hidden = filter_table(data.table, data.task_info, Filters(families=["bert", "ernie"]))
    assert set(shown["model"]) == {"tiny-bert", "tiny-ernie"} and hidden == 2
    shown, hidden = filter_table(data.table, data.task_info, Filters(search="T5"))
    assert list(shown["model"]) == ["tiny-t5"] and hidden == 3
    big = data.table["parameters"].max() / 1e6
    shown, hidden = filter_table(data.table, data.task_info, Filters(min_params_m=big))
    assert len(shown) == 1 and hidden == 3
    shown, hidden = filter_table(data.table, data.task_info, Filters(languages=["zh"]))
    assert shown.empty and hidden == 4  # the demo tasks are bilingual ("multi")


def test_filters_columns_sort_and_markers(data):
    f = Filters(columns=["method", "max UNK rate"], sort_by="parameters", descending=False,
                markers={("tiny-bert", "demo_ner"): "≈"})
    shown, _ = filter_table(data.table, data.task_info, f)
    assert "method" in shown and "max UNK rate" in shown and "family" not in shown
    params = data.table.set_index("model").loc[[m.replace(" (untrained)", "") for m in shown["model"]],
                                               "parameters"]
    assert list(params) == sorted(params)
    cell = shown.set_index("model").loc["tiny-bert", "demo_ner"]
    assert cell.endswith("≈") and "±" in cell and "(n=2)" in cell
    assert shown.set_index("model").loc["tiny-t5", "demo_ner"] == "—"
    c = choices(data.table, data.task_info)
    assert c["benchmarks"] == ["demo"] and "demo avg" in c["sort_by"]
    assert "synthetic" in caveats_markdown(data.task_info)


# ------------------------------------------------------------------ significance

def test_significance_table_covers_all_tasks(data):
    sig = significance_table(data)
    assert set(sig["task"]) == {"demo_ner", "demo_qa", "demo_sentiment"}
    assert set(sig["method"]) <= {"per-example", "entity counts", "confusion counts", "correlation", "metric"}
    assert sig["p_value"].between(0, 1).all()


# ------------------------------------------------------------------ plots

def test_pareto_front_points():
    pts = pd.DataFrame({"model": list("abcd"), "untrained": [False] * 4, "score": [50, 60, 55, 70],
                        "parameters": [1e6, 2e6, 3e6, 4e6], "latency_ms": [1.0, 5.0, 2.0, 10.0]})
    assert list(pareto_mask(pts, "parameters")) == [True, True, False, True]
    assert list(pareto_mask(pts, "latency_ms")) == [True, True, True, True]
    fig = score_scatter(pts, "parameters", "t", "params")
    front = next(t for t in fig.data if t.name == "Pareto front")
    assert list(front.x) == [1e6, 2e6, 4e6] and list(front.y) == [50, 60, 70]


def test_plots_from_results(data):
    pts = model_points(data.agg, data.table, "demo_sentiment")
    assert len(pts) == 4 and pts["latency_ms"].notna().all()
    fig = score_vs_params(pts, "demo_sentiment")
    # one trace per method (the legend names it), the untrained baselines' key, the front
    key = {"untrained baseline (open marker)"} if pts["untrained"].fillna(False).any() else set()
    assert {t.name for t in fig.data} == {*set(pts["method"]), *key, "Pareto front"}
    bars = task_bars(data.agg, "demo_ner")
    drawn = [t for t in bars.data if t.type == "bar"]
    assert len(drawn) == 1 and len(drawn[0].error_y.array) == 3
    keys = {t.name for t in bars.data if t.type != "bar"}  # legend entries only: what colours and hatching mean
    hatched = {"untrained baseline (hatched)"} if data.agg[data.agg.task == "demo_ner"]["untrained"].fillna(
        False).any() else set()
    assert keys == {*set(data.agg[data.agg.task == "demo_ner"]["method"]), *hatched}
    assert len(model_points(data.agg, data.table, "demo")) == 3  # t5 has no complete demo average


# ------------------------------------------------------------------ compare

def test_compare_disagreements(sig_data):
    labels = {k.split(" ")[0]: k for k in sig_data.checkpoints["demo_sentiment"]}
    chosen = [labels["oracle"], labels["tiny-t5"]]
    table, summary = disagreements(sig_data, "demo_sentiment", chosen)
    assert len(table) > 0 and "shared test examples" in summary
    assert list(table.columns) == ["id", "input", "gold", *chosen]
    assert table[chosen[0]].str.startswith("✓").all()  # the oracle is always right
    only, _ = disagreements(sig_data, "demo_sentiment", chosen, f"only {chosen[1]} right")
    assert only.empty
    none, _ = disagreements(sig_data, "demo_sentiment", chosen, "none right")
    assert none.empty
    assert f"only {chosen[0]} right" in right_choices(chosen)
    same, _ = disagreements(sig_data, "demo_sentiment", [labels["twin"], labels["tiny-bert"]])
    assert same.empty
    with pytest.raises(InputError, match="2 to 4"):
        disagreements(sig_data, "demo_sentiment", chosen[:1])


def test_compare_run_latency(data):
    pg = Playground(data)
    labels = list(data.checkpoints["demo_sentiment"])[:2]
    out = run_compare(pg, "demo_sentiment", labels, "the food was great")
    assert list(out["checkpoint"]) == labels and (out["latency ms"] > 0).all()
    assert out["prediction"].str.startswith("prediction:").all()


# ------------------------------------------------------------------ playground

def test_input_validation():
    with pytest.raises(InputError, match="empty"):
        build_example("single_cls", "   ")
    with pytest.raises(InputError, match="at most"):
        build_example("single_cls", "x" * (MAX_CHARS + 1))
    with pytest.raises(InputError, match="text_b"):
        build_example("pair_cls", "a", "")
    assert build_example("ner", "张伟在北京 works")["tokens"] == ["张", "伟", "在", "北", "京", "works"]
    assert build_example("extractive_qa", "ctx", "q?") == {"id": "playground", "context": "ctx", "question": "q?"}
    assert split_tokens("Alice lives in Paris.") == ["Alice", "lives", "in", "Paris."]
    assert entity_spans(["张", "伟", "在", "北", "京"], ["B-person", "I-person", "O", "B-location", "I-location"]) \
        == [("张伟", "person"), ("在 ", None), ("北京", "location")]


def test_cache_is_bounded():
    loads = []
    cache = CheckpointCache(maxsize=2, loader=lambda p: loads.append(p) or (p, p))
    for name in ["a", "b", "a", "c", "b"]:
        cache.get(name)
    assert len(cache) == 2 and [p.name for p in loads] == ["a", "b", "c", "b"]


def test_cache_loads_a_checkpoint_once_under_concurrent_first_uses():
    import threading
    import time

    loads = []

    def slow(p):
        loads.append(p)
        time.sleep(0.05)
        return p, p
    cache = CheckpointCache(maxsize=2, loader=slow)
    threads = [threading.Thread(target=cache.get, args=(name,)) for name in ["a"] * 6 + ["b"] * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(p.name for p in loads) == ["a", "b"] and len(cache) == 2


def test_playground_predicts_every_kind(data):
    pg = Playground(data, CheckpointCache(maxsize=2))
    for task in data.tasks:
        ex = example_inputs(data, task, 3)
        assert len(ex) == 3 and ex[0][0]
        for label in data.checkpoints[task]:
            out, ms = pg.predict(task, label, *ex[0])
            assert ms > 0 and out["text"]
            if task == "demo_ner":
                assert out["highlight"] is not None
            if task == "demo_qa":
                assert any(lab == "answer" for _, lab in out["highlight"]) or "no span" in out["text"] \
                    or "not a span of the context" in out["text"]
    assert len(pg.cache) == 2


def test_playground_refuses_unlisted_and_missing(tiny_results, tmp_path):
    data = load_app_data(tiny_results)
    pg = Playground(data)
    with pytest.raises(InputError, match="not listed"):
        pg.predict("demo_sentiment", str(tiny_results / "checkpoints"), "hello")
    with pytest.raises(InputError, match="not listed"):
        pg.predict("demo_sentiment", "../../etc", "hello")
    root = tmp_path / "out"
    shutil.copytree(tiny_results, root)
    d2 = load_app_data(root)
    label, rel = next(iter(d2.checkpoints["demo_ner"].items()))
    shutil.rmtree(root / rel)
    with pytest.raises(InputError, match="missing on disk"):
        Playground(d2).predict("demo_ner", label, "张伟在北京")


def test_inside_results():
    root = "/srv/out"
    assert inside_results(root, "checkpoints/m/main/t/finetune/h/seed1")
    assert inside_results(root, "checkpoints/../checkpoints/a")
    for rel in ("../x", "../../x", "checkpoints/../../x", "/etc", "/srv/out/checkpoints/a", "", "C:\\x"):
        assert not inside_results(root, rel), rel


def test_a_link_inside_the_results_folder_that_points_out_is_outside(tmp_path):
    """Links are followed: a checkpoint path that is a symlink inside the results folder pointing outside it, or a
    checkpoint folder holding a file that links outside, is outside; links that stay inside are fine."""
    root, outside = tmp_path / "out", tmp_path / "elsewhere"
    (root / "checkpoints" / "real").mkdir(parents=True)
    (root / "checkpoints" / "real" / "config.json").write_text("{}")
    outside.mkdir()
    (outside / "model.safetensors").write_text("x")
    (root / "checkpoints" / "out-link").symlink_to(outside, target_is_directory=True)
    (root / "checkpoints" / "in-link").symlink_to(root / "checkpoints" / "real", target_is_directory=True)
    leaky = root / "checkpoints" / "leaky"
    leaky.mkdir()
    (leaky / "model.safetensors").symlink_to(outside / "model.safetensors")
    assert inside_results(root, "checkpoints/real") and inside_results(root, "checkpoints/in-link")
    assert not inside_results(root, "checkpoints/out-link")
    assert not inside_results(root, "checkpoints/leaky")


def test_playground_refuses_checkpoints_outside_the_results_folder(tiny_results, tmp_path):
    """A result file's checkpoint field pointing outside the results folder ('../x' or absolute) is listed but
    refused with a line saying why, and nothing is loaded, even when a loadable checkpoint is there."""
    root = tmp_path / "out"
    shutil.copytree(tiny_results / "results", root / "results")
    listed = load_app_data(tiny_results).checkpoints["demo_sentiment"]
    outside = tmp_path / "elsewhere"
    shutil.copytree(tiny_results / next(iter(listed.values())), outside)  # a real checkpoint, outside
    points = {"tiny-bert": "../elsewhere", "tiny-ernie": str(outside)}
    for rfile in (root / "results").rglob("seed*.json"):
        rec = json.loads(rfile.read_text(encoding="utf-8"))
        if rec.get("job", {}).get("task") == "demo_sentiment" and rec["job"]["model"] in points:
            rec["checkpoint"] = points[rec["job"]["model"]]
            rfile.write_text(json.dumps(rec), encoding="utf-8")
    d = load_app_data(root)
    loads = []
    pg = Playground(d, CheckpointCache(loader=lambda p: loads.append(p) or (None, None)))
    for model, rel in points.items():
        label = next(k for k in d.checkpoints["demo_sentiment"] if k.startswith(model + " "))
        with pytest.raises(InputError, match="refused: its result file points outside the results folder"):
            pg.predict("demo_sentiment", label, "hello")
        with pytest.raises(InputError, match="outside the results folder"):
            pg.predict("demo_sentiment", rel, "hello")  # the listed path typed as a choice
    assert loads == []


def test_load_checkpoint_errors(data, tmp_path):
    rel = next(iter(data.checkpoints["demo_sentiment"].values()))
    adapter, model = load_checkpoint(data.root / rel)
    assert adapter.task.name == "demo_sentiment" and next(model.parameters()).device.type == "cpu"
    with pytest.raises(HarnessError, match="does not exist"):
        load_checkpoint(tmp_path / "nope")
    broken = tmp_path / "broken"
    shutil.copytree(data.root / rel, broken)
    (broken / "harness_job.json").unlink()
    with pytest.raises(HarnessError, match="harness_job.json"):
        load_checkpoint(broken)
