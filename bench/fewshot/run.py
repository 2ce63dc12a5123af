"""Few-shot SST-2 with the packaged MiniLM: prompt (PET) vs plain fine-tuning on the same K examples per class.

    python bench/fewshot/run.py [--shots 16,32,64] [--samples 5] [--data-dir ../shared/data]
                                [--out bench/out/fewshot] [--device cpu|cuda] [--report-only]
                                [--epochs 20] [--max-eval-samples N]

For each K, `--samples` training sets of K examples per class (and a development set of the same size, for
checkpoint selection) are drawn from SST-2 train with sample seeds 0..samples-1, LM-BFF style. They are written as
the folds of a task `sst2_k<K>` (train_<i>, dev_<i>; test = the full SST-2 dev set, 872 rows) whose prompt and
labels are SST-2's own (harness/tasks/glue/sst2.yaml: "{text} It was {mask}." with great/terrible). Then one
harness run trains MiniLM both ways on every fold with the same hyperparameters, and the leaderboard reports
mean ± std over the folds. Writes <out>/fewshot.md. Finished jobs are reused (the harness skips them).
--epochs and --max-eval-samples (the harness flag: N of the test rows) shrink a run, e.g. to check the bench end to end in seconds:
`--shots 2 --samples 1 --epochs 1 --max-eval-samples 32`.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
from pathlib import Path
from typing import Optional

import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
# The recipe both methods share (the few-shot setting of LM-BFF, shortened for a CPU): best dev checkpoint.
RECIPE = {"learning_rate": 1e-4, "batch_size": 8, "epochs": 20, "max_length": 64, "warmup_ratio": 0.06}


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shots", default="16,32,64", help="examples per class, comma-separated")
    p.add_argument("--samples", type=int, default=5, help="sampled training sets (folds) per K")
    p.add_argument("--seed", type=int, default=42, help="training seed (the same on every fold)")
    p.add_argument("--data-dir", type=Path,
                   default=Path(os.environ.get("HARNESS_DATA_DIR", REPO.parent / "shared" / "data")))
    p.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "fewshot")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--report-only", action="store_true")
    p.add_argument("--epochs", type=float, default=RECIPE["epochs"], help=f"default {RECIPE['epochs']}")
    p.add_argument("--max-eval-samples", type=int, default=None, help="score N of the test rows (the harness flag; default all)")
    args = p.parse_args(argv)
    args.shots = [int(s) for s in args.shots.split(",") if s.strip()]
    return args


def _read(path: Path) -> list[dict]:
    import gzip

    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _write(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def build_tasks(data_dir: Path, out: Path, shots: list[int], samples: int) -> list[str]:
    """Write the K-shot folds and a task YAML per K (SST-2's spec with folds); returns the task names."""
    base = yaml.safe_load((REPO / "harness" / "tasks" / "glue" / "sst2.yaml").read_text(encoding="utf-8"))
    train = _read(data_dir / "sst2" / "train.jsonl.gz")
    dev = _read(data_dir / "sst2" / "dev.jsonl.gz")
    by_label: dict[str, list[dict]] = {}
    for row in {r["text"]: r for r in train}.values():  # distinct sentences only
        by_label.setdefault(row["label"], []).append(row)
    names = []
    for k in shots:
        name = f"sst2_k{k}"
        folder = out / "data" / name
        folder.mkdir(parents=True, exist_ok=True)
        _write(folder / "test.jsonl", dev)
        for i in range(samples):
            rng = random.Random(i)
            tr, dv = [], []
            for label in sorted(by_label):
                picked = rng.sample(by_label[label], 2 * k)
                tr += picked[:k]
                dv += picked[k:]
            rng.shuffle(tr)
            _write(folder / f"train_{i}.jsonl", tr)
            _write(folder / f"dev_{i}.jsonl", dv)
        spec = {**base, "name": name, "benchmark": "few-shot", "groups": ["fewshot"],
                "description": f"SST-2 with {k} labelled examples per class (train) and {k} per class (dev)",
                "caveats": [f"{samples} sampled training sets (folds, sample seeds 0..{samples - 1}) from SST-2 "
                            f"train; scored on the full SST-2 dev set (872 rows)"],
                "sources": [{"type": "local", "dir": name, "format": "jsonl",
                             "splits": {"train": "train_{fold}", "validation": "dev_{fold}", "test": "test"}}],
                "folds": [str(i) for i in range(samples)]}
        spec.pop("train", None)
        (out / "tasks").mkdir(parents=True, exist_ok=True)
        (out / "tasks" / f"{name}.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False),
                                                    encoding="utf-8")
        names.append(name)
    return names


def main(argv: Optional[list[str]] = None) -> int:
    from harness.cli import main as harness

    args = parse_args(argv)
    if not (args.data_dir / "sst2").is_dir():
        print(f"error: --data-dir: {args.data_dir}/sst2 not found", file=sys.stderr)
        return 2
    names = build_tasks(args.data_dir, args.out, args.shots, args.samples)
    if not args.report_only:
        sets = [f"{k}={v}" for k, v in RECIPE.items() if k not in ("learning_rate", "batch_size", "epochs")]
        rc = harness(["run", "--models", str(REPO / "demo.yaml"), "--only-models", "minilm-l6-h384",
                      "--tasks", ",".join(names), "--task-dir", str(args.out / "tasks"),
                      "--data-dir", str(args.out / "data"), "--output-dir", str(args.out / "runs"),
                      "--methods", "finetune,prompt", "--seeds", str(args.seed), "--device", args.device,
                      "--learning-rate", str(RECIPE["learning_rate"]), "--batch-size", str(RECIPE["batch_size"]),
                      "--epochs", f"{args.epochs:g}", "--keep-checkpoints", "none", "--quiet",
                      *[x for s in sets for x in ("--set", s)],
                      *(["--max-eval-samples", str(args.max_eval_samples)] if args.max_eval_samples else [])])
        if rc != 0:
            return rc
    return report(args.out, names, {**RECIPE, "epochs": args.epochs})


def report(out: Path, names: list[str], recipe: dict = RECIPE) -> int:
    from leaderboard.table import aggregate, load_results

    agg = aggregate(load_results(out / "runs").runs)
    lines = ["| K per class | method | accuracy (mean ± std over folds) | folds |", "|---|---|---|---|"]
    for name in names:
        for method in ("finetune", "prompt"):
            row = agg[(agg.task == name) & (agg.method == method)]
            if row.empty:
                continue
            r = row.iloc[0]
            lines.append(f"| {name.removeprefix('sst2_k')} | {method} | {100 * r['mean']:.1f} ± {100 * r['std']:.1f} "
                         f"| {int(r['folds']) or 1} |")
    text = "\n".join(lines) + "\n\nRecipe (both methods): " + json.dumps(recipe) + "\n"
    (out / "fewshot.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
