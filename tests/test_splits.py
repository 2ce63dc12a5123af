"""Splits mean what they say: a named split is read as named, a mapping that cannot be honoured is an error, and a
carve keeps rows that share a text (either sentence of a pair) on one side (docs/data.md)."""
from __future__ import annotations

import gzip
import json
import random
import time
from pathlib import Path

import pytest
import yaml

from harness.carve import components, shared_text
from harness.catalog import load_task_file
from harness.data import load_task_data
from harness.errors import HarnessError
from harness.kinds import get_kind
from harness.catalog import discover

PAIR = dict(name="p", language="en", benchmark="x", kind="pair_cls", label_names=["no", "yes"], metrics=["accuracy"],
            main_score="accuracy")


def task_file(root: Path, splits: dict, **extra) -> Path:
    spec = {**PAIR, "sources": [{"type": "local", "relative_to": "task_file", "dir": "data", "format": "jsonl.gz",
                                 "splits": splits}], **extra}
    path = root / "p.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    return path


def write_split(root: Path, split: str, rows: list[dict]) -> None:
    (root / "data").mkdir(parents=True, exist_ok=True)
    with gzip.open(root / "data" / f"{split}.jsonl.gz", "wt", encoding="utf-8") as f:
        f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def nli_rows(n_premises: int = 120, seed: int = 0) -> list[dict]:
    """NLI-like pairs: each premise with 3 hypotheses; every 7th premise also shares a hypothesis with the next
    premise (a chain through text_b), so some components span two or more premises."""
    rows = []
    for p in range(n_premises):
        for h in range(3):
            hyp = f"shared hypothesis {p + 1}" if h == 2 and p % 7 == 0 else f"hypothesis {p}.{h}"
            rows.append({"text_a": f"premise {p}", "text_b": hyp, "label": "yes" if (p + h) % 2 else "no"})
        if p % 7 == 6:  # the premise after a sharing one repeats that shared hypothesis
            rows.append({"text_a": f"premise {p + 1}", "text_b": f"shared hypothesis {p + 1}", "label": "no"})
    random.Random(seed).shuffle(rows)
    return rows


def sentences(exs: list[dict]) -> set[str]:
    return {ex[f] for ex in exs for f in ("text_a", "text_b")}


def test_components_link_rows_through_either_sentence():
    rows = [{"text_a": "a", "text_b": "x"}, {"text_a": "a", "text_b": "y"}, {"text_a": "b", "text_b": "y"},
            {"text_a": "c", "text_b": "z"}, {"text_a": "d", "text_b": "x"}]
    assert sorted(map(sorted, components(rows, ("text_a", "text_b")))) == [[0, 1, 2, 4], [3]]
    assert sorted(map(sorted, components(rows, ("text_a",)))) == [[0, 1], [2], [3], [4]]
    # multiple choice links through the passage only: generic questions and choices recur across passages
    mc = [{"context": f"c{i // 2}", "question": "关于这段对话，可以知道什么？", "choices": ["是", "否"]} for i in range(6)]
    assert sorted(map(sorted, components(mc, get_kind("multiple_choice").link_fields))) == [[0, 1], [2, 3], [4, 5]]


def test_grouped_carve_shares_no_sentence_with_train_and_is_deterministic(tmp_path):
    rows = nli_rows()
    write_split(tmp_path, "dev", rows)
    path = task_file(tmp_path, {"test": "dev"})
    a = load_task_data(load_task_file(path), path, None, need_validation=True)
    b = load_task_data(load_task_file(path), path, None, need_validation=True)
    assert a.fingerprint == b.fingerprint and a.splits == b.splits
    train = sentences(a.splits["train"])
    for role in ("validation", "test"):
        assert not sentences(a.splits[role]) & train, role
        assert not sentences(a.splits[role]) & sentences(a.splits["test" if role == "validation" else "validation"])
    assert a.shared_text == {"validation": 0.0, "test": 0.0}
    assert sum(len(v) for v in a.splits.values()) == len(rows)  # nothing dropped
    # near the requested sizes: within one component of round(fraction × n)
    biggest = max(map(len, components(rows, ("text_a", "text_b"))))
    assert abs(len(a.splits["test"]) - round(0.2 * len(rows))) < biggest
    assert abs(len(a.splits["validation"]) - round(0.1 * len(rows))) < biggest
    assert a.carve["method"].startswith("grouped by shared input text") and a.carve["sizes"]["test"] == len(
        a.splits["test"])
    # the carve depends on the texts, not on the file's row order; another seed gives another carve
    write_split(tmp_path, "dev", nli_rows(seed=1))
    c = load_task_data(load_task_file(path), path, None, need_validation=True)
    assert {r: sentences(v) for r, v in c.splits.items()} == {r: sentences(v) for r, v in a.splits.items()}
    other = task_file(tmp_path, {"test": "dev"}, carve={"seed": 1})
    d = load_task_data(load_task_file(other), other, None, need_validation=True)
    assert sentences(d.splits["test"]) != sentences(a.splits["test"]) and not sentences(d.splits["test"]) & sentences(
        d.splits["train"])


def test_validation_carved_from_train_and_a_named_tests_own_overlap_is_reported(tmp_path):
    train = nli_rows(60)
    write_split(tmp_path, "train", train)
    write_split(tmp_path, "dev", [{"text_a": "premise 0", "text_b": "new", "label": "no"},
                                  {"text_a": "other", "text_b": "new 2", "label": "yes"}])
    path = task_file(tmp_path, {"train": "train", "test": "dev"})
    d = load_task_data(load_task_file(path), path, None, need_validation=True)
    assert d.carve["from"] == "train" and d.carve["into"] == ["train", "validation"]
    assert not sentences(d.splits["validation"]) & sentences(d.splits["train"])
    assert d.shared_text["validation"] == 0.0
    # the named test split is used as named; its overlap with train (premise 0, if it stayed in train) is recorded
    assert len(d.splits["test"]) == 2
    expected = 0.5 if "premise 0" in sentences(d.splits["train"]) else 0.0
    assert d.shared_text["test"] == expected == shared_text(d.splits["train"], d.splits["test"], ("text_a", "text_b"))


@pytest.mark.parametrize("splits, extra, needle", [
    ({"validation": "dev", "test": "test"}, {}, "name 'validation' but no 'train'"),
    ({"train": "train"}, {}, "name no 'test' split"),
    ({"train": "dev", "test": "dev"}, {}, "name 'dev' for both train and test"),
    ({"train": "train", "validation": "train", "test": "dev"}, {}, "name 'train' for both validation and train"),
    ({"train": "train", "test": "dev"}, {"carve": {"test_fraction": 0.3}}, "field 'carve.test_fraction': no source carves"),
    ({"train": "train", "validation": "dev", "test": "test"}, {"carve": {"validation_max": 10}},
     "field 'carve.validation_max': no source carves"),
])
def test_a_mapping_that_cannot_be_honoured_is_an_error(tmp_path, splits, extra, needle):
    with pytest.raises(HarnessError, match="p.yaml") as e:
        load_task_file(task_file(tmp_path, splits, **extra))
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_a_carve_that_leaves_a_split_empty_is_an_error(tmp_path):
    write_split(tmp_path, "dev", [{"text_a": "same premise", "text_b": f"h{i}", "label": "no"} for i in range(40)])
    path = task_file(tmp_path, {"test": "dev"})
    with pytest.raises(HarnessError, match=r"p.yaml: field 'carve': carving split 'dev' \(40 rows, 1 groups of rows "
                                           r"sharing a text\) leaves the"):
        load_task_data(load_task_file(path), path, None, need_validation=True)


@pytest.mark.parametrize("task", ["cmnli", "qnli"])
def test_real_nli_carves_share_no_sentence_with_train(task, data_dir):
    """CMNLI and QNLI are carved from their dev files; before grouping by shared sentences 90% (CMNLI) and ~60%
    (QNLI) of the carved validation/test pairs shared a sentence with train."""
    entry = discover()[task]
    t0 = time.perf_counter()
    d = load_task_data(entry.spec, entry.path, data_dir, need_validation=True)
    assert d.carve and d.carve["into"] == ["train", "validation", "test"]
    assert d.shared_text == {"validation": 0.0, "test": 0.0}
    train = sentences(d.splits["train"])
    assert not sentences(d.splits["validation"]) & train and not sentences(d.splits["test"]) & train
    n = sum(len(v) for v in d.splits.values())
    assert abs(len(d.splits["test"]) - round(0.2 * n)) <= 20 and abs(len(d.splits["validation"]) - round(0.1 * n)) <= 20
    print(f"{task}: {d.carve['sizes']} in {time.perf_counter() - t0:.1f}s")


def test_a_byte_order_mark_is_read_and_a_cut_gzip_names_the_file(tmp_path):
    rows = nli_rows(20)
    (tmp_path / "data").mkdir()
    body = "".join(json.dumps(r) + "\n" for r in rows)
    (tmp_path / "data" / "dev.jsonl").write_text("\ufeff" + body, encoding="utf-8")
    path = task_file(tmp_path, {"test": "dev"}, carve={"seed": 0})
    path.write_text(path.read_text().replace("format: jsonl.gz", "format: jsonl"))
    d = load_task_data(load_task_file(path), path, None, need_validation=True)
    assert sum(len(v) for v in d.splits.values()) == len(rows)
    write_split(tmp_path, "dev", rows)
    whole = (tmp_path / "data" / "dev.jsonl.gz").read_bytes()
    (tmp_path / "data" / "dev.jsonl.gz").write_bytes(whole[: len(whole) // 2])
    gz = task_file(tmp_path, {"test": "dev"})
    with pytest.raises(HarnessError, match=r"dev.jsonl.gz: line \d+: the file is a damaged gzip file"):
        load_task_data(load_task_file(gz), gz, None, need_validation=True)
