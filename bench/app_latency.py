"""Playground latency for one input of exactly N tokens: at the function level and end to end through the app.

    python bench/app_latency.py --results DIR --task sst2 [--tokens 32] [--runs 100]

DIR is a harness output folder whose checkpoint for TASK is listed in its results (for the ONNX backend, run
`python -m harness export --checkpoint ... --quantize int8` on it first). For each backend the checkpoint offers
(torch, and onnx fp32 / int8 when exported), it reports the p50 and p90 of:
- function level: `Playground.predict` (tokenize, run, decode, format), the code behind the app's button;
- end to end: `gradio_client.Client.predict(api_name="/predict")` against the app served on localhost, which
  adds HTTP, the Gradio queue and JSON (de)serialisation. The served app uses the default backend choice
  (auto: ONNX int8 when exported);
- end to end over one kept-alive HTTP connection: Gradio's REST API (POST /gradio_api/call/predict, then GET its
  event stream) with one reused httpx.Client — the same server path without gradio_client's per-call costs (it
  builds a new httpx client, TLS context included, for each request and each event stream).
"""
from __future__ import annotations

import argparse
import socket
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
WORDS = ("the", "movie", "was", "good", "and", "the", "acting", "great")


def text_of(tokenizer, n: int) -> str:
    """A text that the tokenizer turns into exactly n tokens, special tokens included."""
    words: list[str] = []
    while len(tokenizer(" ".join(words))["input_ids"]) < n:
        words.append(WORDS[len(words) % len(WORDS)])
    while len(tokenizer(" ".join(words))["input_ids"]) > n:
        words.pop()
    return " ".join(words)


def pct(times: list[float]) -> str:
    q = statistics.quantiles(times, n=10)
    return f"p50 {statistics.median(times):7.2f} ms   p90 {q[8]:7.2f} ms"


def rest_times(port: int, data: list, runs: int = 100) -> list[float]:
    """Milliseconds per call of the app's /predict endpoint through Gradio's REST API on one kept-alive client."""
    import httpx

    base = f"http://127.0.0.1:{port}/gradio_api/call/predict"
    times = []
    with httpx.Client(timeout=30) as http:
        for i in range(runs + 5):
            t0 = time.perf_counter()
            event_id = http.post(base, json={"data": data}).json()["event_id"]
            with http.stream("GET", f"{base}/{event_id}") as r:
                body = "".join(r.iter_text())
            if "event: complete" not in body:
                raise RuntimeError(f"/predict did not complete: {body[:300]}")
            if i >= 5:
                times.append((time.perf_counter() - t0) * 1000)
    return times


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--results", type=Path, required=True)
    p.add_argument("--task", required=True)
    p.add_argument("--tokens", type=int, default=32)
    p.add_argument("--runs", type=int, default=100)
    args = p.parse_args()

    from harness.checkpoint import load_checkpoint
    from harness.onnx_model import find_onnx
    from leaderboard.data import load_app_data
    from webapp.playground import CheckpointCache, Playground

    data = load_app_data(args.results)
    label, rel = next(iter(data.checkpoints[args.task].items()))
    folder = data.root / rel
    adapter, _ = load_checkpoint(folder, backend="torch")
    text = text_of(adapter.tok, args.tokens)
    n = len(adapter.tok(text)["input_ids"])
    print(f"checkpoint {label}: {folder}\ninput: {n} tokens: {text!r}")
    backends = ["torch"] + [b for b, prec in (("onnx-fp32", "fp32"), ("onnx-int8", "int8"))
                            if find_onnx(folder, prec)]
    for backend in backends:
        pg = Playground(data, CheckpointCache(maxsize=1, loader=lambda path, b=backend: load_checkpoint(path, b)))
        for _ in range(5):
            pg.predict(args.task, label, text)
        times = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            pg.predict(args.task, label, text)
            times.append((time.perf_counter() - t0) * 1000)
        print(f"function level, {backend:<9}  {pct(times)}")

    import gradio_client

    from webapp.build import build_app

    demo = build_app(args.results)
    demo.queue(default_concurrency_limit=2, max_size=32)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    from webapp.playground import max_boxes

    inputs = [args.task, label, text] + [""] * (max_boxes() - 1)  # task, checkpoint, the form's boxes (by the app)
    try:
        client = gradio_client.Client(f"http://127.0.0.1:{port}/", verbose=False)
        for _ in range(5):
            out = client.predict(*inputs, api_name="/predict")
        times = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            out = client.predict(*inputs, api_name="/predict")
            times.append((time.perf_counter() - t0) * 1000)
        print(f"end to end (gradio_client), served backend: {out[-1]}\n  {pct(times)}")
        print(f"end to end (REST, kept-alive httpx client)\n  {pct(rest_times(port, inputs, args.runs))}")
    finally:
        demo.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
