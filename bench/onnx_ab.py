"""A/B the model call of ONNX files: one 32-token input, 2 threads, alternating rounds in one process.

    python bench/onnx_ab.py OLD.onnx NEW.onnx [--tokens 32] [--rounds 12]

Timing two files in turns (20 calls per round, order reversed every round) cancels most of a shared VM's drift,
which a separate run per file does not. Prints p50 and p90 in ms per file.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("files", nargs="+")
    p.add_argument("--tokens", type=int, default=32)
    p.add_argument("--rounds", type=int, default=12)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    import onnxruntime as ort

    sessions = {}
    for path in args.files:
        so = ort.SessionOptions()
        so.intra_op_num_threads, so.inter_op_num_threads = args.threads, 1
        sessions[path] = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    ids = np.random.default_rng(0).integers(1000, 20000, (1, args.tokens), dtype=np.int64)
    feed = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
    times: dict[str, list[float]] = {k: [] for k in sessions}
    for r in range(args.rounds):
        for path in (list(sessions) if r % 2 == 0 else list(sessions)[::-1]):
            s = sessions[path]
            names = {i.name for i in s.get_inputs()}
            f = {k: v for k, v in feed.items() if k in names}
            for _ in range(3):
                s.run(None, f)
            for _ in range(20):
                t0 = time.perf_counter()
                s.run(None, f)
                times[path].append((time.perf_counter() - t0) * 1000)
    for path, ts in times.items():
        print(f"{path}: p50 {statistics.median(ts):.2f} ms  p90 {statistics.quantiles(ts, n=10)[8]:.2f} ms "
              f"({len(ts)} calls)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
