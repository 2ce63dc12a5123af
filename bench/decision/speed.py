"""How long the decision takes, cold: a synthetic board of 6 rows × 20 tasks × 3 seeds with ~1,000 test examples per
task (result records and predictions files written the way the harness writes them), then, with an empty cache,
reading the folder, the draws (1,000 resamples of every run) and the decisions of every benchmark average and task;
then the same with the draws from the cache (what `leaderboard` and the app pay after the first time), and one
filter change (the decisions of a view without the leader).

    python bench/decision/speed.py [--out /tmp/decision-speed] [--examples 1000] [--libraries-imported]

The 20 tasks are the catalogue's GLUE, CLUE and FewCLUE tasks with their real specs and main metrics (accuracy,
F1 + accuracy, MCC, Pearson + Spearman, CLUENER macro F1 over entity texts, QA exact match + F1, multiple choice;
the three FewCLUE tasks with their 5 folds, so 15 runs per row there), predictions made up at a rising skill per
row (the last two rows close). A benchmark, never a test.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from harness import catalog, metrics, results  # noqa: E402
from harness.confighash import config_hash  # noqa: E402
from harness.record import (DataInfo, JobId, ModelInfo, ResultRecord, TaskInfo, Timing, Training)  # noqa: E402

TASKS = ("cola", "mrpc", "qnli", "rte", "sst2", "stsb", "afqmc", "c3", "cluener2020", "cluewsc2020", "cmnli",
         "cmrc2018", "csl", "iflytek", "ocnli", "tnews", "fewclue_bustm", "fewclue_csldcp", "fewclue_tnews",
         "chnsenticorp")
ROWS = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta")
WORDS = [chr(0x4e00 + i) for i in range(40)]


def example(spec, rng) -> tuple[dict, object]:
    """One made-up test example of the task's kind: (input fields, gold)."""
    if spec.kind == "regression":
        return {}, float(rng.random() * 5)
    if spec.kind == "ner":
        tokens = list(rng.choice(WORDS, 12))
        tags = ["O"] * 12
        for start in rng.choice(10, 2, replace=False):
            t = str(rng.choice(spec.label_names))
            tags[start], tags[start + 1] = f"B-{t}", f"I-{t}"
        return {"tokens": tokens}, tags
    if spec.kind == "extractive_qa":
        return {}, ["".join(rng.choice(WORDS, 3))]
    if spec.kind == "multiple_choice":
        return {}, int(rng.integers(0, 4))
    return {}, str(rng.choice(spec.label_names))


def guess(spec, gold, skill: float, rng):
    """A prediction right with probability ``skill`` (regression: noise shrinking with skill)."""
    right = rng.random() < skill
    if spec.kind == "regression":
        return gold + float(rng.normal(0, 3 * (1 - skill)))
    if right:
        return gold[0] if spec.kind == "extractive_qa" else gold
    if spec.kind == "ner":
        return ["O"] * len(gold)
    if spec.kind == "extractive_qa":
        return "".join(rng.choice(WORDS, 3))
    if spec.kind == "multiple_choice":
        return int(rng.integers(0, 4))
    return str(rng.choice(spec.label_names))


def build(out: Path, n_examples: int, seeds: tuple[int, ...] = (1, 2, 3)) -> None:
    reg = catalog.discover([])
    rng = np.random.default_rng(0)
    for name in TASKS:
        spec = reg[name].spec
        examples = [example(spec, rng) for _ in range(n_examples)]
        folds = list(spec.folds) if spec.folds else [None]
        for r, model in enumerate(ROWS):
            skill = 0.55 + 0.05 * r if r < 5 else 0.745  # rising skill; the last two rows close
            cfg = {"task": spec.model_dump(mode="json", exclude_defaults=True), "model": model}
            h = config_hash(cfg)
            for fold in folds:
                for seed in seeds:
                    preds = [guess(spec, g, skill, rng) for _, g in examples]
                    rows = [{"id": f"e{i}", **({"input": inp} if inp else {}), "gold": g, "prediction": p}
                            for i, ((inp, g), p) in enumerate(zip(examples, preds))]
                    inputs = [inp for inp, _ in examples] if spec.kind == "ner" else None
                    scores = metrics.compute(spec, preds, [g for _, g in examples], inputs)
                    key = Path(model, "main", name, "finetune", h, *([f"fold-{fold}"] if fold else []))
                    rec = ResultRecord(
                        job=JobId(model=model, revision="main", task=name, method="finetune", fold=fold, seed=seed,
                                  config_hash=h),
                        config=cfg, task_info=TaskInfo.of(spec),
                        model_info=ModelInfo(family="bert", parameters=1_000_000),
                        data=DataInfo(source={}, fingerprint="synthetic", sizes={"test": n_examples}),
                        metrics=scores, training=Training(steps=0, epochs=0.0),
                        timing=Timing(train_runtime_s=0.0, train_samples_per_s=0.0), created_at=results.now())
                    rfile = results.result_path(out, key, seed)
                    results.write_predictions(results.predictions_path(rfile), rows)
                    rec.write(rfile)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "decision-speed")
    ap.add_argument("--examples", type=int, default=1000)
    ap.add_argument("--libraries-imported", action="store_true",
                    help="import scipy.stats and seqeval before timing (cold then measures the work, not the imports)")
    args = ap.parse_args()
    if not (args.out / "results").is_dir():
        t0 = time.perf_counter()
        build(args.out, args.examples)
        print(f"built {args.out} in {time.perf_counter() - t0:.1f} s")
    cache = Path(tempfile.mkdtemp())
    os.environ["HARNESS_CACHE_DIR"] = str(cache)
    from leaderboard import decision, sig_cache
    from leaderboard.data import load_app_data

    if args.libraries_imported:  # as in a process that has scored before (the app after its first view)
        t0 = time.perf_counter()
        import scipy.stats  # noqa: F401
        import seqeval.metrics.sequence_labeling  # noqa: F401 - imports scikit-learn
        print(f"imported scipy.stats and seqeval (scikit-learn) first: {time.perf_counter() - t0:.2f} s")
    t0 = time.perf_counter()
    data = load_app_data(args.out)
    t1 = time.perf_counter()
    draws = sig_cache.draws_of(data)
    t2 = time.perf_counter()
    decs = decision.view_decisions(draws, data.table)
    t3 = time.perf_counter()
    n_runs = sum(len(c.full) for d in draws.values() for c in d.cells.values())
    print(f"{len(data.table)} rows × {len(draws)} tasks, {n_runs} runs, "
          f"{sum(d.n_examples for d in draws.values()) // len(draws)} examples per task, {decision.N_RESAMPLES} resamples")
    print(f"cold: read the folder {t1 - t0:.2f} s, draws {t2 - t1:.2f} s, {len(decs)} decisions {t3 - t2:.3f} s; "
          f"total {t3 - t0:.2f} s")
    t4 = time.perf_counter()
    again = sig_cache.load(sig_cache.fingerprint(args.out))
    decision.view_decisions(again, data.table)
    t5 = time.perf_counter()
    view = data.table[data.table["row"] != decs["GLUE"].leader.label]
    decision.view_decisions(again, data.table, view)
    t6 = time.perf_counter()
    print(f"warm (draws from the cache): {t5 - t4:.3f} s; a filter change (leader hidden): {t6 - t5:.3f} s")
    for b in ("GLUE", "CLUE", "FewCLUE"):
        print(decision.paragraph(decs[b], f"{b} average"))
    shutil.rmtree(cache, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
