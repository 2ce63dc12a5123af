"""bench/fewshot/run.py builds valid few-shot tasks: K per class, disjoint train/dev, one fold per sample."""
from __future__ import annotations

import importlib.util
import json
from collections import Counter
from pathlib import Path

from harness.catalog import load_task_file
from harness.data import load_task_data

REPO = Path(__file__).resolve().parents[1]


def _bench():
    spec = importlib.util.spec_from_file_location("fewshot_run", REPO / "bench" / "fewshot" / "run.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_fewshot_tasks_are_k_per_class_folds_of_sst2(data_dir, tmp_path):
    names = _bench().build_tasks(data_dir, tmp_path, [4], 3)
    assert names == ["sst2_k4"]
    path = tmp_path / "tasks" / "sst2_k4.yaml"
    spec = load_task_file(path)
    assert spec.folds == ["0", "1", "2"] and spec.prompt is not None  # sst2's own prompt
    trains = []
    for fold in spec.folds:
        data = load_task_data(spec, path, tmp_path / "data", need_validation=True, fold=fold)
        train, dev, test = (data.splits[r] for r in ("train", "validation", "test"))
        assert Counter(ex["label"] for ex in train) == {"negative": 4, "positive": 4}
        assert Counter(ex["label"] for ex in dev) == {"negative": 4, "positive": 4}
        assert not {ex["text"] for ex in train} & {ex["text"] for ex in dev}
        assert len(test) == 872
        trains.append(sorted(ex["text"] for ex in train))
    assert len({json.dumps(t) for t in trains}) == 3  # each fold is its own sample
