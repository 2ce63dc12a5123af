"""Two-level paired bootstrap over saved per-example test predictions: is a row's score different from the next one's?

Per task, rows (model + method) are ranked best first by mean main score in the task's direction (higher or lower
is better); each is compared with the next-ranked row on the examples both were evaluated on (joined by example
id). Differences are reported as "better by", in that direction. The runs compared are the cell's: every seed (and
fold) of the configuration the ranking shows. Each resample draws the test examples (shared by both rows: paired)
and, independently for each row, its runs with replacement; a row's score on a resample is the mean over the drawn
runs of each run's score on the drawn examples. So the interval covers seed variation as well as test sampling;
with one run per row it covers test sampling only. A run's score on a resample is its main score by the metrics'
one implementation (harness.metrics), which the records' scores use too: main scores that the registry says are a
mean of per-example scores (accuracy, exact match, QA F1) are resampled from per-example scores; the others are
computed on each resample from statistics taken once (confusion counts for binary F1 and MCC, per-sentence entity
counts for entity F1, values for correlations); a Hub metric is scored again from the drawn predictions. 1,000
resamples with a fixed seed.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Callable, Optional

import numpy as np
import pandas as pd

from harness import metrics
from harness.kinds import get_kind
from harness.results import read_predictions

from .data import AppData, prediction_files, task_spec
from .columns import LOWER, ranking_ascending, row_label
from .table import task_direction

N_RESAMPLES = 1000
SEED = 0
ALPHA = 0.05
NOTE = ("Significance (two-level paired bootstrap, 1,000 resamples, vs the next-ranked row on that task, in the "
        "task's direction; each resample draws the shared test examples and, per row, its seeds (and folds) with "
        "replacement, so the interval covers seed variation as well as test sampling; a row with one run: test "
        "sampling only): **≈** tie within noise (95% CI of the difference includes 0), **>** clearly better, **<** "
        "clearly worse on the shared test examples.")


@dataclass
class PairResult:
    """One comparison: ``model`` (ranked first) against ``next_model`` on ``task``, both named by their row label.

    ``diff`` is how much ``model`` is better than ``next_model`` in the task's direction, in the main score's
    natural units: positive means ``model`` is better (a higher score, or a lower one for a lower-is-better
    task), negative means it is worse; ``ci_low`` / ``ci_high`` bound that same signed difference."""

    task: str
    model: str
    next_model: str
    diff: float  # "better by": model - next when higher is better, next - model when lower is better
    ci_low: float
    ci_high: float
    p_value: float
    n_examples: int
    tie: bool  # True: the difference is within noise (95% CI includes 0)
    method: str  # "per-example", "entity counts" or "metric" (recomputed on each resample)
    runs: str = ""  # runs (seeds, folds x seeds) resampled per row: "3 vs 2"


def example_correct(kind: str, prediction: Any, gold: Any, task: Any = None) -> float:
    """1.0 when one prediction is right, as its task kind judges it (label equal, tag sequence equal, exact match
    with the task's normalisation, |error| <= 0.5 for regression)."""
    return get_kind(kind).example_correct(prediction, gold, task)


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


def two_level_bootstrap(runs_a: Callable[[np.ndarray], np.ndarray], runs_b: Callable[[np.ndarray], np.ndarray],
                        n: int, n_resamples: int = N_RESAMPLES, seed: int = SEED) -> tuple[float, float, float, float]:
    """Bootstrap the difference of two rows' scores over resampled examples and resampled runs.

    runs_a / runs_b: callables taking an index array of examples and returning each run's score on them (one value
    per seed or fold/seed). Each resample draws the examples once for both rows (paired), then each row's runs
    with replacement (independently: runs of different models are not paired); a row's score is the mean over
    its drawn runs. The examples are drawn exactly as `paired_bootstrap` draws them, so with identical runs (no
    seed variation) the result is the example-level one. Returns (observed diff, CI low, CI high, p-value)."""
    everything = np.arange(n)
    observed = float(np.mean(runs_a(everything)) - np.mean(runs_b(everything)))
    ex_rng, run_rng = np.random.default_rng(seed), np.random.default_rng([seed, 1])
    diffs = np.empty(n_resamples)
    for i in range(n_resamples):
        idx = ex_rng.integers(0, n, n)
        va, vb = np.asarray(runs_a(idx), float), np.asarray(runs_b(idx), float)
        diffs[i] = va[run_rng.integers(0, len(va), len(va))].mean() - vb[run_rng.integers(0, len(vb), len(vb))].mean()
    low, high = np.percentile(diffs, [100 * ALPHA / 2, 100 * (1 - ALPHA / 2)])
    p = min(1.0, 2 * min(float(np.mean(diffs <= 0)), float(np.mean(diffs >= 0))))
    return observed, float(low), float(high), p


def _load(data: AppData, task: str, model: str, revision: str, method: Optional[str] = None
          ) -> dict[Any, dict[str, dict]]:
    """Every run (seed, or fold/seed) of the configuration the ranking shows: run -> example id -> row."""
    files = prediction_files(data, task, model, revision, method)
    return {run: {r["id"]: r for r in read_predictions(path)} for run, path in files.items()}


def _one_run(rows: dict[str, dict], ids: list[str], spec: Any) -> tuple[Callable[[np.ndarray], float], str]:
    """One run's main score (the mean of the task's main metrics) as a function of resampled example indices, and
    how it is resampled: "per-example" when the registry says every main metric is a mean of per-example scores (their
    per-example mean is resampled), else the metrics' own way ("confusion counts", "entity counts", "correlation";
    "metric" where they differ, or for a metric scored again from the drawn predictions on each resample)."""
    preds, golds = [rows[i]["prediction"] for i in ids], [rows[i]["gold"] for i in ids]
    inputs = [rows[i]["input"] for i in ids] if all("input" in rows[i] for i in ids) else None
    mains = spec.main_metrics
    if all(metrics.per_example(m) for m in mains):
        per = np.mean([metrics.REGISTRY[m].stats(preds, golds, spec, inputs) for m in mains], axis=0)
        return (lambda idx: float(per[idx].mean())), "per-example"
    fns, hows = [], set()
    for m in mains:
        if m in metrics.REGISTRY:
            fns.append(metrics.REGISTRY[m].resampler(preds, golds, spec, inputs))
            if not metrics.per_example(m):
                hows.add(metrics.REGISTRY[m].resampled_as)
        else:  # a Hub metric: scored again on each resample
            fns.append(lambda idx, m=m: metrics.compute(spec, [preds[j] for j in idx], [golds[j] for j in idx])[m])
            hows.add("metric")

    def score(idx: np.ndarray) -> float:
        v = float(np.mean([f(idx) for f in fns]))
        return 0.0 if np.isnan(v) else v
    return score, hows.pop() if len(hows) == 1 else "metric"


def _scorer(rows_by_run: dict[Any, dict[str, dict]], ids: list[str], spec: Any
            ) -> tuple[Callable[[np.ndarray], np.ndarray], str]:
    """Each run's score as a function of resampled example indices (an array, one value per run), and how."""
    parts = [_one_run(rows, ids, spec) for rows in rows_by_run.values()]
    fns = [f for f, _ in parts]
    return (lambda idx: np.array([f(idx) for f in fns])), parts[0][1]


def _row_name(data: AppData, task: str, key: tuple[str, ...]) -> str:
    """The row label of (model, revision[, method]) on a task (untrained as the aggregate says)."""
    model, revision = key[0], key[1]
    method = key[2] if len(key) > 2 else "finetune"
    agg = data.agg
    hit = agg[(agg.task == task) & (agg.model == model) & (agg.revision == revision) & (agg.method == method)]
    return str(hit["row"].iloc[0]) if len(hit) and "row" in hit else row_label(model, method)


def compare_pair(data: AppData, task: str, a: tuple[str, ...], b: tuple[str, ...],
                 n_resamples: int = N_RESAMPLES) -> Optional[PairResult]:
    """Paired bootstrap of (model, revision[, method]) a against b on a task; None when predictions are missing.
    The result's diff and interval are "a better than b by", in the task's direction."""
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
    if task_direction(data.agg, task) == LOWER:  # "a better than b" = b's score - a's score
        fa, fb = fb, fa
    diff, low, high, p = two_level_bootstrap(fa, fb, len(ids), n_resamples)
    tie = bool(low <= 0 <= high)
    return PairResult(task, _row_name(data, task, a), _row_name(data, task, b), diff, low, high, p, len(ids), tie,
                      method, f"{len(ra)} vs {len(rb)}")


def rank_rows(agg: pd.DataFrame, task: str) -> pd.DataFrame:
    """A task's rows of aggregate() output, best first in the task's direction (ties: by row label)."""
    sub = agg[agg.task == task]
    by = "row" if "row" in sub else "model"
    return sub.sort_values(["mean", by], ascending=[ranking_ascending(task_direction(agg, task)), True])


def task_significance(data: AppData, task: str, n_resamples: int = N_RESAMPLES) -> list[PairResult]:
    """Each row (ranked best first by mean main score in the task's direction) against the next-ranked one."""
    sub = rank_rows(data.agg, task)
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
    """(row label, task) -> a mark against the next-ranked row, in the task's direction: '≈' within noise (the
    95% interval of the difference includes 0), '>' clearly better, '<' clearly worse on the shared examples
    (possible when the ranking's means cover other examples or folds)."""
    return {(r.model, r.task): "≈" if r.tie else (">" if r.diff > 0 else "<") for r in sig.itertuples()}
