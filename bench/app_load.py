"""Load on the served app: N concurrent users, each sending M requests to the playground and leaderboard endpoints.

    python bench/app_load.py --results outputs/demo [--users 50] [--requests 20] [--concurrency 4] [--queue-size 64]

DIR (--results) is a harness output folder, e.g. the one the main command writes (`python -m harness run --models
demo.yaml --tasks demo --output-dir outputs/demo`). The app is built with `webapp.build.build_app` (its queue
settings as given, the defaults being the app's) and served on a free localhost port. Each user is its own
`gradio_client.Client` (connected one after another beforehand) in its own thread; all start together, and each
alternates /predict (a listed checkpoint on one of its task's saved test inputs) and /leaderboard (filtered by a
search for one model, significance marks on, the CSV download read back). Counted:
- errors: an exception (a client that cannot connect counts its M requests), a refused request (queue full) or a
  ⚠ line where an answer was expected; counted by kind (e.g. `QueueError: queue full`, `ReadTimeout`);
- wrong answers: a prediction whose text differs from the one computed for the same input in-process beforehand,
  or a CSV whose rows are not the rows that user's filter selects (another user's rows, or none).
Reported: the counts, the wall time, and p50/p95 latency per endpoint. Exit 1 when any error or wrong answer.
"""
from __future__ import annotations

import argparse
import csv
import logging
import random
import socket
import statistics
import sys
import threading
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from webapp.board import CONTROLS, OUTPUTS  # noqa: E402 - the app's declared controls and outputs, by name


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cases(results: Path, per_task: int = 3) -> tuple[list[tuple], list[tuple]]:
    """(playground cases: task, label, inputs, expected text) and (leaderboard cases: search, expected rows),
    the expectations computed in-process with the functions behind the endpoints."""
    from leaderboard.data import load_app_data
    from leaderboard.filters import Filters, filter_table
    from webapp.downloads import ROW_TITLE, plain_label
    from webapp.playground import Playground, example_inputs

    data = load_app_data(results)
    pg = Playground(data)
    play = []
    for task, labels in data.checkpoints.items():
        for inputs in example_inputs(data, task, per_task):
            for label in labels:
                out, _ = pg.predict(task, label, *inputs)
                play.append((task, label, inputs, out["text"]))
    board = []
    for model in sorted(set(data.table["model"])):
        shown, _ = filter_table(data.table, data.task_info, Filters(search=model, columns=["family"]))
        # the rows' labels as the CSV's `row` column has them ('t5-random-small (untrained)', 'minilm [lora]'), not
        # the model names
        board.append((model, [plain_label(c) for c in shown[ROW_TITLE]]))
    return play, board


def leaderboard_args(**values) -> list:
    """The /leaderboard API's arguments by the app's control names (webapp.board.CONTROLS: the order the API takes
    them in), each control not given at its default."""
    return [values.get(c.name, c.default) for c in CONTROLS]


def pct(times: list[float]) -> str:
    q = statistics.quantiles(times, n=20)
    return f"p50 {statistics.median(times):8.1f} ms   p95 {q[18]:8.1f} ms   n={len(times)}"


def connect(url: str, n: int, out: dict):
    """A user's own gradio_client (its own session); None, and its n requests counted as errors, when it cannot."""
    import gradio_client

    try:
        return gradio_client.Client(url, verbose=False)
    except Exception as e:  # noqa: BLE001 - counted, never fatal
        out["errors"] += [f"{type(e).__name__} (connecting): {str(e)[:200]}"] * n
        return None


def user(client, play: list, board: list, n: int, seed: int, start: threading.Barrier, out: dict) -> None:
    """One user: n requests alternating /predict and /leaderboard, from the moment every user is ready."""
    rng = random.Random(seed)
    if client is None:
        start.wait()
        return
    start.wait()
    for i in range(n):
        t0 = time.perf_counter()
        try:
            if i % 2 == 0:
                task, label, inputs, expected = rng.choice(play)
                msg = client.predict(task, label, *inputs, api_name="/predict")[0]
                kind, ok = "predict", msg == expected
            else:
                search, rows = rng.choice(board)
                res = dict(zip(OUTPUTS, client.predict(*leaderboard_args(search=search, columns=["family"]),
                                                       api_name="/leaderboard")))
                msg = res["note"]
                with open(res["csv"], encoding="utf-8") as f:
                    ok = [r["row"] for r in csv.DictReader(f)] == rows  # the row label, as the table shows it
                kind = "leaderboard"
        except Exception as e:  # noqa: BLE001 - counted, never fatal
            with out["lock"]:
                out["errors"].append(f"{type(e).__name__}: {str(e)[:200]}")
            continue
        ms = (time.perf_counter() - t0) * 1000
        with out["lock"]:
            out[kind].append(ms)
            if isinstance(msg, str) and msg.startswith("⚠"):
                out["errors"].append(msg[:200])
            elif not ok:
                out["wrong"].append(f"{kind}: {msg[:120] if isinstance(msg, str) else msg}")


def main() -> int:
    from webapp import build as app

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--results", type=Path, required=True)
    p.add_argument("--users", type=int, default=50)
    p.add_argument("--requests", type=int, default=20)
    p.add_argument("--concurrency", type=int, default=app.CONCURRENCY)
    p.add_argument("--queue-size", type=int, default=app.QUEUE_SIZE)
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)

    play, board = cases(args.results)
    if not play or not board:
        print(f"{args.results}: no listed checkpoints or no leaderboard rows to load the app with")
        return 2
    demo = app.build_app(args.results, args.concurrency, args.queue_size)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    out: dict = {"lock": threading.Lock(), "predict": [], "leaderboard": [], "errors": [], "wrong": []}
    start = threading.Barrier(args.users + 1)
    try:
        # connected one after another before the clock starts: a gradio_client fetches the app's API description
        # first (a browser does not), and 100 of those at once time out on a busy 2-core machine, before any request
        t0 = time.perf_counter()
        clients = [connect(f"http://127.0.0.1:{port}/", args.requests, out) for _ in range(args.users)]
        connected = time.perf_counter() - t0
        threads = [threading.Thread(target=user, args=(client, play, board, args.requests, k, start, out))
                   for k, client in enumerate(clients)]
        for t in threads:
            t.start()
        start.wait()
        t0 = time.perf_counter()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
    finally:
        demo.close()
    total = args.users * args.requests
    print(f"{args.users} users x {args.requests} requests = {total} (concurrency {args.concurrency}, queue size "
          f"{args.queue_size}); {len(play)} playground cases, {len(board)} leaderboard filters")
    print(f"{sum(c is not None for c in clients)} clients connected, one after another, in {connected:.1f} s")
    print(f"errors: {len(out['errors'])}   wrong answers: {len(out['wrong'])}   wall {wall:.1f} s "
          f"({total / wall:.1f} requests/s)")
    for kind in ("predict", "leaderboard"):
        if out[kind]:
            print(f"/{kind:<12} {pct(out[kind])}")
    kinds = Counter(line.split(":")[0] + (": queue full" if "Queue is full" in line else "") for line in out["errors"])
    if kinds:
        print("errors by kind: " + ", ".join(f"{k} {v}" for k, v in kinds.most_common()))
    for line in (out["errors"] + out["wrong"])[:10]:
        print(f"  {line}")
    return 1 if out["errors"] or out["wrong"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
