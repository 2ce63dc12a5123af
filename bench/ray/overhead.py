"""Ray executor benchmark: per-task overhead (warm and cold), GPU worker reuse, and a CPU grid on 1 vs 2 workers.

    python bench/ray/overhead.py [--models demo.yaml] [--only-models minilm-l6-h384]
                                 [--tasks demo_sentiment,demo_paraphrase] [--seeds 1,2] [--calls 50]
                                 [--cpus 1,2] [--max-steps N] [--out bench/out/ray]

1. Overhead per task on a local Ray instance (loopback only), with a payload the size of a real unit's outcome
   (the record and prediction rows of the first grid's first job): submit -> start (the task's first line runs),
   and return (the task's last line -> the driver holds the result). Warm = median over --calls sequential
   calls on a reused worker; cold = the first call of a fresh instance (worker process start included), and a
   GPU task (logical GPU: Ray starts a new worker process for each, max_calls=1).
2. GPU worker reuse: three sequential num_gpus=1 tasks report their PIDs.
3. The same grid of small jobs (`python -m harness run ... --executor ray --threads-per-job 1`, in-process) on a
   Ray instance with 1 CPU and with 2 CPUs (--cpus): wall time, the median job time (record started_at ->
   finished_at) and the ratio. Overhead share = warm overhead / median job time of the first grid. --max-steps caps
   each job's training (default: the tasks' own recipe).

Writes <out>/ray.md and ray.json. A benchmark, not a test: it asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # keep Ray on 127.0.0.1
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no usage statistics sent anywhere
REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import ray  # noqa: E402


def _init(cpus: int) -> None:
    ray.init(address="local", num_cpus=cpus, num_gpus=2, include_dashboard=False,
             object_store_memory=200 * 1024 ** 2, _node_ip_address="127.0.0.1", log_to_driver=False)


@ray.remote(num_cpus=1)
def _echo(sent: float, payload):
    start = time.time()
    return start - sent, payload, time.time(), os.getpid()


@ray.remote(num_cpus=1, num_gpus=1)
def _gpu_echo(sent: float, payload):
    start = time.time()
    return start - sent, payload, time.time(), os.getpid()


def _call(fn, payload) -> tuple[float, float, int]:
    ref = fn.remote(time.time(), payload)
    start_lag, _, returned, pid = ray.get(ref)
    return start_lag * 1000, (time.time() - returned) * 1000, pid


def overhead(payload, calls: int) -> dict:
    _init(2)
    try:
        cold = _call(_echo, payload)
        warm = [_call(_echo, payload) for _ in range(calls)]
        gpu = [_call(_gpu_echo, payload) for _ in range(3)]
    finally:
        ray.shutdown()
    med = lambda xs: round(statistics.median(xs), 2)  # noqa: E731
    return {"payload_bytes": len(pickle.dumps(payload)),
            "cold_submit_to_start_ms": round(cold[0], 1), "cold_return_ms": round(cold[1], 2),
            "warm_submit_to_start_ms": med([w[0] for w in warm]), "warm_return_ms": med([w[1] for w in warm]),
            "warm_workers": len({w[2] for w in warm}),
            "gpu_submit_to_start_ms": [round(g[0], 1) for g in gpu], "gpu_pids": [g[2] for g in gpu],
            "gpu_workers_reused": len({g[2] for g in gpu}) < len(gpu)}


def grid(args, cpus: int, out: Path) -> dict:
    from harness.cli import main

    _init(cpus)
    try:
        t0 = time.perf_counter()
        rc = main(["run", "--models", args.models, "--only-models", args.only_models, "--tasks", args.tasks,
                   "--seeds", args.seeds, "--output-dir", str(out), "--executor", "ray", "--threads-per-job", "1",
                   "--keep-checkpoints", "none", "--quiet"]
              + (["--max-steps", str(args.max_steps)] if args.max_steps else []))
        wall = time.perf_counter() - t0
    finally:
        ray.shutdown()
    if rc != 0:
        raise SystemExit(f"the grid on {cpus} CPU(s) failed (exit {rc})")
    recs = [json.loads(p.read_text()) for p in sorted((out / "results").rglob("seed*.json"))
            if not p.name.endswith(".failed.json")]
    jobs = [r["execution"]["finished_at"] - r["execution"]["started_at"] for r in recs]
    return {"cpus": cpus, "rc": rc, "wall_s": round(wall, 1), "jobs": len(recs),
            "median_job_s": round(statistics.median(jobs), 2), "sum_job_s": round(sum(jobs), 1)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--models", default=str(REPO / "demo.yaml"))
    p.add_argument("--only-models", default="minilm-l6-h384")
    p.add_argument("--tasks", default="demo_sentiment,demo_paraphrase")
    p.add_argument("--seeds", default="1,2")
    p.add_argument("--calls", type=int, default=50)
    p.add_argument("--cpus", default="1,2", help="the grid's Ray instances, CPUs each (default 1,2)")
    p.add_argument("--max-steps", type=int, default=None, help="cap each job's training steps")
    p.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "ray")
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    runs = {}
    cpu_counts = [int(c) for c in args.cpus.split(",") if c.strip()]
    for cpus in cpu_counts:
        folder = args.out / f"grid-{cpus}cpu"
        if folder.exists():
            import shutil

            shutil.rmtree(folder)
        runs[cpus] = grid(args, cpus, folder)
    first = sorted((args.out / f"grid-{cpu_counts[0]}cpu" / "results").rglob("seed*.json"))[0]
    from harness.results import read_predictions

    payload = {"record": json.loads(first.read_text()),
               "rows": read_predictions(first.with_name(first.stem + ".predictions.jsonl.gz"))}
    ov = overhead(payload, args.calls)
    per_task_ms = ov["warm_submit_to_start_ms"] + ov["warm_return_ms"]
    base = runs[cpu_counts[0]]
    report = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "ray": ray.__version__},
              "overhead": ov, "grid": runs,
              "warm_overhead_share_of_median_job": round(per_task_ms / 1000 / base["median_job_s"], 5),
              "speedup_2_vs_1": round(runs[1]["wall_s"] / runs[2]["wall_s"], 2) if {1, 2} <= set(runs) else None}
    (args.out / "ray.json").write_text(json.dumps(report, indent=1) + "\n")
    lines = [
        f"# Ray executor benchmark ({os.cpu_count()} CPUs, Ray {ray.__version__})", "",
        f"Per-task overhead, payload {ov['payload_bytes']:,} bytes (a real unit's record + predictions):", "",
        "| | submit → start | return |", "|---|---|---|",
        f"| warm (median of {args.calls}, {ov['warm_workers']} worker(s)) | {ov['warm_submit_to_start_ms']} ms | "
        f"{ov['warm_return_ms']} ms |",
        f"| cold (first task, new worker process) | {ov['cold_submit_to_start_ms']} ms | {ov['cold_return_ms']} ms |",
        f"| GPU task (logical GPU), 3 in a row | {', '.join(map(str, ov['gpu_submit_to_start_ms']))} ms | |", "",
        f"GPU workers reused between tasks: {'yes' if ov['gpu_workers_reused'] else 'no'} "
        f"(PIDs {ov['gpu_pids']}).", "",
        f"Grid ({args.only_models} × {args.tasks} × seeds {args.seeds}, 1 thread per job):", "",
        "| Ray CPUs | jobs | wall s | median job s | sum of job s |", "|---|---|---|---|---|",
        *[f"| {r['cpus']} | {r['jobs']} | {r['wall_s']} | {r['median_job_s']} | {r['sum_job_s']} |"
          for r in runs.values()], "",
        (f"2 workers vs 1: {report['speedup_2_vs_1']}× faster. " if report["speedup_2_vs_1"] else "")
        + "Warm overhead per task = "
        f"{100 * report['warm_overhead_share_of_median_job']:.3f}% of the median job.",
    ]
    (args.out / "ray.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
