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


def _rows(df) -> list[dict]:
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
    assert {"demo P(best)", "demo rank 95%", "demo_ner P(best)"} <= set(table["headers"])
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
    assert not [h for h in table["headers"] if "P(best)" in h or "rank 95%" in h]


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
    assert (args.concurrency, args.queue_size) == (CONCURRENCY, QUEUE_SIZE) and QUEUE_SIZE >= 250
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
    _, msg = client.predict("demo_sentiment", labels[:1], "x", "", api_name="/compare")
    assert "2 to 4" in msg


def _root(served):
    return served[0].results_root
