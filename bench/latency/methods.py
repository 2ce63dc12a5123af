"""Single-input CPU latency of one encoder under each method, timed as `python -m harness latency` times it.

    python bench/latency/methods.py [--models demo.yaml] [--model minilm-l6-h384] [--task demo_sentiment]
                                    [--methods finetune,lora,prompt] [--runs 200] [--rounds 5] [--out DIR]

Trains the model on the task once per method (a few steps: speed does not depend on training), then times each
kept checkpoint with harness.latency.measure (torch, 1 thread, warm-up, the task's median-length test input) in
``--rounds`` interleaved rounds (the methods in a rotated order each round, so a drift of the machine's speed falls
on all of them). Prints per method the median over rounds of p50 and p95, and each method's p50 over the first
method's (finetune) per round: the median ratio and its range. LoRA checkpoints load merged
(harness.methods.lora), so LoRA's ratio should sit at 1 within the rounds' spread; prompt's extra cost is its
masked-LM head over the whole vocabulary. Writes DIR/latency_methods.json.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", type=Path, default=REPO / "demo.yaml")
    ap.add_argument("--model", default="minilm-l6-h384")
    ap.add_argument("--task", default="demo_sentiment")
    ap.add_argument("--methods", default="finetune,lora,prompt")
    ap.add_argument("--runs", type=int, default=200, help="timed predictions per checkpoint and round")
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--max-steps", type=int, default=4)
    ap.add_argument("--out", type=Path, default=Path("outputs/bench-latency"))
    args = ap.parse_args(argv)

    from harness.cli import main as harness
    from harness.latency import machine, measure, median_input, targets

    methods = args.methods.split(",")
    rc = harness(["run", "--models", str(args.models), "--only-models", args.model, "--tasks", args.task,
                  "--methods", args.methods, "--output-dir", str(args.out), "--max-steps", str(args.max_steps),
                  "--max-eval-samples", "64", "--latency-runs", "0", "--quiet"])
    if rc != 0:
        print(f"training failed (exit {rc})", file=sys.stderr)
        return rc
    found = {t.rel.split("/")[4]: t for t in targets(args.out) if not t.skipped}  # checkpoints/<m>/<rev>/<task>/<method>
    missing = [m for m in methods if m not in found]
    if missing:
        print(f"no checkpoint for {', '.join(missing)}", file=sys.stderr)
        return 1
    # one input for every method: the first method's median-length test example
    example, input_id = found[methods[0]].example, found[methods[0]].input_id
    p50: dict[str, list[float]] = {m: [] for m in methods}
    p95: dict[str, list[float]] = {m: [] for m in methods}
    for r in range(args.rounds):
        for m in methods[r % len(methods):] + methods[:r % len(methods)]:
            t = found[m]
            lat = measure(t.checkpoint, t.rel, t.config_hash, example or {}, input_id, args.runs, args.warmup, 1)
            p50[m].append(lat.p50_ms)
            p95[m].append(lat.p95_ms)
    base = methods[0]
    where = machine(1)
    print(f"{args.model} on {args.task}, input {input_id}: {args.rounds} rounds × {args.runs} runs after "
          f"{args.warmup} warm-up, torch, 1 thread, {where.cpu} ({where.cores} cores)")
    print(f"{'method':10} {'p50 ms':>8} {'p95 ms':>8} {'p50 / ' + base:>14} {'range':>14}")
    out = {"model": args.model, "task": args.task, "input_id": input_id, "runs": args.runs, "rounds": args.rounds,
           "warmup": args.warmup, "machine": where.model_dump(), "methods": {}}
    for m in methods:
        ratios = [a / b for a, b in zip(p50[m], p50[base])]
        row = {"p50_ms": statistics.median(p50[m]), "p95_ms": statistics.median(p95[m]),
               "ratio": statistics.median(ratios), "ratio_min": min(ratios), "ratio_max": max(ratios),
               "p50_rounds": p50[m]}
        out["methods"][m] = row
        print(f"{m:10} {row['p50_ms']:8.2f} {row['p95_ms']:8.2f} {row['ratio']:14.3f} "
              f"{row['ratio_min']:6.3f}–{row['ratio_max']:.3f}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latency_methods.json").write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out / 'latency_methods.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
