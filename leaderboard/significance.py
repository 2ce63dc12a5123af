"""Paired bootstrap over saved per-example test predictions: is a model's score different from the next one's?

Per task, models are ranked by mean main score; each is compared with the next-ranked model on the examples both
were evaluated on (joined by example id). Main scores that are a mean of per-example scores (accuracy, exact
match, QA F1) are resampled from per-example scores; entity F1 from per-sentence entity counts (exactly seqeval's
micro average); any other main score (binary F1, MCC, correlations) is recomputed with the harness metric
functions on each resample. With several seeds, a model's score on a resample is the mean over
its seeds. 1,000 resamples with a fixed seed.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Optional

import numpy as np
import pandas as pd

from harness import metrics
from harness.results import read_predictions

from .data import AppData, prediction_files, task_spec
from .table import display_name

N_RESAMPLES = 1000
SEED = 0
ALPHA = 0.05
PER_EXAMPLE = {"accuracy", "exact_match", "qa_f1"}  # means of per-example scores
CONFUSION = {"accuracy", "f1", "macro_f1", "mcc"}
ENTITY = {"entity_f1", "entity_precision", "entity_recall"}
MAX_SEEDS = 3


@dataclass
class PairResult:
    """One comparison: ``model`` (ranked higher) against ``next_model`` on ``task``."""

    task: str
    model: str
    next_model: str
    diff: float  # observed main-score difference (model - next), natural units
    ci_low: float
    ci_high: float
    p_value: float
    n_examples: int
    tie: bool  # True: the difference is within noise (95% CI includes 0)
    method: str  # "per-example", "entity counts" or "metric" (recomputed on each resample)


def example_correct(kind: str, prediction: Any, gold: Any, task: Any = None) -> float:
    """1.0 when one prediction is right: label equal (classification), tag sequence equal (NER), exact match
    (QA, with the task's normalisation when a TaskSpec is given), |error| <= 0.5 (regression)."""
    if kind == "extractive_qa":
        golds = gold if isinstance(gold, list) else [gold]
        if task is not None:
            return float(metrics.exact_match([prediction], [golds], task))
        return float(any((prediction or "").strip() == (g or "").strip() for g in golds))
    if kind == "regression":
        try:
            return float(abs(float(prediction) - float(gold)) <= 0.5)
        except (TypeError, ValueError):
            return 0.0
    return float(prediction == gold)


def paired_bootstrap(score_a: Any, score_b: Any, n: int, n_resamples: int = N_RESAMPLES, seed: int = SEED
                     ) -> tuple[float, float, float, float]:
    """Bootstrap the difference score_a(idx) - score_b(idx) over resampled example indices.

    score_a / score_b: callables taking an index array and returning a float, or per-example arrays (then the
    score is the mean). Returns (observed diff, CI low, CI high, two-sided p-value)."""
    fa = score_a if callable(score_a) else (lambda idx, a=np.asarray(score_a, float): float(a[idx].mean()))
    fb = score_b if callable(score_b) else (lambda idx, b=np.asarray(score_b, float): float(b[idx].mean()))
    everything = np.arange(n)
    observed = fa(everything) - fb(everything)
    rng = np.random.default_rng(seed)
    diffs = np.empty(n_resamples)
    for i in range(n_resamples):
        idx = rng.integers(0, n, n)
        diffs[i] = fa(idx) - fb(idx)
    low, high = np.percentile(diffs, [100 * ALPHA / 2, 100 * (1 - ALPHA / 2)])
    p = min(1.0, 2 * min(float(np.mean(diffs <= 0)), float(np.mean(diffs >= 0))))
    return float(observed), float(low), float(high), p


def _load(data: AppData, task: str, model: str, revision: str, method: Optional[str] = None
          ) -> dict[Any, dict[str, dict]]:
    files = prediction_files(data, task, model, revision, method)
    return {seed: {r["id"]: r for r in read_predictions(path)} for seed, path in list(files.items())[:MAX_SEEDS]}


def _main_of(spec: Any, preds: list, golds: list) -> float:
    """The task's main score (mean of its main metrics) on these examples, via the harness metric functions."""
    vals = []
    for m in spec.main_metrics:
        vals.append(metrics.REGISTRY[m].fn(preds, golds, spec) if m in metrics.REGISTRY
                    else metrics.compute(spec, preds, golds)[m])
    return float(np.mean(vals))


def _entity_counts(pred: list, gold: list) -> tuple[int, int, int]:
    """(true positives, predicted, gold) entities of one sentence, as seqeval's default mode counts them."""
    from seqeval.metrics.sequence_labeling import get_entities

    p, g = set(get_entities(list(pred or []))), set(get_entities(list(gold or [])))
    return len(p & g), len(p), len(g)


def _ner_scorer(rows_by_seed: dict[int, dict[str, dict]], ids: list[str], main: list[str]):
    counts = np.array([[_entity_counts(rows_by_seed[s][i]["prediction"], rows_by_seed[s][i]["gold"]) for i in ids]
                       for s in rows_by_seed], dtype=float)  # seeds x examples x 3

    def score(idx: np.ndarray) -> float:
        tp, n_pred, n_gold = counts[:, idx, :].sum(axis=1).T
        prec = np.divide(tp, n_pred, out=np.zeros_like(tp), where=n_pred > 0)
        rec = np.divide(tp, n_gold, out=np.zeros_like(tp), where=n_gold > 0)
        f1 = np.divide(2 * prec * rec, prec + rec, out=np.zeros_like(tp), where=(prec + rec) > 0)
        by = {"entity_precision": prec, "entity_recall": rec, "entity_f1": f1}
        return float(np.mean([by[m].mean() for m in main]))
    return score


def _confusion_metrics(c: np.ndarray, spec: Any) -> dict[str, float]:
    """accuracy, f1 (binary, positive_label), macro_f1 and mcc from a confusion matrix (true x predicted, the
    last predicted column being 'invalid'), as sklearn computes them in harness.metrics."""
    k = len(spec.label_names)
    n = c.sum()
    tp = np.diag(c)[:k].astype(float)
    pred_sum, true_sum = c.sum(axis=0)[:k], c.sum(axis=1)[:k]
    denom = pred_sum + true_sum
    f1 = np.divide(2 * tp, denom, out=np.zeros(k), where=denom > 0)
    t_sum, p_sum = c.sum(axis=1).astype(float), c.sum(axis=0).astype(float)
    cov_tp = np.trace(c) * n - t_sum @ p_sum
    cov_pp, cov_tt = n * n - p_sum @ p_sum, n * n - t_sum @ t_sum
    out = {"accuracy": float(np.trace(c) / n) if n else 0.0, "macro_f1": float(f1.mean()),
           "mcc": float(cov_tp / np.sqrt(cov_tt * cov_pp)) if cov_tt * cov_pp else 0.0}
    if spec.positive_label in spec.label_names:
        out["f1"] = float(f1[spec.label_names.index(spec.positive_label)])
    return out


def _classification_scorer(rows_by_seed: dict[int, dict[str, dict]], ids: list[str], spec: Any):
    index = {name: i for i, name in enumerate(spec.label_names)}
    k = len(index)
    true = np.array([index[rows_by_seed[next(iter(rows_by_seed))][i]["gold"]] for i in ids])
    preds = [np.array([index.get(rows_by_seed[s][i]["prediction"], k) for i in ids]) for s in rows_by_seed]

    def score(idx: np.ndarray) -> float:
        vals = []
        for p in preds:
            c = np.bincount(true[idx] * (k + 1) + p[idx], minlength=k * (k + 1)).reshape(k, k + 1)
            m = _confusion_metrics(np.vstack([c, np.zeros((1, k + 1), int)]), spec)
            vals.append(np.mean([m[name] for name in spec.main_metrics]))
        return float(np.mean(vals))
    return score


def _regression_scorer(rows_by_seed: dict[int, dict[str, dict]], ids: list[str], spec: Any):
    from scipy.stats import rankdata

    gold = np.array([float(rows_by_seed[next(iter(rows_by_seed))][i]["gold"]) for i in ids])
    preds = [np.array(metrics._fill_regression([rows_by_seed[s][i]["prediction"] for i in ids]))  # noqa: SLF001
             for s in rows_by_seed]

    def corr(x: np.ndarray, y: np.ndarray) -> float:
        if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
            return 0.0
        return float(np.corrcoef(x, y)[0, 1])

    def score(idx: np.ndarray) -> float:
        vals = []
        for p in preds:
            x, y = p[idx], gold[idx]
            m = {"pearson": corr(x, y), "spearman": corr(rankdata(x), rankdata(y))}
            vals.append(np.mean([m[name] for name in spec.main_metrics]))
        return float(np.mean(vals))
    return score


def _scorer(rows_by_seed: dict[int, dict[str, dict]], ids: list[str], spec: Any) -> tuple[Any, str]:
    """A score function of resampled indices (or per-example scores), and how it is computed."""
    seeds = list(rows_by_seed)
    main = spec.main_metrics
    if set(main) <= PER_EXAMPLE:
        per = np.array([[_main_of(spec, [rows_by_seed[s][i]["prediction"]], [rows_by_seed[s][i]["gold"]])
                         for i in ids] for s in seeds])
        return per.mean(axis=0), "per-example"
    if spec.kind == "ner" and set(main) <= ENTITY:
        return _ner_scorer(rows_by_seed, ids, main), "entity counts"
    if spec.kind in ("single_cls", "pair_cls") and set(main) <= CONFUSION:
        return _classification_scorer(rows_by_seed, ids, spec), "confusion counts"
    if spec.kind == "regression" and set(main) <= {"pearson", "spearman"}:
        return _regression_scorer(rows_by_seed, ids, spec), "correlation"
    preds = [[rows_by_seed[s][i]["prediction"] for i in ids] for s in seeds]
    golds = [rows_by_seed[seeds[0]][i]["gold"] for i in ids]

    def score(idx: np.ndarray) -> float:
        g = [golds[j] for j in idx]
        vals = [_main_of(spec, [p[j] for j in idx], g) for p in preds]
        vals = [v for v in vals if v is not None and not np.isnan(v)]
        return float(np.mean(vals)) if vals else 0.0
    return score, "metric"


def compare_pair(data: AppData, task: str, a: tuple[str, ...], b: tuple[str, ...],
                 n_resamples: int = N_RESAMPLES) -> Optional[PairResult]:
    """Paired bootstrap of (model, revision[, method]) a against b on a task; None when predictions are missing."""
    ra, rb = _load(data, task, *a), _load(data, task, *b)
    if not ra or not rb:
        return None
    common = set.intersection(*(set(r) for r in list(ra.values()) + list(rb.values())))
    ids = sorted(common)
    if not ids:
        return None
    spec = task_spec(data, task)
    fa, method = _scorer(ra, ids, spec)
    fb, _ = _scorer(rb, ids, spec)
    diff, low, high, p = paired_bootstrap(fa, fb, len(ids), n_resamples)
    tie = bool(low <= 0 <= high)
    name_a, name_b = (display_name(k[0], k[2]) if len(k) > 2 else k[0] for k in (a, b))
    return PairResult(task, name_a, name_b, diff, low, high, p, len(ids), tie, method)


def task_significance(data: AppData, task: str, n_resamples: int = N_RESAMPLES) -> list[PairResult]:
    """Each model (ranked by mean main score on the task) against the next-ranked one."""
    sub = data.agg[data.agg.task == task].sort_values(["mean", "model"], ascending=[False, True])
    keys = list(zip(sub["model"], sub["revision"], sub["method"]))
    out = []
    for a, b in zip(keys, keys[1:]):
        res = compare_pair(data, task, a, b, n_resamples)
        if res is not None:
            out.append(res)
    return out


def significance_table(data: AppData, n_resamples: int = N_RESAMPLES) -> pd.DataFrame:
    """All tasks' adjacent-pair comparisons as a DataFrame (columns of PairResult)."""
    rows = [asdict(r) for t in data.tasks for r in task_significance(data, t, n_resamples)]
    cols = list(PairResult.__dataclass_fields__)
    return pd.DataFrame(rows, columns=cols)


def tie_markers(sig: pd.DataFrame) -> dict[tuple[str, str], str]:
    """(row name, task) -> '≈' when the model is within noise of the next-ranked one, '>' when clearly ahead."""
    return {(r.model, r.task): ("≈" if r.tie else ">") for r in sig.itertuples()}
