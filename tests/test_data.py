"""Loading, carving and fingerprinting task data; bad data gives one clear error line."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from harness.data import input_key, load_task_data, subset_indices
from harness.errors import HarnessError
from harness.catalog import validate_task
from harness.specs import TaskSpec


def spec(**kw) -> TaskSpec:
    base = dict(name="t", language="en", benchmark="x", kind="single_cls", label_names=["neg", "pos"],
                metrics=["accuracy"], main_score="accuracy",
                sources=[{"type": "local", "dir": "t", "format": "jsonl.gz", "splits": {"test": "dev"}}])
    base.update(kw)
    return validate_task(base)


def write_split(root: Path, split: str, rows: list[dict], task: str = "t") -> None:
    (root / task).mkdir(parents=True, exist_ok=True)
    with gzip.open(root / task / f"{split}.jsonl.gz", "wt", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def rows(n: int, dup_every: int = 0) -> list[dict]:
    out = []
    for i in range(n):
        text = f"text {i // 2}" if dup_every and i % dup_every == 0 else f"text {i}"
        out.append({"text": text, "label": "pos" if i % 3 else "neg"})
    return out


def test_dev_only_task_is_carved_deterministically_with_duplicates_on_one_side(tmp_path):
    write_split(tmp_path, "dev", rows(500, dup_every=5))
    a = load_task_data(spec(), tmp_path / "t.yaml", tmp_path, need_validation=True)
    b = load_task_data(spec(), tmp_path / "t.yaml", tmp_path, need_validation=True)
    assert a.fingerprint == b.fingerprint and a.carve == b.carve
    assert set(a.splits) == {"train", "validation", "test"}
    assert sum(len(v) for v in a.splits.values()) == 500  # nothing dropped
    assert a.carve["from"] == "dev" and a.carve["sizes"]["test"] == len(a.splits["test"])
    keys = {r: {input_key(ex, "single_cls") for ex in exs} for r, exs in a.splits.items()}
    assert not keys["train"] & keys["test"] and not keys["train"] & keys["validation"]
    assert a.overlaps == {"train/test": 0, "train/validation": 0, "validation/test": 0}
    ids = [ex["id"] for exs in a.splits.values() for ex in exs]
    assert len(ids) == len(set(ids))  # stable, unique ids even for duplicated texts


def test_validation_carved_from_train_only_when_needed(tmp_path):
    write_split(tmp_path, "train", rows(200))
    write_split(tmp_path, "dev", rows(20))
    s = spec(sources=[{"type": "local", "dir": "t", "splits": {"train": "train", "test": "dev"}}])
    with_val = load_task_data(s, tmp_path / "t.yaml", tmp_path, need_validation=True)
    assert len(with_val.splits["validation"]) == 20 and len(with_val.splits["train"]) == 180
    assert with_val.splits["test"] == load_task_data(s, tmp_path / "t.yaml", tmp_path, False).splits["test"]
    no_val = load_task_data(s, tmp_path / "t.yaml", tmp_path, need_validation=False)
    assert "validation" not in no_val.splits and len(no_val.splits["train"]) == 200 and no_val.carve is None


def test_label_map_and_source_ids(tmp_path):
    write_split(tmp_path, "dev", [{"idx": 7, "sentence": "a", "y": 0}, {"idx": 9, "sentence": "b", "y": 1},
                                  {"idx": 11, "sentence": "c", "y": 1}])  # a carve leaves no split empty
    s = spec(sources=[{"type": "local", "dir": "t", "splits": {"test": "dev"}, "columns": {"text": "sentence",
                       "label": "y"}, "label_map": {0: "neg", 1: "pos"}, "id_column": "idx"}],
             carve={"test_fraction": 0.49, "validation_fraction": 0.49})
    d = load_task_data(s, tmp_path / "t.yaml", tmp_path, need_validation=True)
    got = {ex["id"]: ex["label"] for exs in d.splits.values() for ex in exs}
    assert got == {"7": "neg", "9": "pos", "11": "pos"}


@pytest.mark.parametrize("rows_, match", [
    ([{"txt": "a", "label": "pos"}], r"row 1: column 'text' \(for field 'text'\) is missing \(did you mean 'txt'\?\)"),
    ([{"text": "a", "label": "pos"}, {"text": "b", "label": "positive"}],
     r"row 2: label 'positive' is not in label_names \['neg', 'pos'\] \(did you mean 'pos'\?\)"),
    ([], r"split 'dev' is empty"),
])
def test_bad_data_names_file_row_and_field(tmp_path, rows_, match):
    write_split(tmp_path, "dev", rows_)
    with pytest.raises(HarnessError, match=match) as e:
        load_task_data(spec(), tmp_path / "t.yaml", tmp_path, need_validation=True)
    assert "dev.jsonl.gz" in str(e.value)


def test_missing_split_file_and_missing_data_dir(tmp_path):
    with pytest.raises(HarnessError, match="split file not found"):
        load_task_data(spec(), tmp_path / "t.yaml", tmp_path, need_validation=True)
    with pytest.raises(HarnessError, match="pass --data-dir"):
        load_task_data(spec(), tmp_path / "t.yaml", None, need_validation=True)


def test_hub_source_offline_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    s = spec(sources=[{"type": "hub", "path": "nyu-mll/glue", "name": "sst2",
                       "splits": {"train": "train", "test": "validation"}}])
    with pytest.raises(HarnessError, match=r"hub:nyu-mll/glue/sst2\[train\]: could not load the Hub dataset"):
        load_task_data(s, tmp_path / "t.yaml", None, need_validation=True)


def test_ner_tags_checked(tmp_path):
    s = spec(kind="ner", label_names=["PER"], metrics=["entity_f1"], main_score="entity_f1")
    write_split(tmp_path, "dev", [{"tokens": ["张", "三"], "tags": ["B-PER", "I-LOC"]}])
    with pytest.raises(HarnessError, match="tag 'I-LOC' is not a BIO tag"):
        load_task_data(s, tmp_path / "t.yaml", tmp_path, need_validation=True)


def test_subset_is_deterministic_and_ordered():
    a = subset_indices(1000, 10)
    assert a == subset_indices(1000, 10) and a == sorted(a) and len(set(a)) == 10
    assert subset_indices(5, 10) == [0, 1, 2, 3, 4] and subset_indices(5, None) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("fmt, sep", [("csv", ","), ("tsv", "\t")])
def test_csv_and_tsv_sources(tmp_path, fmt, sep):
    (tmp_path / "t").mkdir()
    lines = [sep.join(["sentence1", "sentence2", "label"]), sep.join(["a b", "c d", "1"]),
             sep.join(["e f", "g h", "0"]), sep.join(["i j", "k l", "0"])]
    (tmp_path / "t" / f"dev.{fmt}").write_text("\n".join(lines) + "\n", encoding="utf-8")
    s = spec(kind="pair_cls", sources=[{"type": "local", "dir": "t", "format": fmt, "splits": {"test": "dev"},
                                        "columns": {"text_a": "sentence1", "text_b": "sentence2"},
                                        "label_map": {0: "neg", 1: "pos"}}],
             carve={"test_fraction": 0.49, "validation_fraction": 0.49})
    d = load_task_data(s, tmp_path / "t.yaml", tmp_path, need_validation=True)
    got = sorted((ex["text_a"], ex["text_b"], ex["label"]) for exs in d.splits.values() for ex in exs)
    assert got == [("a b", "c d", "pos"), ("e f", "g h", "neg"), ("i j", "k l", "neg")]
