"""Data loading cost per job (the part every job repeats in its own process): read + carve + fingerprint of a task's
splits, and tokenization of its training split, seconds per 1,000 examples.

    python bench/ray/load_time.py [--task sst2] [--data-dir ../shared/data] [--models demo.yaml]
                                  [--model minilm-l6-h384]

The input `--load-s-per-1k` of bench/ray/scaling_model.py.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))


def main() -> None:
    from harness import catalog, models
    from harness.adapters import make_adapter
    from harness.models import load_models_file
    from harness.data import load_task_data
    from harness.trainconfig import TrainConfig

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--task", default="sst2")
    p.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    p.add_argument("--models", type=Path, default=REPO / "demo.yaml")
    p.add_argument("--model", default="minilm-l6-h384")
    args = p.parse_args()
    entry = catalog.discover()[args.task]
    spec = next(m for m in load_models_file(args.models) if m.name == args.model)
    tok = models.tokenizer_for(spec)
    t0 = time.perf_counter()
    data = load_task_data(entry.spec, entry.path, args.data_dir, True)
    t_load = time.perf_counter() - t0
    n = sum(len(v) for v in data.splits.values())
    adapter = make_adapter(models.family(spec).adapter, entry.spec, tok, TrainConfig().for_device("cpu"))
    t0 = time.perf_counter()
    adapter.train_features(data.splits["train"])
    t_tok = time.perf_counter() - t0
    n_train = len(data.splits["train"])
    print(f"{args.task}: {n:,} examples read, carved and fingerprinted in {t_load:.2f} s "
          f"({1000 * t_load / n:.3f} s per 1,000); {n_train:,} training examples tokenized in {t_tok:.2f} s "
          f"({1000 * t_tok / n_train:.3f} s per 1,000); together {1000 * (t_load / n + t_tok / n_train):.3f} s per 1,000")


if __name__ == "__main__":
    main()
