"""Leaderboard build time from N result files: cold (no index) and warm (index present), validation included.

    python bench/leaderboard/build.py [--files 10000] [--template RESULT.json] [--out /tmp/lb-bench]

Writes N result files (100 models × 20 tasks × 5 seeds for 10,000) copied from a template record (a real
result file when --template is given, else a built-in record of the same shape), then times
load_results + leaderboard in fresh processes: without the row index (every file parsed and validated), then
with it, --repeat times each. Prints CPU seconds (user + sys, time.process_time: the figure to compare on a
shared machine) per phase: imports, load, table, and load + table; wall seconds of load + table beside it.
"""
from __future__ import annotations

import argparse
import copy
import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
TIMER = """
import sys, time
clock = time.process_time  # CPU seconds (user + sys) of this process: the machine may be shared
t0 = clock()
from leaderboard.table import leaderboard, load_results
t1 = clock()
w1 = time.perf_counter()
loaded = load_results(sys.argv[1])
t2 = clock()
table = leaderboard(loaded.runs, loaded.failures)
t3 = clock()
w3 = time.perf_counter()
print(f"{t1 - t0:.3f} {t2 - t1:.3f} {t3 - t2:.3f} {w3 - w1:.3f} {len(loaded.runs)} {len(loaded.problems)} "
      f"{len(loaded.failures)} {len(table)}")
"""


def template(path: Path | None) -> dict:
    if path:
        return json.loads(path.read_text(encoding="utf-8"))
    from harness.record import SCHEMA_VERSION  # the checkout's own: an older version would time its migration

    return {"schema_version": SCHEMA_VERSION, "status": "ok",
            "job": {"model": "m", "revision": "main", "task": "t", "method": "finetune", "fold": None, "seed": 1,
                    "config_hash": "abcdef012345"},
            "config": {"task": {"label_names": [f"label_{i}" for i in range(15)], "metrics": ["accuracy"]},
                       "train": {k: 0.1 for k in "abcdefghijklmnopqrstuvwxyz"}},
            "task_info": {"benchmark": "GLUE", "language": "en", "kind": "single_cls", "license": "x" * 80,
                          "caveats": ["c" * 120] * 3, "main_score": ["accuracy"], "direction": "higher"},
            "model_info": {"family": "bert", "id": "x", "untrained": False, "parameters": 22_000_000},
            "data": {"source": {"type": "local", "dir": "/data/t"}, "fingerprint": "0123456789abcdef",
                     "sizes": {"train": 1000, "validation": 100, "test": 872}, "overlaps": {}},
            "metrics": {"accuracy": 0.5, "main": 0.5},
            "validation": {"history": [{"step": i, "main": 0.5, "accuracy": 0.5} for i in range(30)]},
            "training": {"steps": 100, "epochs": 3.0, "final_loss": 0.5,
                         "log_history": [{"step": i, "loss": 0.5, "learning_rate": 1e-5} for i in range(30)]},
            "timing": {"train_runtime_s": 100.0, "cpu_latency_ms_p50": 10.0, "train_samples_per_s": 100.0, "eval_samples_per_s": 500.0},
            "tokenizer_stats": {"unk_rate": 0.0, "truncation_rate": 0.0, "examples": 872},
            "checkpoint": None, "environment": {"versions": {f"pkg{i}": "1.0" for i in range(10)}},
            "created_at": "2026-01-01T00:00:00+00:00"}


def write_files(out: Path, n: int, base: dict) -> None:
    models, tasks = 100, 20
    seeds = max(1, n // (models * tasks))
    for m in range(models):
        for t in range(tasks):
            for s in range(seeds):
                rec = copy.deepcopy(base)
                rec["job"].update(model=f"model{m:03d}", task=f"task{t:02d}", seed=s)
                rec["metrics"]["main"] = ((m * 7 + t * 3 + s) % 100) / 100
                p = out / "results" / f"model{m:03d}" / "main" / f"task{t:02d}" / "finetune" / "abc" / f"seed{s}.json"
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_text(json.dumps(rec, indent=1), encoding="utf-8")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--files", type=int, default=10_000)
    p.add_argument("--template", type=Path)
    p.add_argument("--out", type=Path, default=Path("/tmp/lb-bench"))
    p.add_argument("--repeat", type=int, default=3, help="fresh-process builds of each kind, interleaved (default 3)")
    args = p.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    write_files(args.out, args.files, template(args.template))
    print(f"{'build':<22} {'import':>7} {'load':>6} {'table':>6} {'load+table':>10} {'(wall)':>7}  "
          "rows problems failures table-rows   (CPU s: user + sys)")
    totals: dict[str, list[float]] = {}
    for _ in range(args.repeat):
        for label in ("cold (no index)", "warm (index present)"):
            if label.startswith("cold"):
                (args.out / ".leaderboard-index.json").unlink(missing_ok=True)
            res = subprocess.run([sys.executable, "-c", TIMER, str(args.out)], cwd=REPO, capture_output=True,
                                 text=True, check=True)
            imp, load, table, wall, rows, probs, fails, trows = res.stdout.split()
            total = float(load) + float(table)
            totals.setdefault(label, []).append(total)
            print(f"{label:<22} {float(imp):>7.2f} {float(load):>6.2f} {float(table):>6.2f} {total:>10.2f} "
                  f"{float(wall):>7.2f}  {rows} {probs} {fails} {trows}")
    for label, values in totals.items():
        print(f"{label}: load + table {statistics.median(values):.2f} s CPU median of {len(values)} "
              f"(min {min(values):.2f}, max {max(values):.2f})")
    return 0

if __name__ == "__main__":
    raise SystemExit(main())
