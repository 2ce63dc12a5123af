"""Parity benchmark: the harness vs a plain run_glue.py-style Trainer run, same model, data and hyperparameters.

    python bench/parity/run.py [--tasks sst2,mrpc,stsb] [--seeds 1,2,3] [--max-train-samples 1000]
                               [--data-dir ../shared/data] [--out bench/out/parity] [--device cpu|cuda] [--epochs 3]
                               [--max-eval-samples N]

1. the harness, through its CLI, on bench/parity/models.yaml (packaged MiniLM), with run_glue's recipe:
   lr 2e-5, batch 32, max length 128, 3 epochs, `selection=last` (no validation carve, no early stopping,
   no checkpoint selection: the final weights are scored, as run_glue does);
2. bench/parity/run_glue_reference.py once per task × seed, each its own process;
3. per task, the main score (×100) of both sides over the seeds: mean ± sample std, |difference|, and
   tolerance = max(1 point, 2 × the larger std). PASS when |difference| <= tolerance.

Writes <out>/parity.md and <out>/parity.json; exits 0 only if every task passes. Finished work is reused:
the harness skips jobs whose result file exists, and a reference run is skipped when its JSON exists with
the same arguments. --report-only just rebuilds the table from what is there. --max-eval-samples scores both sides
on the same N dev rows (the harness's subset rule), e.g. to check the bench end to end in seconds:
`--tasks mrpc --seeds 1 --max-train-samples 32 --epochs 1 --max-eval-samples 32` (too small to say anything).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Optional

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
MODEL_NAME = "minilm-l6-h384"
MAIN_METRICS = {"sst2": ["accuracy"], "mrpc": ["f1", "accuracy"], "stsb": ["pearson", "spearman"]}
RECIPE = {"learning_rate": 2e-5, "batch_size": 32, "max_length": 128}


def _ints(text: str) -> list[int]:
    return [int(s) for s in text.split(",") if s.strip()]


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tasks", default="sst2,mrpc,stsb")
    p.add_argument("--seeds", type=_ints, default=[1, 2, 3])
    p.add_argument("--max-train-samples", type=int, default=1000)
    p.add_argument("--data-dir", type=Path,
                   default=Path(os.environ.get("HARNESS_DATA_DIR", REPO.parent / "shared" / "data")))
    p.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "parity")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--epochs", type=float, default=3.0)
    p.add_argument("--max-eval-samples", type=int, default=None,
                   help="score both sides on N dev rows (default: the whole dev set)")
    p.add_argument("--learning-rate", type=float, default=RECIPE["learning_rate"],
                   help="both sides (default 2e-5, run_glue's recipe); use another --out for other values")
    p.add_argument("--harness-set", action="append", default=[], metavar="KEY=VALUE",
                   help="extra --set for the harness (for investigations, e.g. group_by_length=false); "
                        "it changes the harness config hash, so results land in their own folder")
    p.add_argument("--report-only", action="store_true", help="run nothing; rebuild the table from existing results")
    args = p.parse_args(argv)
    args.tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    bad = [t for t in args.tasks if t not in MAIN_METRICS]
    if bad:
        p.error(f"--tasks: unsupported {bad}; choose from {sorted(MAIN_METRICS)}")
    args.data_dir = args.data_dir.resolve()
    args.out = args.out.resolve()
    return args


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("HF_DATASETS_OFFLINE", "1")
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _fmt_num(x: float) -> str:
    return f"{x:g}"


# ---------------------------------------------------------------------------- running

def harness_command(args: argparse.Namespace) -> list[str]:
    cmd = [sys.executable, "-m", "harness", "run", "--models", str(HERE / "models.yaml"),
           "--tasks", ",".join(args.tasks), "--data-dir", str(args.data_dir),
           "--output-dir", str(args.out / "harness"), "--seeds", ",".join(map(str, args.seeds)),
           "--max-train-samples", str(args.max_train_samples), "--epochs", _fmt_num(args.epochs),
           "--learning-rate", _fmt_num(args.learning_rate), "--batch-size", str(RECIPE["batch_size"]),
           "--set", "selection=last", "--set", f"max_length={RECIPE['max_length']}",
           "--keep-checkpoints", "none", "--device", args.device, "--quiet"]
    if args.max_eval_samples is not None:
        cmd += ["--max-eval-samples", str(args.max_eval_samples)]
    for kv in args.harness_set:
        cmd += ["--set", kv]
    return cmd


def run_harness(args: argparse.Namespace) -> dict[str, Any]:
    cmd = harness_command(args)
    log_path = args.out / "logs" / "harness.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    print("[parity] harness:", " ".join(cmd), flush=True)
    t0 = time.perf_counter()
    with open(log_path, "a", encoding="utf-8") as log:
        log.write(f"\n===== {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(cmd)}\n")
        log.flush()
        rc = subprocess.run(cmd, cwd=REPO, env=_env(), stdout=log, stderr=subprocess.STDOUT).returncode
    wall = time.perf_counter() - t0
    print(f"[parity] harness finished: exit {rc} in {wall:.0f} s (log: {log_path})", flush=True)
    return {"command": cmd, "exit_code": rc, "wall_s": round(wall, 1), "log": str(log_path)}


def reference_path(args: argparse.Namespace, task: str, seed: int) -> Path:
    return args.out / "reference" / task / f"seed{seed}.json"


def _reference_args_match(rec: dict, args: argparse.Namespace, task: str, seed: int) -> bool:
    a = rec.get("args", {})
    return (a.get("task") == task and a.get("seed") == seed and a.get("max_train_samples") == args.max_train_samples
            and a.get("max_eval_samples") == args.max_eval_samples and float(a.get("epochs", -1)) == args.epochs
            and a.get("lr") == args.learning_rate and a.get("batch_size") == RECIPE["batch_size"]
            and a.get("max_length") == RECIPE["max_length"] and a.get("device") == args.device
            and Path(a.get("data_dir", "")).resolve() == args.data_dir)


def run_reference(args: argparse.Namespace, task: str, seed: int) -> dict[str, Any]:
    out = reference_path(args, task, seed)
    if out.exists():
        try:
            if _reference_args_match(json.loads(out.read_text()), args, task, seed):
                print(f"[parity] reference {task} seed {seed}: already done ({out})", flush=True)
                return {"task": task, "seed": seed, "skipped": True, "exit_code": 0, "wall_s": 0.0}
        except (OSError, json.JSONDecodeError):
            pass
        print(f"[parity] reference {task} seed {seed}: existing result has other arguments; rerunning", flush=True)
    cmd = [sys.executable, str(HERE / "run_glue_reference.py"), "--task", task, "--data-dir", str(args.data_dir),
           "--seed", str(seed), "--max-train-samples", str(args.max_train_samples), "--output", str(out),
           "--epochs", _fmt_num(args.epochs), "--lr", _fmt_num(args.learning_rate),
           "--batch-size", str(RECIPE["batch_size"]), "--max-length", str(RECIPE["max_length"]),
           "--device", args.device]
    if args.max_eval_samples is not None:
        cmd += ["--max-eval-samples", str(args.max_eval_samples)]
    log_path = args.out / "logs" / f"reference-{task}-seed{seed}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with open(log_path, "w", encoding="utf-8") as log:
        log.write(" ".join(cmd) + "\n")
        log.flush()
        rc = subprocess.run(cmd, cwd=REPO, env=_env(), stdout=log, stderr=subprocess.STDOUT).returncode
    wall = time.perf_counter() - t0
    print(f"[parity] reference {task} seed {seed}: exit {rc} in {wall:.0f} s", flush=True)
    return {"task": task, "seed": seed, "skipped": False, "exit_code": rc, "wall_s": round(wall, 1),
            "log": str(log_path)}


# ---------------------------------------------------------------------------- reading results

def _harness_matches(rec: dict, args: argparse.Namespace) -> bool:
    cfg = rec.get("config", {})
    train, subset = cfg.get("train", {}), cfg.get("subset", {})
    extra = dict(kv.split("=", 1) for kv in args.harness_set)
    return (train.get("learning_rate") == args.learning_rate and train.get("batch_size") == RECIPE["batch_size"]
            and train.get("max_length") == RECIPE["max_length"] and float(train.get("epochs", -1)) == args.epochs
            and train.get("selection") == "last" and subset.get("max_train_samples") == args.max_train_samples
            and subset.get("max_eval_samples") == args.max_eval_samples
            and all(str(train.get(k)).lower() == v.lower() for k, v in extra.items()))


def harness_results(args: argparse.Namespace, task: str) -> tuple[dict[int, dict], list[str]]:
    """seed -> result record of the newest matching configuration; plus notes on what was found."""
    root = args.out / "harness" / "results" / MODEL_NAME
    by_dir: dict[Path, dict[int, dict]] = {}
    for f in root.glob(f"*/{task}/finetune/*/seed*.json"):
        try:
            rec = json.loads(f.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if _harness_matches(rec, args) and rec.get("job", {}).get("seed") in args.seeds:
            by_dir.setdefault(f.parent, {})[rec["job"]["seed"]] = rec
    notes = []
    if not by_dir:
        return {}, notes
    if len(by_dir) > 1:
        notes.append(f"{task}: {len(by_dir)} harness configurations match the recipe "
                     f"({', '.join(d.name for d in by_dir)}); using the newest")
    newest = max(by_dir, key=lambda d: max(r.get("created_at", "") for r in by_dir[d].values()))
    return by_dir[newest], notes


def reference_results(args: argparse.Namespace, task: str) -> dict[int, dict]:
    found = {}
    for seed in args.seeds:
        p = reference_path(args, task, seed)
        if p.exists():
            rec = json.loads(p.read_text())
            if _reference_args_match(rec, args, task, seed):
                found[seed] = rec
    return found


def majority_baseline(args: argparse.Namespace, task: str) -> Optional[float]:
    """Main score ×100 on dev of always predicting the most frequent dev label (None for regression)."""
    import gzip

    if task == "stsb":
        return None
    with gzip.open(args.data_dir / task / "dev.jsonl.gz", "rt", encoding="utf-8") as f:
        labels = [json.loads(line)["label"] for line in f if line.strip()]
    top = max(set(labels), key=labels.count)
    acc = labels.count(top) / len(labels)
    if task == "mrpc":  # F1 of 'equivalent' when everything is predicted as the majority class
        f1 = 2 * acc / (1 + acc) if top == "equivalent" else 0.0
        return 100 * (f1 + acc) / 2
    return 100 * acc


def _mean_std(xs: list[float]) -> tuple[Optional[float], Optional[float]]:
    if not xs:
        return None, None
    return statistics.fmean(xs), (statistics.stdev(xs) if len(xs) > 1 else 0.0)


def compare(args: argparse.Namespace) -> dict[str, Any]:
    rows, notes = [], []
    for task in args.tasks:
        h, n = harness_results(args, task)
        notes += n
        r = reference_results(args, task)
        for seed, rec in sorted(h.items()):
            sizes = rec.get("data", {}).get("sizes", {})
            if rec.get("data", {}).get("carve") or sizes.get("validation"):
                notes.append(f"{task} seed {seed}: harness carved a validation split ({rec['data'].get('carve')})")
            ref = r.get(seed)
            if ref and sizes.get("train") != ref["data"]["train"]:
                notes.append(f"{task} seed {seed}: train sizes differ (harness {sizes.get('train')}, "
                             f"reference {ref['data']['train']})")
            if ref and sizes.get("test") != ref["data"]["dev"]:
                notes.append(f"{task} seed {seed}: dev sizes differ (harness {sizes.get('test')}, "
                             f"reference {ref['data']['dev']})")
        missing_h = [s for s in args.seeds if s not in h]
        missing_r = [s for s in args.seeds if s not in r]
        hm = [100 * h[s]["metrics"]["main"] for s in args.seeds if s in h]
        rm = [100 * r[s]["metrics"]["main"] for s in args.seeds if s in r]
        h_mean, h_std = _mean_std(hm)
        r_mean, r_std = _mean_std(rm)
        complete = not missing_h and not missing_r
        if h_mean is not None and r_mean is not None:
            diff = abs(h_mean - r_mean)
            tol = max(1.0, 2 * max(h_std, r_std))
            passed = complete and diff <= tol
        else:
            diff = tol = None
            passed = False
        per_metric = {}
        for m in MAIN_METRICS[task]:
            per_metric[m] = {"harness": _mean_std([100 * h[s]["metrics"][m] for s in args.seeds if s in h]),
                             "reference": _mean_std([100 * r[s]["metrics"][m] for s in args.seeds if s in r])}
        rows.append({
            "task": task, "main": "+".join(MAIN_METRICS[task]),
            "harness": {"mean": h_mean, "std": h_std, "per_seed": {s: 100 * h[s]["metrics"]["main"] for s in h},
                        "missing_seeds": missing_h,
                        "train_samples_per_s": _mean_std([h[s]["timing"]["train_samples_per_s"] for s in h])[0],
                        "eval_samples_per_s": _mean_std([h[s]["timing"]["eval_samples_per_s"] for s in h])[0],
                        "train_runtime_s": _mean_std([h[s]["timing"]["train_runtime_s"] for s in h])[0],
                        "steps": sorted({h[s]["training"]["steps"] for s in h}),
                        "files": {s: h[s]["job"]["config_hash"] for s in h}},
            "reference": {"mean": r_mean, "std": r_std, "per_seed": {s: 100 * r[s]["metrics"]["main"] for s in r},
                          "missing_seeds": missing_r,
                          "train_samples_per_s": _mean_std([r[s]["train_samples_per_s"] for s in r])[0],
                          "eval_samples_per_s": _mean_std([r[s]["eval_samples_per_s"] for s in r])[0],
                          "train_runtime_s": _mean_std([r[s]["train_runtime_s"] for s in r])[0],
                          "steps": sorted({r[s]["steps"] for s in r})},
            "majority_baseline": majority_baseline(args, task),
            "per_metric": per_metric, "abs_diff": diff, "tolerance": tol, "passed": passed,
        })
    return {"rows": rows, "notes": notes}


# ---------------------------------------------------------------------------- report

def _ms(mean: Optional[float], std: Optional[float]) -> str:
    return "—" if mean is None else f"{mean:.2f} ± {std:.2f}"


def _f(x: Optional[float], nd: int = 1) -> str:
    return "—" if x is None else f"{x:.{nd}f}"


def to_markdown(report: dict[str, Any], args: argparse.Namespace) -> str:
    dev = "full dev set" if args.max_eval_samples is None else f"dev subset {args.max_eval_samples}"
    lines = [f"# Parity: harness vs run_glue-style Trainer ({MODEL_NAME})", "",
             f"Train subset {args.max_train_samples} (same examples both sides), {dev}; lr "
             f"{args.learning_rate:g}, batch {RECIPE['batch_size']}, max length {RECIPE['max_length']}, "
             f"{args.epochs:g} epochs, no early stopping; seeds {','.join(map(str, args.seeds))}; device "
             f"{args.device}. Scores ×100, mean ± sample std over seeds; tolerance = max(1, 2 × larger std).", "",
             "| task | main score | harness | reference | abs diff | tolerance | result | harness train samples/s "
             "| reference train samples/s |",
             "|---|---|---|---|---|---|---|---|---|"]
    for row in report["rows"]:
        h, r = row["harness"], row["reference"]
        res = "PASS" if row["passed"] else ("FAIL" if row["abs_diff"] is not None else "MISSING")
        if row["abs_diff"] is not None and (h["missing_seeds"] or r["missing_seeds"]):
            res = "INCOMPLETE"
        lines.append(f"| {row['task']} | {row['main']} | {_ms(h['mean'], h['std'])} | {_ms(r['mean'], r['std'])} | "
                     f"{_f(row['abs_diff'], 2)} | {_f(row['tolerance'], 2)} | {res} | "
                     f"{_f(h['train_samples_per_s'])} | {_f(r['train_samples_per_s'])} |")
    lines += ["", "Per seed (main score ×100) and per metric:", "",
              "| task | side | " + " | ".join(f"seed {s}" for s in args.seeds) + " | metrics (mean ± std) |",
              "|---|---|" + "---|" * len(args.seeds) + "---|"]
    for row in report["rows"]:
        for side in ("harness", "reference"):
            ps = row[side]["per_seed"]
            cells = " | ".join(_f(ps.get(s), 2) for s in args.seeds)
            mets = "; ".join(f"{m} {_ms(*row['per_metric'][m][side])}" for m in row["per_metric"])
            lines.append(f"| {row['task']} | {side} | {cells} | {mets} |")
    notes = list(report["notes"])
    for row in report["rows"]:
        base = row.get("majority_baseline")
        if base is None:
            continue
        near = [side for side in ("harness", "reference")
                if row[side]["mean"] is not None and abs(row[side]["mean"] - base) <= 1.0]
        notes.append(f"{row['task']}: majority-class baseline on dev is {base:.2f}"
                     + (f"; {' and '.join(near)} within 1 point of it (the model has barely learned the task, "
                        f"so agreement here says little)" if near else ""))
    if notes:
        lines += ["", "Notes:", ""] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def main(argv: Optional[list[str]] = None) -> int:
    args = parse_args(argv)
    if not args.data_dir.is_dir():
        print(f"error: --data-dir: folder '{args.data_dir}' does not exist", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    runs: dict[str, Any] = {}
    wall: Optional[float] = None
    if args.report_only:
        try:  # keep what the run that produced the results recorded
            prev = json.loads((args.out / "parity.json").read_text())
            runs, wall = prev.get("runs", {}), prev.get("wall_s")
        except (OSError, json.JSONDecodeError):
            pass
    else:
        runs["harness"] = run_harness(args)
        runs["reference"] = [run_reference(args, t, s) for t in args.tasks for s in args.seeds]
        wall = time.perf_counter() - t0
    report = compare(args)
    if runs.get("harness", {}).get("exit_code"):
        report["notes"].append(f"the harness exited with code {runs['harness']['exit_code']} "
                               f"(see {runs['harness']['log']})")
    for rr in runs.get("reference", []):
        if rr["exit_code"]:
            report["notes"].append(f"reference {rr['task']} seed {rr['seed']} exited with code {rr['exit_code']} "
                                   f"(see {rr.get('log')})")
    md = to_markdown(report, args)
    (args.out / "parity.md").write_text(md, encoding="utf-8")
    all_pass = bool(report["rows"]) and all(r["passed"] for r in report["rows"])
    (args.out / "parity.json").write_text(json.dumps({
        "passed": all_pass, "model": MODEL_NAME,
        "recipe": {**RECIPE, "learning_rate": args.learning_rate, "epochs": args.epochs, "selection": "last"},
        "tasks": args.tasks, "seeds": args.seeds, "max_train_samples": args.max_train_samples,
        "max_eval_samples": args.max_eval_samples,
        "device": args.device, "data_dir": str(args.data_dir), "harness_set": args.harness_set,
        "wall_s": None if wall is None else round(wall, 1), "runs": runs, **report},
        indent=2, default=str) + "\n", encoding="utf-8")
    print(md)
    took = "" if wall is None else f"wall time {wall:.0f} s; "
    print(f"[parity] {took}{'all tasks PASS' if all_pass else 'NOT all tasks pass'}; "
          f"wrote {args.out / 'parity.md'} and {args.out / 'parity.json'}", flush=True)
    return 0 if all_pass else 1


if __name__ == "__main__":
    sys.exit(main())
