"""Scoring primitives that the metrics (harness.metrics) and the task kinds (harness/kinds) both use: parsing
regression outputs, counting NER entities (by position, as seqeval does, and by text, as CLUENER2020's score.py does),
one extractive-QA answer's exact match and F1 (harness.qa_scoring holds the official SQuAD and CMRC 2018 rules), and
the formulas the metrics compute from confusion counts and values, step for step as scikit-learn and scipy do (so
scores equal theirs to the last digit) without their per-call cost, which the significance bootstrap pays on every
resample.

Nothing here imports a registry; seqeval and scipy are imported on first use.
"""
from __future__ import annotations

import functools
import logging
import math
from statistics import median
from typing import Any, Optional

import numpy as np

from .qa_scoring import cmrc_pair, squad_pair
from .specs import TaskSpec

log = logging.getLogger(__name__)


class Resamples:
    """Many bootstrap resamples of n examples at once: ``idx`` (resamples x drawn) the drawn example indices, and,
    computed once when a metric asks, ``counts`` (resamples x n) how often each example is drawn. A metric's score
    given Resamples instead of example indices returns one score per resample, by the same formulas applied to the
    drawn examples; one Resamples object serves every run of a task."""

    def __init__(self, idx: np.ndarray, n: int):
        self.idx, self.n = np.asarray(idx), n
        self.memo: dict[Any, Any] = {}  # what every run of the task shares (the gold values' drawn ranks)

    def shared(self, key: Any, make: Any) -> Any:
        """``make()``, computed once for these resamples under ``key``."""
        if key not in self.memo:
            self.memo[key] = make()
        return self.memo[key]

    def __len__(self) -> int:
        return len(self.idx)

    @functools.cached_property
    def counts(self) -> np.ndarray:
        b = len(self.idx)
        flat = (self.idx.astype(np.int64) + (np.arange(b, dtype=np.int64) * self.n)[:, None]).ravel()
        return np.bincount(flat, minlength=b * self.n).reshape(b, self.n).astype(np.float64)

    def mean(self, per: np.ndarray) -> np.ndarray:
        """The mean of per-example values over each resample's drawn examples (one matrix product)."""
        return self.counts @ np.asarray(per, dtype=np.float64) / self.idx.shape[-1]


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


@functools.lru_cache(maxsize=1 << 16)
def _entities(tags: tuple) -> tuple[tuple[str, int, int], ...]:
    from seqeval.metrics.sequence_labeling import get_entities

    return tuple(get_entities(list(tags)))


def entities(tags: Optional[list]) -> tuple[tuple[str, int, int], ...]:
    """The (type, start, end) entities of one tag sequence, by seqeval's get_entities (default mode); remembered,
    as the same gold sequences (and mostly the same predictions) come back for every run of a task."""
    return _entities(tuple(tags or ()))


def entity_counts(pred: list, gold: list) -> tuple[int, int, int]:
    """(true positives, predicted, gold) entities of one sentence, as seqeval's default mode counts them."""
    p, g = set(entities(pred)), set(entities(gold))
    return len(p & g), len(p), len(g)


def text_counts(tokens: list[str], pred: list, gold: list, types: list[str]) -> list[tuple[int, int, int]]:
    """(true positives, false positives, false negatives) per entity type of one sentence, as CLUENER2020's official
    score.py counts them: an entity is its type and its text (the words it covers), so a text found twice in the
    sentence counts once. BIO is decoded as seqeval's default mode (a stray I-X starts an entity)."""
    def texts(tags: list) -> dict[str, set[tuple[str, ...]]]:
        out: dict[str, set[tuple[str, ...]]] = {}
        for typ, start, end in entities(tags):
            out.setdefault(typ, set()).add(tuple(tokens[start:end + 1]))
        return out

    p, g = texts(pred), texts(gold)
    out = [(0, 0, 0)] * len(types)
    for t in p.keys() | g.keys():  # the types of the sentence's entities; every other type counts (0, 0, 0)
        if t in types:
            a, b = p.get(t, set()), g.get(t, set())
            out[types.index(t)] = (len(a & b), len(a - b), len(b - a))
    return out


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
    ``qa_f1: char``, SQuAD v1.1's otherwise (harness.qa_scoring). Remembered: exact match and F1 come from one
    call, and the same (prediction, answer) pairs come back for every run of a task."""
    char = task.qa_f1 == "char"
    if (pred is None or isinstance(pred, str)) and isinstance(gold, str):
        return _qa_pair(pred, gold, char)
    return cmrc_pair(pred, gold) if char else squad_pair(pred, gold)


@functools.lru_cache(maxsize=1 << 16)
def _qa_pair(pred: Optional[str], gold: str, char: bool) -> tuple[float, float]:
    return cmrc_pair(pred, gold) if char else squad_pair(pred, gold)


def qa_best(which: int, pred: Optional[str], golds: Any, task: TaskSpec) -> float:
    """The best exact match (``which`` 0) or F1 (1) of one prediction over a question's gold answers."""
    golds = [golds] if isinstance(golds, str) else list(golds)
    return max((qa_pair(pred, g, task)[which] for g in golds), default=0.0)


# ---------------------------------------------------------------- classification: confusion counts

ONE_HOT_CELLS = 64  # confusion cells up to which resamples are counted by a matrix product (else by bincount)


def confusion(true: np.ndarray, pred: np.ndarray, k: int, idx: "Optional[np.ndarray | Resamples]" = None
              ) -> np.ndarray:
    """Confusion counts of the examples at ``idx`` (None: all): gold x predicted label indices, (k + 1) x (k + 1),
    the last predicted column 'invalid' (a prediction that is no label; the last gold row stays empty). Of
    `Resamples`: one confusion matrix per resample, resamples x (k+1) x (k+1)."""
    cells = (k + 1) ** 2
    codes = true * (k + 1) + pred
    if isinstance(idx, Resamples):
        b = len(idx)
        if cells <= ONE_HOT_CELLS:  # counts x one-hot codes: one matrix product, exact in float64
            hot = np.zeros((len(codes), cells))
            hot[np.arange(len(codes)), codes] = 1.0
            return np.rint(idx.counts @ hot).astype(np.int64).reshape(b, k + 1, k + 1)
        flat = codes[idx.idx].astype(np.int64) + (np.arange(b, dtype=np.int64) * cells)[:, None]
        return np.bincount(flat.ravel(), minlength=b * cells).reshape(b, k + 1, k + 1)
    if idx is not None:
        codes = codes[idx]
    return np.bincount(codes, minlength=cells).reshape(k + 1, k + 1)


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


def pearson_drawn(x: np.ndarray, y: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """`pearson_r` of the drawn examples of each resample (``counts``: resamples x n, how often each example is
    drawn), from the drawn copies' weighted moments about the full sample's means (matrix products, no copies)."""
    xc, yc = x - x.mean(), y - y.mean()
    m = counts.sum(axis=1)
    sx, sy = counts @ xc, counts @ yc
    vx = counts @ (xc * xc) - sx * sx / m
    vy = counts @ (yc * yc) - sy * sy / m
    cov = counts @ (xc * yc) - sx * sy / m
    r = np.divide(cov, np.sqrt(np.abs(vx * vy)), out=np.zeros_like(cov), where=(vx > 0) & (vy > 0))
    for i in np.flatnonzero(~((vx > 0) & (vy > 0))):  # rounding ate a tiny spread: the drawn copies themselves
        c = np.rint(counts[i]).astype(np.int64)
        r[i] = pearson_r(np.repeat(x, c), np.repeat(y, c))
    return np.clip(r, -1.0, 1.0)


def spearman_rho(x: np.ndarray, y: np.ndarray) -> float:
    """scipy.stats.spearmanr's statistic, by its steps: the correlation of the ranks (ties averaged) (of many
    resamples at once: `spearman_drawn`)."""
    from scipy.stats import rankdata

    ranked = np.apply_along_axis(rankdata, 0, np.column_stack((x, y)))
    return float(np.corrcoef(ranked, rowvar=False)[1, 0])


def drawn_ranks(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The rank (ties averaged, as scipy's rankdata) of each example among the examples each resample draws, given
    how often each is drawn (resamples x n counts): the number of drawn values below it plus (the drawn copies equal
    to it + 1) / 2. One sort of the values serves every resample."""
    order = np.argsort(values, kind="stable")
    sorted_vals = values[order]
    starts = np.flatnonzero(np.r_[True, sorted_vals[1:] != sorted_vals[:-1]])  # first position of each tie group
    group = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(values)]))
    by_group = np.add.reduceat(counts[:, order], starts, axis=1)  # drawn copies per distinct value
    ranks_sorted = np.cumsum(by_group, axis=1) - by_group + (by_group + 1) / 2.0
    out = np.empty(counts.shape, dtype=np.float64)
    out[:, order] = ranks_sorted[:, group]
    return out


def spearman_drawn(x: np.ndarray, y: np.ndarray, counts: np.ndarray, ry: Optional[np.ndarray] = None) -> np.ndarray:
    """`spearman_rho` of the drawn examples of each resample (``counts``: resamples x n, how often each example is
    drawn): the correlation of the drawn copies' ranks (`drawn_ranks`), each example counted as often as drawn.
    ``ry``: the drawn ranks of ``y`` when known (the gold values' are the same for every run of a task)."""
    rx = drawn_ranks(x, counts)
    ry = drawn_ranks(y, counts) if ry is None else ry
    m = counts.sum(axis=1, keepdims=True)
    dx = rx - (counts * rx).sum(axis=1, keepdims=True) / m
    dy = ry - (counts * ry).sum(axis=1, keepdims=True) / m
    r = (counts * dx * dy).sum(axis=1) / np.sqrt((counts * dx * dx).sum(axis=1) * (counts * dy * dy).sum(axis=1))
    return np.clip(r, -1.0, 1.0)
