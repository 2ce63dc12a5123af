"""Push, then the app from the Hub: the tiny results pushed through the HfApi stand-in into a folder-backed Hub, read
back by the app's Hub source through real huggingface_hub against a local endpoint on 127.0.0.1, show the same
leaderboard and checkpoints as the local folder, and a pushed checkpoint predicts what the local one predicts.

The read side runs in a subprocess: huggingface_hub reads HF_ENDPOINT and offline mode at import, and the test
command sets offline mode."""
from __future__ import annotations

import json

import pytest

from app_fixtures import tiny_results  # noqa: F401 - fixture
from harness.publish.push import push
from hub_stub import FolderHub, hub_subprocess, serve
from leaderboard.data import load_app_data
from webapp.playground import Playground

TASK, TEXT = "demo_sentiment", "a fine, warm film"

READ_BACK = """
import json, sys
from webapp.source import parse_results
from webapp.state import AppState
view = AppState(parse_results("hf://datasets/org/results")).view
out, _ = view.pg.predict(sys.argv[1], sys.argv[2], sys.argv[3])
print(json.dumps({"label": view.label, "message": view.message, "sample": view.sample,
                  "table": view.data.table.to_json(orient="split"), "checkpoints": view.data.checkpoints,
                  "files": sorted(p.relative_to(view.data.root).as_posix() for p in view.data.root.rglob("*")
                                  if p.is_file() and not p.name.startswith(".")),
                  "prediction": out}))
"""


def test_push_then_the_app_reads_the_hub(tiny_results, tmp_path, monkeypatch):
    from hub_stub import stub_api

    hub = FolderHub(tmp_path / "hub")
    api = stub_api(hub)
    monkeypatch.setattr("harness.publish.api.get_api", lambda: api)
    push(tiny_results, "org/results", license="apache-2.0")

    local = load_app_data(tiny_results)
    label = sorted(local.checkpoints[TASK])[0]
    want, _ = Playground(local).predict(TASK, label, TEXT)
    argv = f"import sys; sys.argv = ['x', {TASK!r}, {label!r}, {TEXT!r}]\n"
    with serve(hub.root) as url:
        proc = hub_subprocess(argv + READ_BACK, url, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])

    assert got["message"] == "" and not got["sample"]
    assert got["label"].startswith("hf://datasets/org/results @ ")
    assert got["table"] == local.table.to_json(orient="split")  # the same leaderboard, cell for cell
    assert {t: sorted(ls) for t, ls in got["checkpoints"].items()} == \
        {t: sorted(ls) for t, ls in local.checkpoints.items()}
    # only results, predictions, logs, the tables and the mapping came down (no checkpoint in the results repo)
    assert got["files"] and all(f.startswith("results/") or f in ("leaderboard.csv", "leaderboard.md",
                                                                  "checkpoints.json") for f in got["files"])
    pred = got["prediction"]
    assert pred["text"] == want["text"]
    assert pred["label"] == pytest.approx(want["label"], abs=1e-5)
