"""Ray worker reuse: the CPU a job's worker spends starting (Ray's worker boot + importing torch, transformers and
the harness's job modules), with a fresh worker per job (Ray's default for GPU tasks, max_calls=1) against workers
that run up to the Ray executor's JOBS_PER_WORKER jobs (harness/execute/executors/ray.py).

    python bench/ray/reuse.py [--tasks 8] [--out bench/ray/reuse-cpu-2core.md]

A local Ray instance (127.0.0.1, 1 logical GPU, so the GPU tasks run one after another) runs --tasks tasks of
num_gpus=1 under each setting. Each task does what the executor's task does before and after a job: the imports
(harness.execute.unit.prepare_worker, harness.job) and the release between jobs (harness.oom.release_memory),
with no training between. It reports its worker's PID and that process's CPU time (user + sys, from the process's
start) when it ends, so the CPU of every worker process is the last figure its PID reported: Ray's boot and the
imports included, the driver not. CPU time, not wall time: this machine is shared. A benchmark: it asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # keep Ray on 127.0.0.1
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no usage statistics sent anywhere
REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import ray  # noqa: E402

from harness.execute.executors.ray import JOBS_PER_WORKER  # noqa: E402


def _job_start_and_end() -> tuple[int, float, float]:
    """A job's worker-side start and end without the job: (pid, CPU of this process before, after)."""
    before = time.process_time()
    from harness.execute.unit import prepare_worker
    import harness.job  # noqa: F401 - the modules run_unit needs
    from harness.oom import release_memory

    prepare_worker(1)
    release_memory()
    return os.getpid(), before, time.process_time()


def run(tasks: int, max_calls: int) -> dict:
    task = ray.remote(num_cpus=1, num_gpus=1, max_calls=max_calls)(_job_start_and_end)
    wall = time.perf_counter()
    got = [ray.get(task.remote()) for _ in range(tasks)]  # one after another, as GPU jobs on one GPU run
    wall = time.perf_counter() - wall
    last: dict[int, float] = {}
    for pid, _, after in got:
        last[pid] = after
    return {"max_calls": max_calls, "tasks": tasks, "workers": len(last), "cpu_s": sum(last.values()),
            "per_task_s": [round(after - before, 2) for _, before, after in got],
            "first_task_before_s": round(got[0][1], 2), "wall_s": wall}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=8)
    ap.add_argument("--out", type=Path, default=None, help="write the table here (markdown)")
    args = ap.parse_args()
    rows = []
    for max_calls in (1, JOBS_PER_WORKER):
        ray.init(address="local", num_cpus=2, num_gpus=1, include_dashboard=False,
                 object_store_memory=100 * 1024 ** 2, _node_ip_address="127.0.0.1", log_to_driver=False,
                 runtime_env={"env_vars": {"PYTHONPATH": str(REPO)}})
        try:
            rows.append(run(args.tasks, max_calls))
        finally:
            ray.shutdown()
    fresh, reused = rows
    lines = [f"# Ray worker reuse: {args.tasks} GPU tasks (logical GPU) one after another, CPU seconds",
             "", f"`python bench/ray/reuse.py --tasks {args.tasks}` on {platform.node()} ({os.cpu_count()} cores), "
             f"Python {platform.python_version()}, Ray {ray.__version__}.", "",
             "| max_calls | worker processes | CPU of the workers (s, user+sys) | per task (s) | wall (s) |",
             "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['max_calls']} | {r['workers']} | {r['cpu_s']:.1f} | "
                     f"{', '.join(f'{x:.2f}' for x in r['per_task_s'])} | {r['wall_s']:.1f} |")
    saved = fresh["cpu_s"] - reused["cpu_s"]
    lines += ["", f"Saved by reuse: {saved:.1f} s CPU over {args.tasks} jobs, "
                  f"{saved / max(1, args.tasks - reused['workers']):.1f} s per job that found a warm worker. "
                  f"'per task' is the CPU a task spent in its imports and release; a fresh worker also spent "
                  f"{fresh['first_task_before_s']:.2f} s CPU booting before its task began (first task)."]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
