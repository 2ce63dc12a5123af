"""Scoring primitives that the metrics (harness.metrics) and the task kinds (harness/kinds) both use: parsing
regression outputs, counting NER entities (by position, as seqeval does, and by text, as CLUENER2020's score.py does),
one extractive-QA answer's exact match and F1 (harness.qa_scoring holds the official SQuAD and CMRC 2018 rules), and
the formulas the metrics compute from confusion counts and values, step for step as scikit-learn and scipy do (so
scores equal theirs to the last digit) without their per-call cost, which the significance bootstrap pays on every
resample.

Nothing here imports a registry; seqeval and scipy are imported on first use.
"""
from __future__ import annotations

import logging
import math
from statistics import median
from typing import Any, Optional

import numpy as np

from .qa_scoring import cmrc_pair, squad_pair
from .specs import TaskSpec

log = logging.getLogger(__name__)


# ---------------------------------------------------------------- regression outputs

def valid_float(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def fill_unparseable(predictions: list, warn: bool = True) -> list[float]:
    """Replace unparseable (None/NaN) predictions by the median of the valid ones (0.0 if none)."""
    valid = [float(p) for p in predictions if valid_float(p)]
    if len(valid) == len(predictions):
        return valid
    fill = float(median(valid)) if valid else 0.0
    if warn:
        log.warning("%d of %d regression predictions are unparseable; replaced with %g (median of valid "
                    "predictions)", len(predictions) - len(valid), len(predictions), fill)
    return [float(p) if valid_float(p) else fill for p in predictions]


# ---------------------------------------------------------------- NER entities

def check_sentences(predictions: list, references: list) -> None:
    """Every predicted tag sequence a list as long as its gold one: seqeval's own check (TypeError, ValueError)."""
    from seqeval.metrics.v1 import check_consistent_length

    check_consistent_length(references, predictions)


def entity_counts(pred: list, gold: list) -> tuple[int, int, int]:
    """(true positives, predicted, gold) entities of one sentence, as seqeval's default mode counts them."""
    from seqeval.metrics.sequence_labeling import get_entities

    p, g = set(get_entities(list(pred or []))), set(get_entities(list(gold or [])))
    return len(p & g), len(p), len(g)


def text_counts(tokens: list[str], pred: list, gold: list, types: list[str]) -> list[tuple[int, int, int]]:
    """(true positives, false positives, false negatives) per entity type of one sentence, as CLUENER2020's official
    score.py counts them: an entity is its type and its text (the words it covers), so a text found twice in the
    sentence counts once. BIO is decoded as seqeval's default mode (a stray I-X starts an entity)."""
    from seqeval.metrics.sequence_labeling import get_entities

    def texts(tags: list) -> dict[str, set[tuple[str, ...]]]:
        out: dict[str, set[tuple[str, ...]]] = {}
        for typ, start, end in get_entities(list(tags or [])):
            out.setdefault(typ, set()).add(tuple(tokens[start:end + 1]))
        return out

    p, g = texts(pred), texts(gold)
    return [(len(p.get(t, set()) & g.get(t, set())), len(p.get(t, set()) - g.get(t, set())),
             len(g.get(t, set()) - p.get(t, set()))) for t in types]


def text_scores(tp: Any, fp: Any, fn: Any) -> tuple[Any, Any, Any]:
    """(precision, recall, F1) by score.py's formulas; 0.0 where they are undefined (the script divides by zero).
    Counts as numbers give floats; as arrays (one resample per element), arrays of the same values."""
    if np.ndim(tp) == 0:
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)
    tp, fp, fn = (np.asarray(a, dtype=np.float64) for a in (tp, fp, fn))
    p = np.divide(tp, tp + fp, out=np.zeros_like(tp), where=tp + fp > 0)
    r = np.divide(tp, tp + fn, out=np.zeros_like(tp), where=tp + fn > 0)
    return p, r, np.divide(2 * p * r, p + r, out=np.zeros_like(tp), where=p + r > 0)


def text_totals(task: TaskSpec, predictions: list, references: list, inputs: list[dict]) -> dict[str, list[int]]:
    """{entity type: [tp, fp, fn]} summed over sentences, by `text_counts`, for every type in label_names."""
    totals = {t: [0, 0, 0] for t in task.label_names}
    for pred, gold, inp in zip(predictions, references, inputs):
        for t, counts in zip(task.label_names, text_counts(inp["tokens"], pred, gold, task.label_names)):
            totals[t] = [a + b for a, b in zip(totals[t], counts)]
    return totals


# ---------------------------------------------------------------- extractive QA answers

def qa_pair(pred: Optional[str], gold: str, task: TaskSpec) -> tuple[float, float]:
    """(exact match, F1) of one prediction against one gold answer: CMRC 2018's official scoring for
    ``qa_f1: char``, SQuAD v1.1's otherwise (harness.qa_scoring)."""
    return cmrc_pair(pred, gold) if task.qa_f1 == "char" else squad_pair(pred, gold)


def qa_best(which: int, pred: Optional[str], golds: Any, task: TaskSpec) -> float:
    """The best exact match (``which`` 0) or F1 (1) of one prediction over a question's gold answers."""
    golds = [golds] if isinstance(golds, str) else list(golds)
    return max((qa_pair(pred, g, task)[which] for g in golds), default=0.0)


# ---------------------------------------------------------------- classification: confusion counts

def confusion(true: np.ndarray, pred: np.ndarray, k: int, idx: Optional[np.ndarray] = None) -> np.ndarray:
    """Confusion counts of the examples at ``idx`` (None: all): gold x predicted label indices, (k + 1) x (k + 1),
    the last predicted column 'invalid' (a prediction that is no label; the last gold row stays empty). ``idx`` a
    matrix (one resample of example indices per row): one confusion matrix per resample, resamples x (k+1) x (k+1)."""
    cells = (k + 1) ** 2
    if idx is not None and np.ndim(idx) == 2:
        codes = (true * (k + 1) + pred)[idx].astype(np.int64) + (np.arange(len(idx), dtype=np.int64) * cells)[:, None]
        return np.bincount(codes.ravel(), minlength=len(idx) * cells).reshape(len(idx), k + 1, k + 1)
    if idx is not None:
        true, pred = true[idx], pred[idx]
    return np.bincount(true * (k + 1) + pred, minlength=cells).reshape(k + 1, k + 1)


def label_f1(c: np.ndarray) -> np.ndarray:
    """F1 per label from `confusion` counts, as scikit-learn computes it (0 where undefined); a stack of confusion
    matrices gives one row of F1s per matrix."""
    k = c.shape[-1] - 1
    tp = np.diagonal(c, axis1=-2, axis2=-1)[..., :k]
    denom = c.sum(axis=-2)[..., :k] + c.sum(axis=-1)[..., :k]
    return np.divide(2 * tp, denom, out=np.zeros(denom.shape), where=denom > 0)


def mcc_of(c: np.ndarray) -> Any:
    """Multi-class Matthews correlation from `confusion` counts, by scikit-learn's formula (0 where undefined); a
    stack of confusion matrices gives an array, one value per matrix."""
    t_sum, p_sum = c.sum(axis=-1, dtype=np.float64), c.sum(axis=-2, dtype=np.float64)
    n_correct = np.trace(c, axis1=-2, axis2=-1, dtype=np.float64)
    n = p_sum.sum(axis=-1)
    cov_ytyp = n_correct * n - np.vecdot(t_sum, p_sum)
    cov_ypyp, cov_ytyt = n ** 2 - np.vecdot(p_sum, p_sum), n ** 2 - np.vecdot(t_sum, t_sum)
    if c.ndim == 2:
        return 0.0 if cov_ypyp * cov_ytyt == 0 else float(cov_ytyp / np.sqrt(cov_ypyp * cov_ytyt))
    denom = np.sqrt(cov_ypyp * cov_ytyt)
    return np.divide(cov_ytyp, denom, out=np.zeros_like(denom), where=cov_ypyp * cov_ytyt != 0)


# ---------------------------------------------------------------- regression: correlations of non-constant values

def pearson_r(x: np.ndarray, y: np.ndarray) -> Any:
    """scipy.stats.pearsonr's statistic, by its steps; rows of 2-d inputs (one resample each) give an array."""
    xm, ym = x - np.mean(x, axis=-1, keepdims=True), y - np.mean(y, axis=-1, keepdims=True)
    xmax, ymax = np.max(np.abs(xm), axis=-1, keepdims=True), np.max(np.abs(ym), axis=-1, keepdims=True)
    normxm = xmax * np.linalg.norm(xm / xmax, ord=2, axis=-1, keepdims=True)
    normym = ymax * np.linalg.norm(ym / ymax, ord=2, axis=-1, keepdims=True)
    r = np.clip(np.vecdot(xm / normxm, ym / normym, axis=-1), -1.0, 1.0)
    r = np.round(r) if x.shape[-1] == 2 else r
    return float(r) if np.ndim(x) == 1 else r


def spearman_rho(x: np.ndarray, y: np.ndarray) -> Any:
    """scipy.stats.spearmanr's statistic, by its steps: the correlation of the ranks (ties averaged); rows of 2-d
    inputs (one resample each) give an array."""
    from scipy.stats import rankdata

    if np.ndim(x) == 2:
        rx, ry = rankdata(x, axis=-1), rankdata(y, axis=-1)
        rx, ry = rx - rx.mean(axis=-1, keepdims=True), ry - ry.mean(axis=-1, keepdims=True)
        return np.vecdot(rx, ry) / np.sqrt(np.vecdot(rx, rx) * np.vecdot(ry, ry))
    ranked = np.apply_along_axis(rankdata, 0, np.column_stack((x, y)))
    return float(np.corrcoef(ranked, rowvar=False)[1, 0])
