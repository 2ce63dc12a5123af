"""The app's results source (webapp/source.py): --results / RESULTS parsing and precedence, refresh without a
restart, Hub results through the HfApi stand-in (in-process) and through real huggingface_hub against a local server
(one subprocess), pushed checkpoints loaded through checkpoints.json, an unreadable source: tests/test_bad_input.py."""
from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

from harness.errors import HarnessError
from webapp import source
from webapp.source import SAMPLE, ResultsSource, parse_results, resolve_source

REPO = Path(__file__).resolve().parents[1]
V1 = REPO / "tests/fixtures/v1"
SENT = "minilm-l6-h384/py-0.1.0/demo_sentiment/finetune/c04919808340"
NER = "minilm-l6-h384/py-0.1.0/demo_ner/finetune/ae3caa6588f8"
CKPT_SENT, CKPT_NER = f"checkpoints/{SENT}/seed42", f"checkpoints/{NER}/seed42"


# ------------------------------------------------------------------ parsing and precedence

def test_parse_results_forms():
    assert parse_results("outputs/demo") == ResultsSource("local", path=Path("outputs/demo"))
    assert parse_results("hf://datasets/org/res") == ResultsSource("hub", repo_id="org/res")
    hub = parse_results("hf://datasets/org/res@v1.2")
    assert (hub.repo_id, hub.revision) == ("org/res", "v1.2") and hub.label("a" * 40) == \
        "hf://datasets/org/res@v1.2 @ aaaaaaa"
    bad = {"": "empty value", "hf://models/org/x": "hf://datasets/...", "hf://datasets/org": "ORG/NAME",
           "hf://datasets/org/x@": "expected a results folder or hf://datasets",
           "https://huggingface.co/datasets/org/x": "did you mean 'hf://datasets/org/x'",
           "hf://datasets/org/x y": "expected", str(V1 / "README.md"): "is a file"}
    for text, needle in bad.items():
        with pytest.raises(HarnessError) as e:
            parse_results(text, "RESULTS")
        line = str(e.value)
        assert "\n" not in line and line.startswith("RESULTS: ") and needle in line, (text, line)


def test_precedence_and_one_deprecation_warning(monkeypatch, caplog):
    monkeypatch.setattr(source, "_warned", set())
    env = {"RESULTS": "hf://datasets/a/new", "HARNESS_RESULTS_REPO": "a/old", "HARNESS_RESULTS_DIR": "old/dir"}
    assert resolve_source("here", env) == ResultsSource("local", path=Path("here"))
    assert resolve_source(None, env).repo_id == "a/new"
    with caplog.at_level(logging.WARNING, logger="webapp.source"):
        del env["RESULTS"]
        assert resolve_source(None, env) == ResultsSource("hub", repo_id="a/old")
        assert resolve_source(None, env) == ResultsSource("hub", repo_id="a/old")  # warned once
        assert resolve_source(None, {**env, "HARNESS_RESULTS_REPO_TYPE": "model"}) == \
            ResultsSource("hub", repo_id="a/old", repo_type="model")
        del env["HARNESS_RESULTS_REPO"]
        assert resolve_source(None, env) == ResultsSource("local", path=Path("old/dir"))
    warned = [r.getMessage() for r in caplog.records]
    assert len([w for w in warned if w.startswith("HARNESS_RESULTS_REPO is deprecated")]) == 1
    assert any("RESULTS=hf://datasets/a/old" in w for w in warned)
    assert any(w.startswith("HARNESS_RESULTS_DIR is deprecated") for w in warned)
    assert resolve_source(None, {}) == SAMPLE
    with pytest.raises(HarnessError, match="^RESULTS: expected"):
        resolve_source(None, {"RESULTS": "hf://spaces/a/b"})


def test_app_command_line(monkeypatch):
    from app import build_parser

    args = build_parser().parse_args(["--results", "hf://datasets/org/res@main"])
    assert args.results == ResultsSource("hub", repo_id="org/res", revision="main") and args.refresh_minutes == 0
    monkeypatch.setenv("RESULTS_REFRESH_MINUTES", "2.5")
    assert build_parser().parse_args([]).refresh_minutes == 2.5 and build_parser().parse_args([]).results is None


# ------------------------------------------------------------------ app helpers

@pytest.fixture(autouse=True)
def sample_dir(monkeypatch, tmp_path_factory):
    """A copy of the bundled sample (reading a folder writes the leaderboard's index into it)."""
    from webapp import sample

    real = sample.SAMPLE_DIR
    monkeypatch.setattr(sample, "SAMPLE_DIR", tmp_path_factory.mktemp("sample") / "sample")
    shutil.copytree(real, sample.SAMPLE_DIR, ignore=shutil.ignore_patterns(".leaderboard-index.json"))
    monkeypatch.setattr(source, "_downloads", {})
    return sample.SAMPLE_DIR


def _fn(demo, name):
    return next(f for f in demo.fns.values() if getattr(f.fn, "__name__", "") == name)


SKIP = {"__type__": "update"}


def _call(demo, name, shown=0):
    """Call a refresh handler as a page showing data version ``shown`` with its initial values; outputs by elem_id
    or label ('shown': the version the page shows after it)."""
    fn = _fn(demo, name)
    args = [shown] + [getattr(c, "value", None) for c in fn.inputs[1:]]
    out = fn.fn(*args)  # {component: update}; a component left out is not updated
    keys = ["shown"] + [c.elem_id or getattr(c, "label", None) or str(c._id) for c in fn.outputs[1:]]
    return {k: out.get(c, SKIP) for k, c in zip(keys, fn.outputs)}


def _table(out):
    """The board's table in a refresh's outputs: an update (webapp.handlers.linked) holding it as its value."""
    t = out["lb-table"]
    return t["value"] if isinstance(t, dict) else t


def _models(out) -> list[str]:
    return sorted(_table(out)["model"])


def _clone_record(root: Path, model: str) -> None:
    """A copy of the v1 sentiment result under another model name."""
    rec = json.loads((root / "results" / SENT / "seed42.json").read_text(encoding="utf-8"))
    rec["job"]["model"] = model
    dest = root / "results" / model / "py-0.1.0/demo_sentiment/finetune/c04919808340/seed42.json"
    dest.parent.mkdir(parents=True)
    dest.write_text(json.dumps(rec), encoding="utf-8")


def test_refresh_picks_up_a_new_result_without_a_rebuild(tmp_path):
    import gradio as gr

    from webapp.build import build_app

    root = tmp_path / "out"
    shutil.copytree(V1 / "output", root)
    demo = build_app(root)
    refresh = _fn(demo, "refresh_results")
    assert _call(demo, "refresh_results")["shown"] == SKIP  # nothing changed: every update skipped
    assert demo.app_state.view.version == 0
    _clone_record(root, "newcomer")
    out = _call(demo, "refresh_results")
    assert out["shown"] == 1 and "3 result file(s)" in out["header"] and "newcomer" in _models(out)
    assert "newcomer" in _table(out)["model"].tolist()
    api = {f.api_name: f.fn for f in demo.fns.values() if f.api_name == "leaderboard"}["leaderboard"]
    table = api([], [], [], [], None, None, "newcomer", [], None, True, False)[0]["value"]  # an update
    assert table["model"].tolist() == ["newcomer"]  # the API reads the new data too
    # a page still showing version 0 catches up on load; one showing version 1 gets no redraw
    assert _call(demo, "catch_up")["shown"] == 1
    again = _call(demo, "catch_up", shown=1)
    assert again["header"] == SKIP
    assert refresh in demo.fns.values() and not [f for f in demo.fns.values() if getattr(f.fn, "__name__", "") == "refresh_tick"]
    timed = build_app(root, refresh_minutes=5)  # the interval: a timer whose ticks run the same redraw
    timers = [b for b in timed.blocks.values() if isinstance(b, gr.Timer)]
    assert [t.value for t in timers] == [300] and _call(timed, "refresh_tick")["shown"] == SKIP


# ------------------------------------------------------------------ Hub results (stand-in, in-process)

def _checkpoint(folder: Path) -> Path:
    """The v1 sentiment checkpoint with weights rebuilt from its config (a loadable pushed checkpoint)."""
    from transformers import AutoConfig, AutoModelForSequenceClassification

    shutil.copytree(V1 / "checkpoint", folder)
    AutoModelForSequenceClassification.from_config(AutoConfig.from_pretrained(str(folder))).save_pretrained(folder)
    return folder


def fill_hub(hub, tmp: Path) -> Path:
    """org/results (the v1 results, both records naming a checkpoint, only the sentiment one pushed, plus files the
    app must not download) and org/ckpt-sent (the checkpoint). Returns the local results folder."""
    from huggingface_hub import CommitOperationAdd

    local = tmp / "local"
    shutil.copytree(V1 / "output", local, ignore=shutil.ignore_patterns(".leaderboard-index.json"))
    for rel, ck in ((SENT, CKPT_SENT), (NER, CKPT_NER)):
        path = local / "results" / rel / "seed42.json"
        rec = json.loads(path.read_text(encoding="utf-8"))
        rec["checkpoint"] = ck
        path.write_text(json.dumps(rec), encoding="utf-8")
    ckpt = _checkpoint(tmp / "ckpt")
    hub.create_repo("org/ckpt-sent", "model")
    sha = hub.commit("org/ckpt-sent", "model", [CommitOperationAdd(p.name, str(p)) for p in ckpt.iterdir()], "ckpt")
    mapping = {"format": 1, "checkpoints": {CKPT_SENT: {"repo_id": "org/ckpt-sent", "revision": sha,
                                                         "kind": "model", "base_model": None}}}
    (local / "checkpoints.json").write_text(json.dumps(mapping), encoding="utf-8")
    extra = {"README.md": "card", "notes.txt": "x", f"results/{SENT}/notes.txt": "x",
             f"{CKPT_SENT}/model.safetensors": "not a checkpoint the app may fetch"}
    ops = [CommitOperationAdd(p.relative_to(local).as_posix(), str(p)) for p in local.rglob("*") if p.is_file()]
    ops += [CommitOperationAdd(k, v.encode()) for k, v in extra.items()]
    hub.create_repo("org/results", "dataset")
    hub.commit("org/results", "dataset", ops, "results")
    return local


@pytest.fixture
def stub_hub(monkeypatch, tmp_path):
    from hub_stub import FolderHub, stub_api

    hub = FolderHub(tmp_path / "hub")
    local = fill_hub(hub, tmp_path)
    api = stub_api(hub)
    monkeypatch.setattr("harness.publish.api.get_api", lambda: api)
    return hub, api, local


def test_hub_results_checkpoints_and_refresh(stub_hub, monkeypatch):
    from huggingface_hub import CommitOperationAdd

    from webapp.build import build_app
    from leaderboard.data import load_app_data

    hub, api, local = stub_hub
    demo = build_app("hf://datasets/org/results")
    view = demo.app_state.view
    sha = hub.resolve("org/results", "dataset")
    assert view.label == f"hf://datasets/org/results @ {sha[:7]}" and not view.message and not view.sample
    assert view.data.table.to_json() == load_app_data(local).table.to_json()
    got = sorted(p.relative_to(view.data.root).as_posix() for p in view.data.root.rglob("*") if p.is_file())
    assert "checkpoints.json" in got and not [p for p in got if p.endswith((".txt", ".md", ".safetensors"))], got
    pg = view.pg
    sent, ner = (next(iter(view.data.checkpoints[t])) for t in ("demo_sentiment", "demo_ner"))
    assert "downloading org/ckpt-sent" in pg.pending("demo_sentiment", sent)
    out, _ = pg.predict("demo_sentiment", sent, "the food was great")
    assert out["text"].startswith("prediction:") and pg.pending("demo_sentiment", sent) == ""
    from webapp.playground import InputError

    with pytest.raises(InputError, match="is not published"):
        pg.predict("demo_ner", ner, "张伟在北京")
    downloads = api.snapshot_download.call_count
    assert _call(demo, "refresh_results")["shown"] == SKIP  # the revision has not moved
    assert api.snapshot_download.call_count == downloads
    hub.commit("org/results", "dataset", [CommitOperationAdd(
        "results/late/py-0.1.0/demo_sentiment/finetune/c04919808340/seed42.json",
        (local / "results" / SENT / "seed42.json").read_text().replace('"minilm-l6-h384"', '"late"').encode())],
        "one more")
    out = _call(demo, "refresh_results")
    assert out["shown"] == 1 and "late" in _models(out) and hub.resolve("org/results", "dataset")[:7] in out["header"]
    # the Hub goes away: the last good results stay, with a line; back: the line goes
    from hub_stub import stub_api

    offline = stub_api(hub, online=False)
    monkeypatch.setattr("harness.publish.api.get_api", lambda: offline)
    out = _call(demo, "refresh_results", shown=1)
    assert out["shown"] == 2 and "refresh failed" in out["problems"] and "cannot reach" in out["problems"]
    assert "late" in _models(out) and not demo.app_state.view.sample
    monkeypatch.setattr("harness.publish.api.get_api", lambda: api)
    out = _call(demo, "refresh_results", shown=2)
    assert out["shown"] == 3 and "refresh failed" not in out["problems"]


# ------------------------------------------------------------------ real huggingface_hub against a local server

def test_app_reads_published_results_with_real_huggingface_hub(tmp_path):
    from hub_stub import FolderHub, hub_subprocess, serve

    from leaderboard.data import load_app_data
    from leaderboard.result_files import INDEX_NAME

    hub = FolderHub(tmp_path / "hub")
    local = fill_hub(hub, tmp_path)
    code = """if True:
        import json
        from pathlib import Path
        from webapp.build import build_app
        view = build_app("hf://datasets/org/results").app_state.view
        label = next(iter(view.data.checkpoints["demo_sentiment"]))
        out, _ = view.pg.predict("demo_sentiment", label, "the food was great")
        home = Path(__import__("os").environ["HF_HOME"])
        files = sorted(p.relative_to(home).as_posix() for p in home.rglob("*") if p.is_file() or p.is_symlink())
        print(json.dumps({"label": view.label, "message": view.message, "table": view.data.table.to_json(),
                          "prediction": out["text"], "files": files}))
    """
    with serve(hub.root) as endpoint:
        proc = hub_subprocess(code, endpoint, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["label"].startswith("hf://datasets/org/results @ ") and not got["message"]
    assert got["table"] == load_app_data(local).table.to_json()
    assert got["prediction"].startswith("prediction:")
    # in the results snapshot: exactly the records, predictions, logs and mapping (and the index the app writes)
    fetched = sorted(f.split("/snapshots/", 1)[1].split("/", 1)[1] for f in got["files"]
                     if f.startswith("hub/datasets--org--results/snapshots/"))
    pushed = ["checkpoints.json", *(p.relative_to(local).as_posix() for p in (local / "results").rglob("seed*"))]
    assert [f for f in fetched if f != INDEX_NAME] == sorted(pushed), fetched
    assert any("models--org--ckpt-sent" in f and f.endswith("model.safetensors") for f in got["files"])


def test_app_help_names_every_tab():
    """app.py --help lists the tabs the app mounts (webapp.build.TABS), not a hand-kept subset."""
    from app import build_parser
    from webapp.build import TABS

    text = " ".join(build_parser().format_help().split())
    assert all(title in text for title, _id, _mount in TABS) and len(TABS) == 5
