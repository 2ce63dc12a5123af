"""The CMRC 2018, SQuAD and CLUENER2020 scorers agree with the benchmarks' official evaluation scripts.

The reference values in ../shared/reference (README there) were computed with the official scripts: CMRC 2018's
cmrc2018_evaluate.py v6 and CLUENER2020's score.py. Tests that need them, or the CLUENER dev file, skip with a
message when they are absent. The reference stores floats to 10 decimals, hence the 1e-9 tolerance.
"""
from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import numpy as np
import pytest

from harness import metrics
from harness.catalog import load_task_file, validate_task
from harness.qa_scoring import cmrc_pair, cmrc_tokens

REPO = Path(__file__).resolve().parents[1]
REFERENCE = Path(os.environ.get("HARNESS_REFERENCE_DIR", REPO.parent / "shared" / "reference"))
DATA_DIR = Path(os.environ.get("HARNESS_DATA_DIR", REPO.parent / "shared" / "data"))
SOURCES = [{"type": "local", "dir": "x", "splits": {"test": "test"}}]
TOL = 1e-9

CMRC = validate_task(dict(name="cmrc", language="zh", benchmark="b", kind="extractive_qa", qa_f1="char",
                          sources=SOURCES, metrics=["exact_match", "qa_f1"], main_score=["exact_match", "qa_f1"]))
SQUAD = validate_task(dict(name="squad", language="en", benchmark="b", kind="extractive_qa", sources=SOURCES,
                           metrics=["exact_match", "qa_f1"], main_score=["exact_match", "qa_f1"]))


def _reference(name: str) -> Path:
    path = REFERENCE / name
    if not path.is_file():
        pytest.skip(f"official reference values {path} not found (set HARNESS_REFERENCE_DIR or place "
                    "../shared/reference)")
    return path


# ---------------------------------------------------------------- CMRC 2018

def test_cmrc2018_matches_the_official_script_on_every_reference_case():
    cases = [json.loads(line) for line in _reference("cmrc2018_official_cases.jsonl").read_text("utf-8").splitlines()]
    assert len(cases) == 525
    wrong = []
    for c in cases:
        em = metrics.exact_match([c["prediction"]], [c["answers"]], CMRC)
        f1 = metrics.qa_f1([c["prediction"]], [c["answers"]], CMRC)
        if em != c["official_em"] or abs(f1 - c["official_f1"]) > TOL:
            wrong.append((c["prediction"], c["answers"], em, f1, c["official_em"], c["official_f1"]))
    assert not wrong, f"{len(wrong)} of {len(cases)} differ from the official script, e.g. {wrong[:3]}"


def test_cmrc2018_segmentation_and_punctuation_as_the_script():
    # nltk splits the non-CJK runs: a contraction is two tokens, '1,000' one; the script's punctuation list only
    # is removed ('.' and '%' are not in it) and a removed character does not end a run ('covid19' is one token)
    assert cmrc_tokens("Don't stop 1,000人") == ["do", "n't", "stop", "1,000", "人"]
    assert cmrc_tokens("COVID-19疫情") == ["covid19", "疫", "情"]
    assert cmrc_tokens("北京大学.") == ["北", "京", "大", "学", "."]
    # '……' is one two-character entry of the script's list: a lone '…' is kept
    assert cmrc_tokens("红楼梦…") == ["红", "楼", "梦", "…"]
    # EM: lowercased, edge-stripped, the list's punctuation removed, inner spaces kept
    assert cmrc_pair("《红楼梦》", "红楼梦") == (1.0, 1.0)
    assert cmrc_pair("纽约 New York", "纽约New York") == (0.0, 1.0)
    # an empty prediction matches an answer that is only punctuation (EM), never overlaps (F1)
    assert cmrc_pair("", "。") == (1.0, 0.0) and cmrc_pair(None, "北京") == (0.0, 0.0)


# ---------------------------------------------------------------- SQuAD v1.1

def test_squad_em_of_an_empty_normalised_prediction_is_the_official_one():
    # SQuAD v1.1's script compares normalised strings: '' == '' is a match; F1 is 0 without overlapping tokens
    assert metrics.exact_match(["the"], [["a"]], SQUAD) == 1.0
    assert metrics.exact_match(["?!"], [["An"]], SQUAD) == 1.0
    assert metrics.qa_f1(["?!"], [["An"]], SQUAD) == 0.0
    assert metrics.exact_match([""], [["a cat"]], SQUAD) == 0.0
    assert metrics.exact_match([None], [["cat", "the"]], SQUAD) == 1.0  # max over answers


# ---------------------------------------------------------------- CLUENER2020

NER = validate_task(dict(name="n", language="zh", benchmark="b", kind="ner", label_names=["name", "address", "book"],
                         metrics=["cluener_macro_f1", "entity_f1"], main_score="cluener_macro_f1", sources=SOURCES))


def test_cluener_matches_entities_by_text_and_averages_types():
    tokens = list("张三和张三在北京")
    gold = ["B-name", "I-name", "O", "B-name", "I-name", "O", "B-address", "I-address"]
    # the second 张三 is missed and 北京 is read as a book: by text, name is found (one text, counted once)
    pred = ["B-name", "I-name", "O", "O", "O", "O", "B-book", "I-book"]
    scores = metrics.compute(NER, [pred], [gold], [{"tokens": tokens}])
    # name: TP 1 -> F1 1; address: FN 1 -> 0; book: FP 1 -> 0 (score.py divides by zero there)
    assert scores["cluener_macro_f1"] == pytest.approx(1 / 3) and scores["main"] == scores["cluener_macro_f1"]
    assert scores["entity_f1"] == pytest.approx(2 * 0.5 * (1 / 3) / (0.5 + 1 / 3))  # by position: 1 of 2 / 1 of 3
    got = NER.task_kind.breakdown(NER, [pred], [gold], [{"tokens": tokens}])
    assert got["name"]["text_f1"] == 1.0 and got["name"]["recall"] == 0.5  # by text vs by position
    assert got["address"]["text_recall"] == 0.0 and got["book"]["text_precision"] == 0.0
    with pytest.raises(ValueError, match="cluener_macro_f1"):
        metrics.compute(NER, [pred], [gold])  # needs the words


def test_cluener_resampled_score_agrees_with_the_metric():
    rng = np.random.default_rng(0)
    tags = ["O", "B-name", "I-name", "B-address", "I-address", "B-book"]
    rows = {}
    for i in range(30):
        n = int(rng.integers(3, 9))
        rows[str(i)] = {"input": {"tokens": list(rng.choice(list("甲乙丙丁"), n))},
                        "gold": list(rng.choice(tags, n)), "prediction": list(rng.choice(tags, n))}
    ids = list(rows)
    metric = metrics.REGISTRY["cluener_macro_f1"]
    score = metric.resampler([rows[i]["prediction"] for i in ids], [rows[i]["gold"] for i in ids], NER,
                             [rows[i]["input"] for i in ids])
    how = metric.resampled_as
    idx = np.array([3, 3, 7, 12, 20, 29, 0])
    sub = [rows[ids[j]] for j in idx]
    expected = metrics.cluener_macro_f1([r["prediction"] for r in sub], [r["gold"] for r in sub], NER,
                                        [r["input"] for r in sub])
    assert how == "entity counts" and score(idx) == pytest.approx(expected, abs=1e-12)


def test_cluener2020_matches_the_official_score_on_the_reference_sets():
    ref = json.loads(gzip.decompress(_reference("cluener2020_official_cases.json.gz").read_bytes()))
    dev = DATA_DIR / "cluener2020" / "dev.jsonl.gz"
    if not dev.is_file():
        pytest.skip(f"CLUENER2020 dev file {dev} not found (set HARNESS_DATA_DIR or place ../shared/data)")
    task = load_task_file(REPO / "harness" / "tasks" / "clue" / "cluener2020.yaml")
    assert task.main_metrics == ["cluener_macro_f1"] and "entity_f1" in task.metrics
    rows = [json.loads(line) for line in gzip.open(dev, "rt", encoding="utf-8")]
    gold, inputs = [r["tags"] for r in rows], [{"tokens": r["tokens"]} for r in rows]
    assert len(ref["sets"]) == 3
    for s in ref["sets"]:
        scores = metrics.compute(task, s["predicted_tags"], gold, inputs)
        assert abs(scores["main"] - s["official_macro_f1"]) <= TOL
        assert abs(scores["entity_f1"] - s["micro_f1_seqeval_style"]) <= TOL
        per_type = task.task_kind.breakdown(task, s["predicted_tags"], gold, inputs)
        assert set(s["official_per_type_f1"]) == set(task.label_names)
        for name, f1 in s["official_per_type_f1"].items():
            assert abs(per_type[name]["text_f1"] - f1) <= TOL, name
