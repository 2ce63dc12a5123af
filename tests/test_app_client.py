"""Drive each tab's functions through gradio_client against the app served in a thread on a free port."""
from __future__ import annotations


import pytest

from app_fixtures import free_port, tiny_results  # noqa: F401 - fixture

gr = pytest.importorskip("gradio")
gradio_client = pytest.importorskip("gradio_client")


@pytest.fixture(scope="module")
def served(tiny_results):
    from webapp.build import build_app

    demo = build_app(tiny_results, concurrency=4)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    client = gradio_client.Client(f"http://127.0.0.1:{port}/", verbose=False)
    yield demo, client
    demo.close()


def _headers(df) -> set[str]:
    return set(df.get("value", df)["headers"])


def _rows(df) -> list[dict]:
    df = df.get("value", df)  # the board's table comes as an update (its value, datatype and column widths)
    return [dict(zip(df["headers"], r)) for r in df["data"]]


def test_leaderboard_endpoint(served):
    _, client = served
    table, note, csv, sig, caveats, dec = client.predict([], [], ["bert", "t5"], [], None, None, "", ["family"],
                                                         "model", False, True, api_name="/leaderboard")
    models = [r["model"] for r in _rows(table)]
    assert models == ["tiny-bert", "tiny-t5"]
    assert "2 model(s) shown, 2 hidden" in note and "≈" in note
    # the decision (a new last output) and its columns (a new last control, on by default) are the view's: these two
    # rows, and the significance rows compare only them
    assert "2 row(s) shown" in dec and "pick **" in dec and "tiny-ernie" not in dec
    headers = _headers(table)
    assert {"demo P(best)", "demo rank 95%"} <= headers and "demo_ner P(best)" not in headers  # averages' only
    assert {r["model"] for r in _rows(sig)} | {r["next_model"] for r in _rows(sig)} <= {"tiny-bert", "tiny-t5"}
    import pandas as pd

    frame = pd.read_csv(csv)  # the filtered view as numbers: leaderboard.csv's columns, the shown rows
    assert list(frame["model"]) == ["tiny-bert", "tiny-t5"] and list(frame.columns[:3]) == ["row", "model", "revision"]
    assert all(pd.api.types.is_numeric_dtype(frame[c]) for c in ("demo_ner", "demo_ner_std", "demo_ner_n"))
    assert _rows(sig) and "synthetic" in caveats
    # the newer arguments (licence, hide untrained, hide partial) after the original eleven
    from leaderboard.data import load_app_data
    from leaderboard.filters import Filters, choices, filter_table

    data = load_app_data(_root(served))
    lic = choices(data.table, data.task_info)["licenses"][:1]
    want, hidden = filter_table(data.table, data.task_info, Filters(licenses=lic, hide_untrained=True,
                                                                     hide_partial=True))
    table, note, *_ = client.predict([], [], [], [], None, None, "", ["family"], None, True, False, lic, True, True,
                                     api_name="/leaderboard")
    assert [r["model"] for r in _rows(table)] == list(want["model"]) and f"{hidden} hidden" in note
    table, *_ = client.predict([], [], [], [], None, None, "", ["family"], None, True, False, [], False, False, False,
                               api_name="/leaderboard")  # the decision columns toggled off
    assert not [h for h in _headers(table) if "P(best)" in h or "rank 95%" in h]
    # the task filter and the per-task decision columns: the two newest arguments, last
    table, *_ = client.predict([], [], [], [], None, None, "", ["family"], None, True, False, [], False, False, True,
                               ["demo_ner"], True, api_name="/leaderboard")
    assert {"demo_ner", "demo_ner P(best)", "demo_ner rank 95%"} <= _headers(table)
    assert not [h for h in _headers(table) if h.startswith(("demo_qa", "demo_sentiment"))]


def test_concurrent_downloads_each_get_their_own_rows(served):
    """Twelve leaderboard calls at once, each filtered to one model: each CSV holds that model's row only."""
    import csv

    _, client = served
    models = ["tiny-bert", "tiny-ernie", "tiny-albert", "tiny-t5"] * 3
    jobs = [client.submit([], [], [], [], None, None, m, ["family"], None, True, False, api_name="/leaderboard")
            for m in models]
    for model, job in zip(models, jobs):
        with open(job.result(timeout=120)[2], encoding="utf-8") as f:
            assert [r["model"] for r in csv.DictReader(f)] == [model]


def test_app_command_line_queue_settings(monkeypatch, capsys):
    from app import CONCURRENCY, QUEUE_SIZE, build_parser

    args = build_parser().parse_args([])
    # the default holds bench/app_load.py's 50 users (one request each in flight) and refuses 100 (docs/app.md)
    assert (args.concurrency, args.queue_size) == (CONCURRENCY, QUEUE_SIZE) and 50 <= QUEUE_SIZE < 100
    monkeypatch.setenv("HARNESS_APP_CONCURRENCY", "8")
    assert build_parser().parse_args(["--queue-size", "100"]).concurrency == 8
    for argv in (["--concurrency", "0"], ["--queue-size", "many"]):
        with pytest.raises(SystemExit) as e:
            build_parser().parse_args(argv)
        assert e.value.code == 2 and "expected a positive integer" in capsys.readouterr().err
    monkeypatch.setenv("HARNESS_APP_QUEUE_SIZE", "-1")
    with pytest.raises(SystemExit):
        build_parser().parse_args([])


def test_plots_endpoint(served):
    _, client = served
    params, latency, bars, *scopes = client.predict("demo", "demo_ner", api_name="/plots")
    assert params and latency and bars and all(s.startswith("_Plot scope") for s in scopes), scopes


def test_playground_endpoint_and_bad_input(served):
    _, client = served
    from leaderboard.data import load_app_data

    labels = list(load_app_data(_root(served)).checkpoints["demo_ner"])
    msg, label, hl, lat = client.predict("demo_ner", labels[0], "张伟住在北京", "", api_name="/predict")
    assert msg.startswith("entities:") and "ms" in lat
    msg, *_ = client.predict("demo_ner", labels[0], "张伟住在北京", "", "", api_name="/predict")  # every box given
    assert msg.startswith("entities:")
    msg, *_ = client.predict("demo_ner", labels[0], "", "", api_name="/predict")
    assert "empty" in msg
    msg, *_ = client.predict("demo_ner", labels[0], "x" * 2500, "", api_name="/predict")
    assert "at most 2,000" in msg
    msg, *_ = client.predict("demo_ner", "/etc/passwd", "hello", "", api_name="/predict")
    assert "not listed" in msg


def test_compare_endpoints(served):
    _, client = served
    from leaderboard.data import load_app_data

    labels = list(load_app_data(_root(served)).checkpoints["demo_sentiment"])[:2]
    out, msg = client.predict("demo_sentiment", labels, "the food was great", "", api_name="/compare")
    rows = _rows(out)
    assert [r["checkpoint"] for r in rows] == labels and all(r["latency ms"] > 0 for r in rows)
    table, summary = client.predict("demo_sentiment", labels, "any", api_name="/disagreements")
    assert "shared test examples" in summary
    # sized so the gold and each checkpoint's answer stay in view beside a long input (webapp.handlers.column_widths)
    assert table["value"]["headers"][:3] == ["id", "input", "gold"] and len(table["column_widths"]) == 3 + len(labels)
    _, msg = client.predict("demo_sentiment", labels[:1], "x", "", api_name="/compare")
    assert "2 to 4" in msg


def _root(served):
    return served[0].results_root


def test_a_full_queue_refuses_at_once_with_queue_full(monkeypatch):
    """One handler running and queue_size events waiting: the next request is refused at once, clearly ("Queue is
    full", HTTP 503 on the REST API), not left to time out; the waiting ones are then answered."""
    import functools
    import threading
    import time

    import httpx
    from gradio_client.utils import QueueError

    from webapp import handlers
    from webapp.board import CONTROLS
    from webapp.build import build_app

    armed, gate, entered = threading.Event(), threading.Event(), threading.Event()
    real = handlers.Handlers.leaderboard_view

    @functools.wraps(real)  # the same signature: handlers are bound by their argument names
    def held(self, *args, **kwargs):
        if armed.is_set():  # requests only: build_app computes the first view itself
            entered.set()
            gate.wait(120)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(handlers.Handlers, "leaderboard_view", held)
    demo = build_app(None, concurrency=1, queue_size=1)  # the bundled sample
    armed.set()
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        client = gradio_client.Client(f"http://127.0.0.1:{port}/", verbose=False)
        args = [c.default for c in CONTROLS]
        running = client.submit(*args, api_name="/leaderboard")
        assert entered.wait(60)
        waiting = client.submit(*args, api_name="/leaderboard")
        deadline = time.monotonic() + 60
        while len(demo._queue) < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(demo._queue) == 1  # the queue is full: one event waiting
        with pytest.raises(QueueError, match="Queue is full"):
            client.submit(*args, api_name="/leaderboard").result(timeout=30)
        r = httpx.post(f"http://127.0.0.1:{port}/gradio_api/call/leaderboard", json={"data": args}, timeout=30)
        assert r.status_code == 503 and "Queue is full. Max size is 1" in r.text, (r.status_code, r.text)
        gate.set()
        for job in (running, waiting):
            assert "model(s) shown" in job.result(timeout=120)[1]
    finally:
        gate.set()
        demo.close()
