"""Hand-computed checks for harness.metrics."""
from __future__ import annotations

import logging
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness import metrics
from harness.catalog import validate_task
from harness.errors import HarnessError
from harness.qa_scoring import cmrc_tokens
from harness.specs import TaskSpec

SOURCES = [{"type": "local", "dir": "x", "splits": {"test": "test"}}]


def make_task(kind: str, metrics_: list[str], main_score, label_names=(), positive_label=None,
              language: str = "en", qa_f1: str = "token") -> TaskSpec:
    return validate_task(dict(name=f"t_{kind}", language=language, benchmark="test", kind=kind,
                              label_names=list(label_names), positive_label=positive_label, metrics=metrics_,
                              main_score=main_score, sources=SOURCES, qa_f1=qa_f1))


MRPC = make_task("pair_cls", ["accuracy", "f1", "macro_f1", "mcc"], ["accuracy", "f1"],
                 label_names=["not_equivalent", "equivalent"], positive_label="equivalent")
EQ, NOT = "equivalent", "not_equivalent"
CLS_REFS = [EQ, EQ, EQ, NOT, NOT, NOT]
CLS_PREDS = [EQ, EQ, NOT, NOT, EQ, None]  # the None is an unparseable generation: wrong, not dropped


# ---------------------------------------------------------------- classification

def test_accuracy_counts_none_as_wrong():
    assert metrics.accuracy(CLS_PREDS, CLS_REFS, MRPC) == pytest.approx(3 / 6)


def test_out_of_set_string_is_wrong_like_none():
    preds = CLS_PREDS[:-1] + ["maybe"]
    for name in ("accuracy", "f1", "macro_f1", "mcc"):
        fn = metrics.REGISTRY[name].fn
        assert fn(preds, CLS_REFS, MRPC) == pytest.approx(fn(CLS_PREDS, CLS_REFS, MRPC))


def test_binary_f1_of_positive_label():
    # TP=2 (0,1), FP=1 (4), FN=1 (2) -> P=R=2/3
    assert metrics.binary_f1(CLS_PREDS, CLS_REFS, MRPC) == pytest.approx(2 / 3)


def test_binary_f1_needs_positive_label():
    task = make_task("single_cls", ["f1"], "f1", label_names=["a", "b", "c"])
    with pytest.raises(ValueError, match="positive_label"):
        metrics.binary_f1(["a"], ["a"], task)


def test_macro_f1():
    # equivalent: F1 2/3; not_equivalent: TP=1, FP=1, FN=2 -> P=1/2, R=1/3, F1=0.4
    assert metrics.macro_f1(CLS_PREDS, CLS_REFS, MRPC) == pytest.approx((2 / 3 + 0.4) / 2)


def test_mcc_with_invalid_class():
    # multi-class MCC over {not, eq, invalid}: s=6, c=3, t=(3,3,0), p=(2,3,1)
    # (c*s - sum p*t) / sqrt((s^2 - sum p^2)(s^2 - sum t^2)) = (18-15)/sqrt(22*18)
    assert metrics.mcc(CLS_PREDS, CLS_REFS, MRPC) == pytest.approx(3 / math.sqrt(22 * 18))
    assert metrics.mcc(CLS_REFS, CLS_REFS, MRPC) == pytest.approx(1.0)


def test_unknown_reference_label_is_an_error():
    with pytest.raises(ValueError, match="not in label_names"):
        metrics.accuracy([EQ], ["maybe"], MRPC)


def test_compute_main_is_mean_of_main_metrics(caplog):
    with caplog.at_level(logging.WARNING, logger="harness.metrics"):
        scores = metrics.compute(MRPC, CLS_PREDS, CLS_REFS)
    assert set(scores) == {"accuracy", "f1", "macro_f1", "mcc", "main"}
    assert all(type(v) is float for v in scores.values())
    assert scores["accuracy"] == pytest.approx(0.5)
    assert scores["f1"] == pytest.approx(2 / 3)
    assert scores["main"] == pytest.approx((0.5 + 2 / 3) / 2)
    assert "1 of 6" in caplog.text


def test_compute_single_main_score_and_length_mismatch():
    task = make_task("single_cls", ["accuracy", "macro_f1"], "macro_f1", label_names=["neg", "pos"])
    scores = metrics.compute(task, ["pos", "neg"], ["pos", "pos"])
    assert scores["main"] == scores["macro_f1"]
    with pytest.raises(ValueError, match="references"):
        metrics.compute(task, ["pos"], ["pos", "neg"])


# ---------------------------------------------------------------- regression

STSB = make_task("regression", ["pearson", "spearman"], ["pearson", "spearman"])


def test_pearson_spearman():
    preds, refs = [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 5.0]
    # sum dxdy = 6.5, sum dx^2 = 5, sum dy^2 = 8.75
    assert metrics.pearson(preds, refs, STSB) == pytest.approx(6.5 / math.sqrt(5 * 8.75))
    assert metrics.spearman(preds, refs, STSB) == pytest.approx(1.0)


def test_none_regression_prediction_uses_median_of_predictions(caplog):
    # None -> median(1, 3, 5) = 3 (the gold 2 would give r = 1.0)
    preds, refs = [1.0, None, 3.0, 5.0], [1.0, 2.0, 3.0, 4.0]
    with caplog.at_level(logging.WARNING, logger="harness.metrics"):
        scores = metrics.compute(STSB, preds, refs)
    assert scores["pearson"] == pytest.approx(6 / math.sqrt(40))
    # ranks x = (1, 2.5, 2.5, 4), y = (1, 2, 3, 4)
    assert scores["spearman"] == pytest.approx(4.5 / math.sqrt(4.5 * 5))
    assert caplog.text.count("1 of 4 regression predictions") == 1


def test_constant_predictions_give_zero_not_nan(caplog):
    with caplog.at_level(logging.WARNING, logger="harness.metrics"):
        assert metrics.pearson([2.0, 2.0, 2.0], [1.0, 2.0, 3.0], STSB) == 0.0
        assert metrics.spearman([2.0, 2.0, 2.0], [1.0, 2.0, 3.0], STSB) == 0.0
    assert "constant" in caplog.text


def test_all_none_regression_predictions_fill_zero():
    scores = metrics.compute(STSB, [None, None, None], [1.0, 2.0, 3.0])
    assert scores == {"pearson": 0.0, "spearman": 0.0, "main": 0.0}


# ---------------------------------------------------------------- NER

NER = make_task("ner", ["entity_precision", "entity_recall", "entity_f1"], "entity_f1",
                label_names=["PER", "LOC", "ORG"])


def test_seqeval_partial_entity_is_wrong():
    refs = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"], ["B-ORG", "O"]]
    preds = [["B-PER", "O", "O", "B-LOC"],    # PER cut short: wrong; LOC right
             ["O", "O"],                      # ORG missed
             ["I-ORG", "O"]]                  # conlleval-style: a leading I- starts an entity
    # gold 4 entities, predicted 3, correct 2
    scores = metrics.compute(NER, preds, refs)
    assert scores["entity_precision"] == pytest.approx(2 / 3)
    assert scores["entity_recall"] == pytest.approx(2 / 4)
    assert scores["entity_f1"] == pytest.approx(4 / 7)
    assert scores["main"] == scores["entity_f1"]


# ---------------------------------------------------------------- extractive QA, SQuAD token style

SQUAD = make_task("extractive_qa", ["exact_match", "qa_f1"], ["exact_match", "qa_f1"])


def test_squad_token_f1_and_em():
    # 'cat sat' vs 'cat sat down': P=1, R=2/3 -> F1=0.8
    assert metrics.qa_f1(["the cat sat"], [["a cat sat down"]], SQUAD) == pytest.approx(0.8)
    assert metrics.exact_match(["the cat sat"], [["a cat sat down"]], SQUAD) == 0.0
    assert metrics.exact_match(["The  Cat, sat!"], [["cat sat"]], SQUAD) == 1.0


def test_qa_max_over_gold_answers_then_mean():
    preds = ["cat sat", "dog"]
    refs = [["dog", "the cat sat down"], ["a bird"]]
    assert metrics.qa_f1(preds, refs, SQUAD) == pytest.approx((0.8 + 0.0) / 2)
    refs[0].append("Cat sat.")
    scores = metrics.compute(SQUAD, preds, refs)
    assert scores["exact_match"] == pytest.approx(0.5)
    assert scores["qa_f1"] == pytest.approx(0.5)
    assert scores["main"] == pytest.approx(0.5)


def test_qa_empty_prediction_scores_zero():
    assert metrics.qa_f1(["", None], [["cat"], ["dog"]], SQUAD) == 0.0
    # as SQuAD v1.1's official script: EM compares the normalised strings, so two answers that both normalise to
    # nothing match (EM 1); F1 counts overlapping tokens, none here (F1 0). (This test asserted EM 0 before the
    # scorers followed the official scripts.)
    assert metrics.exact_match(["the"], [["the"]], SQUAD) == 1.0
    assert metrics.qa_f1(["the"], [["the"]], SQUAD) == 0.0
    assert metrics.exact_match([""], [["cat"]], SQUAD) == 0.0


# ---------------------------------------------------------------- extractive QA, CMRC2018 char style

CMRC = make_task("extractive_qa", ["exact_match", "qa_f1"], ["exact_match", "qa_f1"],
                 language="zh", qa_f1="char")


def test_cmrc_mixed_segmentation():
    assert cmrc_tokens("于2018年发布iPhone X，") == ["于", "2018", "年", "发", "布", "iphone", "x"]


def test_cmrc_em_ignores_punctuation_whitespace_case():
    assert metrics.exact_match(["北京大学，2018年。"], [["北京大学2018年"]], CMRC) == 1.0
    # the official script (v6) keeps inner spaces for EM: 'abc 公司' != 'abc公司' (this asserted EM 1 before the
    # scorer followed the official script); its F1 segments 'abc' as one token either way
    assert metrics.exact_match(["《ABC 公司》"], [["abc公司"]], CMRC) == 0.0
    assert metrics.qa_f1(["《ABC 公司》"], [["abc公司"]], CMRC) == 1.0
    assert metrics.qa_f1(["北京大学，2018年。"], [["北京大学2018年"]], CMRC) == 1.0


def test_cmrc_f1_uses_longest_common_substring():
    # pred [北 京 大 学], gold [北 京 大 学 2018 年]: LCS 4, P=1, R=4/6 -> F1=0.8
    assert metrics.qa_f1(["北京大学"], [["北京大学2018年"]], CMRC) == pytest.approx(0.8)
    assert metrics.exact_match(["北京大学"], [["北京大学2018年"]], CMRC) == 0.0
    # pred [于 2018 年 发 布 iphone], gold [2018 年 苹 果 发 布]: common tokens 4 but the
    # longest contiguous run is 2 -> P=R=2/6 -> F1=1/3 (a bag-of-tokens F1 would give 2/3)
    assert metrics.qa_f1(["于2018年发布iPhone"], [["2018年，苹果发布"]], CMRC) == pytest.approx(1 / 3)


def test_cmrc_max_over_gold_and_empty_prediction():
    refs = [["上海", "北京大学"], ["清华"]]
    scores = metrics.compute(CMRC, ["北京大学。", "。"], refs)
    assert scores["exact_match"] == pytest.approx(0.5)
    assert scores["qa_f1"] == pytest.approx(0.5)


# ---------------------------------------------------------------- registry and fallback

def test_registry_and_higher_is_better(monkeypatch):
    for name in ("accuracy", "f1", "macro_f1", "mcc", "pearson", "spearman", "entity_precision",
                 "entity_recall", "entity_f1", "cluener_macro_f1", "exact_match", "qa_f1"):
        assert metrics.REGISTRY[name].name == name
        assert metrics.higher_is_better(name)
    assert metrics.higher_is_better("not_registered_anywhere")
    monkeypatch.setattr(metrics, "REGISTRY", dict(metrics.REGISTRY))

    @metrics.register("mistakes", higher_is_better=False)
    def mistakes(predictions, references, task):
        return float(sum(p != r for p, r in zip(predictions, references)))

    assert not metrics.higher_is_better("mistakes")
    task = make_task("single_cls", ["mistakes"], "mistakes", label_names=["a", "b"])
    assert metrics.compute(task, ["a", "b"], ["a", "a"]) == {"mistakes": 1.0, "main": 1.0}


@pytest.mark.parametrize("name, needle", [
    ("no_such_metric_xyz", "unknown metric 'no_such_metric_xyz'"),
    ("acuracy", "did you mean 'accuracy'"),
    ("./metrics/evil", "unknown metric './metrics/evil'"),
    ("evaluate:../evil", "not a path or a script"),
    ("evaluate:/abs/evil.py", "not a path or a script"),
    ("evaluate:evil.py", "not a path or a script"),
])
def test_a_metric_name_is_built_in_or_a_hub_name_never_a_path(name, needle):
    with pytest.raises(ValueError, match="metric") as info:
        make_task("single_cls", ["accuracy", name], "accuracy", label_names=["a", "b"])
    assert needle in str(info.value)


def test_a_hub_metric_runs_only_when_trusted(monkeypatch):
    task = make_task("single_cls", ["accuracy", "evaluate:accuracy"], "accuracy", label_names=["a", "b"])
    with pytest.raises(HarnessError, match="runs code from the Hub; it runs only with --trust-metric-code"):
        metrics.compute(task, ["a"], ["a"])
    loaded = []
    monkeypatch.setattr("evaluate.load", lambda name: loaded.append(name) or _Fixed(0.25))
    token = metrics.TRUST_METRIC_CODE.set(True)
    try:
        assert metrics.compute(task, ["a"], ["a"])["evaluate:accuracy"] == 0.25
    finally:
        metrics.TRUST_METRIC_CODE.reset(token)
    assert loaded == ["accuracy"]


class _Fixed:
    def __init__(self, value: float):
        self.value = value

    def compute(self, predictions, references):
        return {"accuracy": self.value}


def test_registering_metrics_imports_no_heavy_library():
    """Listing tasks stays cheap: an implementation imports scikit-learn, scipy or seqeval on its first score."""
    code = ("import sys, harness.metrics; "
            "print([m for m in ('sklearn', 'scipy', 'seqeval', 'pandas', 'torch') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1]).stdout
    assert out.strip() == "[]"


def test_one_implementation_scores_records_and_resamples():
    """A metric's score of a resample is its score of the drawn examples; the registry says which are means of
    per-example scores (the bootstrap resamples those per example)."""
    rng = np.random.default_rng(0)
    idx = rng.integers(0, 6, 6)
    preds, refs = CLS_PREDS[:-1] + ["maybe"], CLS_REFS
    for name in ("accuracy", "f1", "macro_f1", "mcc"):
        m = metrics.REGISTRY[name]
        assert m.resampler(preds, refs, MRPC)(idx) == m.fn([preds[j] for j in idx], [refs[j] for j in idx], MRPC)
    x, y = list(rng.normal(size=40)), list(rng.normal(size=40))
    for name in ("pearson", "spearman", "mse"):
        m = metrics.REGISTRY[name]
        i = rng.integers(0, 40, 40)
        assert m.resampler(x, y, STSB)(i) == m.fn([x[j] for j in i], [y[j] for j in i], STSB)
    assert [n for n, m in metrics.REGISTRY.items() if m.per_example] == ["accuracy", "exact_match", "qa_f1"]
    assert metrics.per_example("qa_f1") and not metrics.per_example("entity_f1")
    assert not metrics.per_example("evaluate:some_metric")


def test_scores_equal_scikit_learn_and_scipy_to_the_last_digit():
    from scipy import stats
    from sklearn import metrics as sk

    rng = np.random.default_rng(1)
    for k in (2, 3, 9):
        labels = [f"l{i}" for i in range(k)]
        task = make_task("single_cls", ["accuracy", "f1", "macro_f1", "mcc"], "accuracy", label_names=labels,
                         positive_label="l1")
        refs = [labels[i] for i in rng.integers(0, k, 200)]
        preds = [labels[i] if i < k else None for i in rng.integers(0, k + 1, 200)]
        y_true = [labels.index(r) for r in refs]
        y_pred = [labels.index(p) if p else k for p in preds]
        assert metrics.macro_f1(preds, refs, task) == sk.f1_score(y_true, y_pred, labels=list(range(k)),
                                                                  average="macro", zero_division=0)
        assert metrics.binary_f1(preds, refs, task) == sk.f1_score(y_true, y_pred, labels=[1], average="micro",
                                                                   zero_division=0)
        assert metrics.mcc(preds, refs, task) == sk.matthews_corrcoef(y_true, y_pred)
    for n in (2, 3, 50, 333):
        x, y = rng.normal(size=n), rng.normal(size=n) * 3 + 1
        assert metrics.pearson(list(x), list(y), STSB) == float(stats.pearsonr(x, y)[0])
        assert metrics.spearman(list(np.round(x, 1)), list(y), STSB) == float(stats.spearmanr(np.round(x, 1), y)[0])
