"""Extract the racing replay grid's fixture (bench/decision/grid.json.gz) from a harness output folder.

    python bench/decision/extract.py [--output-dir ../grid-out] [--out bench/decision/grid.json.gz]
                                     [--tasks sst2,mrpc,rte] [--seeds 10]

Reads the folder through leaderboard.data (the rows and configurations the leaderboard shows, their result files
and the `*.predictions.jsonl.gz` beside each) and writes, gzipped JSON:

    {"built": {"command", "harness_commands", "wall_s", "machine", "harness_commit", "seeds"},
     "tasks": {TASK: {"direction": "higher"|"lower", "main_metrics": [...], "spec": {task spec of the records},
                      "ids": [sorted example ids], "gold": [gold per id],
                      "rows": {ROW_LABEL: {"model", "revision", "method", "config_hash",
                                           "scores": {SEED: main score of the record},
                                           "seconds": {SEED: the run's wall seconds (execution record)},
                                           "runs": {SEED: [prediction per id, in the order of ids]}}}}}}

Checks as it goes, and fails (exit 1) unless: every row has the same seeds on every task, every run of a task
covers exactly the same ids, gold labels agree across runs, and every row has --seeds runs (10, the committed grid)
on every task (--tasks: only these, default all the folder's tasks).
"""
from __future__ import annotations

import argparse
import gzip
import json
import platform
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from harness.results import read_json, read_predictions  # noqa: E402
from leaderboard.data import load_app_data, prediction_files  # noqa: E402

HERE = Path(__file__).resolve().parent
BUILD = HERE / "build_grid.sh"


def harness_commands(script: Path = BUILD, output_dir: str = "../grid-out") -> list[str]:
    """The harness command lines of build_grid.sh, with its COMMON flags and default paths expanded (as text)."""
    text = script.read_text(encoding="utf-8")
    text = text.replace('"$DATA"', "../shared/data").replace('"$OUT"', output_dir)
    common = re.search(r"COMMON=\((.*?)\)\n", text, re.S).group(1)
    common = " ".join(common.split())
    out = []
    for m in re.finditer(r'"\$PY" -m harness run "\$\{COMMON\[@\]\}" (.*?)(?<!\\)\n', text, re.S):
        rest = " ".join(m.group(1).replace("\\\n", " ").split())
        out.append(f"python -m harness run {common} {rest}")
    return out


def machine() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import os

    return (f"{os.cpu_count()}-core CPU ({model or platform.processor() or platform.machine()}), shared with other "
            "work; nice -n 10, --workers 2 --threads-per-job 1")


def extract(output_dir: Path, only_tasks: list[str] | None = None) -> dict:
    data = load_app_data(output_dir)
    if data.loaded.problems:
        raise SystemExit(f"problems reading {output_dir}: {data.loaded.problems[:3]}")
    if data.loaded.failures:
        raise SystemExit(f"{len(data.loaded.failures)} failed runs under {output_dir}: fix them first")
    agg = data.agg
    shas, tasks, seeds_all = set(), {}, set()
    present = sorted(agg["task"].unique())
    missing = sorted(set(only_tasks or []) - set(present))
    if missing:
        raise SystemExit(f"--tasks: {missing} not in {output_dir} (it has {present})")
    for task in (t for t in present if not only_tasks or t in only_tasks):
        info = data.task_info[task]
        main = info["main_score"]
        entry = {"direction": info["direction"], "main_metrics": list(main) if isinstance(main, list) else [main],
                 "spec": info["spec"], "ids": None, "gold": None, "rows": {}}
        gold_by_id: dict = {}
        for r in agg[agg.task == task].sort_values("row").itertuples():
            files = prediction_files(data, task, r.model, r.revision, r.method)
            runs, scores, seconds = {}, {}, {}
            for seed, path in files.items():
                preds = read_predictions(path)
                rec = read_json(path.with_name(path.name.replace(".predictions.jsonl.gz", ".json")))
                shas.add(rec["environment"]["git_sha"])
                scores[str(seed)] = rec["metrics"]["main"]
                ex = rec["execution"]
                seconds[str(seed)] = round(ex["finished_at"] - ex["started_at"], 1)
                by_id = {}
                for p in preds:
                    if p["id"] in by_id:
                        raise SystemExit(f"{path}: id {p['id']} twice")
                    by_id[p["id"]] = p["prediction"]
                    if gold_by_id.setdefault(p["id"], p["gold"]) != p["gold"]:
                        raise SystemExit(f"{path}: gold of {p['id']} differs from another run's")
                if entry["ids"] is None:
                    entry["ids"] = sorted(by_id)
                if sorted(by_id) != entry["ids"]:
                    raise SystemExit(f"{path}: ids differ from the task's other runs")
                runs[str(seed)] = [by_id[i] for i in entry["ids"]]
            seeds_all.add(tuple(sorted(runs, key=int)))
            entry["rows"][r.row] = {"model": r.model, "revision": r.revision, "method": r.method,
                                    "config_hash": r.config_hash, "scores": scores, "seconds": seconds,
                                    "runs": runs}
        entry["gold"] = [gold_by_id[i] for i in entry["ids"]]
        tasks[task] = entry
    if len(seeds_all) != 1:
        raise SystemExit(f"rows have different seeds: {sorted(seeds_all)}")
    if len(shas) != 1:
        raise SystemExit(f"runs come from several harness commits: {sorted(shas)}")
    timing = output_dir / "build_time.json"
    wall = read_json(timing)["wall_s"] if timing.is_file() else None
    built = {"command": "nice -n 10 bash bench/decision/build_grid.sh", "harness_commands": harness_commands(output_dir=str(output_dir)),
             "wall_s": wall, "machine": machine(), "harness_commit": shas.pop(),
             "seeds": [int(s) for s in seeds_all.pop()], "output_dir": str(output_dir)}
    return {"built": built, "tasks": tasks}


def check(grid: dict, n_seeds: int = 10) -> list[str]:
    """Every row has n_seeds runs on every task, each covering the task's ids; the same rows on every task."""
    problems, rowsets = [], set()
    for task, t in grid["tasks"].items():
        rowsets.add(tuple(sorted(t["rows"])))
        if len(t["gold"]) != len(t["ids"]) or len(set(t["ids"])) != len(t["ids"]):
            problems.append(f"{task}: ids/gold mismatch")
        for label, row in t["rows"].items():
            if len(row["runs"]) != n_seeds:
                problems.append(f"{task} / {label}: {len(row['runs'])} runs, not {n_seeds}")
            problems += [f"{task} / {label} / seed {s}: {len(p)} predictions for {len(t['ids'])} ids"
                         for s, p in row["runs"].items() if len(p) != len(t["ids"])]
    if len(rowsets) != 1:
        problems.append(f"tasks have different rows: {rowsets}")
    return problems


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--output-dir", type=Path, default=Path("../grid-out"))
    ap.add_argument("--out", type=Path, default=HERE / "grid.json.gz")
    ap.add_argument("--tasks", default="", help="comma-separated tasks to keep (default: every task of the folder)")
    ap.add_argument("--seeds", type=int, default=10, help="runs every row must have on every task (default 10)")
    args = ap.parse_args()
    grid = extract(args.output_dir, [t for t in args.tasks.split(",") if t] or None)
    problems = check(grid, args.seeds)
    if problems:
        raise SystemExit("\n".join(problems))
    raw = json.dumps(grid, ensure_ascii=False, separators=(",", ":"), sort_keys=False).encode()
    args.out.write_bytes(gzip.compress(raw, mtime=0))
    size = args.out.stat().st_size
    print(f"wrote {args.out} ({size / 1024:.1f} KiB gzipped, {len(raw) / 1024:.0f} KiB raw)")
    for task, t in grid["tasks"].items():
        print(f"  {task}: {len(t['ids'])} ids, {len(t['rows'])} rows x {len(next(iter(t['rows'].values()))['runs'])} "
              f"seeds, main {'+'.join(t['main_metrics'])} ({t['direction']} is better)")


if __name__ == "__main__":
    main()
