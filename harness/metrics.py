"""Metric registry: name -> Metric, and compute() for a task's predictions.

Every metric takes ``(predictions, references, task)`` and returns a plain float in natural units (accuracy 0..1,
correlations -1..1). A metric is registered with its direction, whether it is the mean of per-example scores, and its
one implementation, which both a record's scores and the significance bootstrap (leaderboard/significance.py) use:
``stats`` turns the predictions into what the score is computed from (per-example scores, confusion counts, entity
counts, values), once; ``score`` gives the score of any selection of the examples from those (all: the record's; the
examples a resample draws: the bootstrap's). Registering imports no scikit-learn, scipy or seqeval: an implementation
imports them on its first score.

A task names built-in metrics, or an `evaluate` Hub metric as ``evaluate:NAME``: that downloads and runs the metric's
code from the Hub, so it runs only when the run was given ``--trust-metric-code`` (checked at planning;
:data:`TRUST_METRIC_CODE` carries it into the job's process). A name that is a path or a script is never loaded.
"""
from __future__ import annotations

import contextvars
import logging
import re
from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np

from .errors import HarnessError, did_you_mean
from .scoring import (Resamples, check_sentences, confusion, drawn_ranks, entity_counts, fill_unparseable, label_f1,
                      mcc_of, pearson_drawn, pearson_r, qa_best, spearman_drawn, spearman_rho, text_counts,
                      text_scores)
from .specs import TaskSpec

logger = logging.getLogger(__name__)

MetricFn = Callable[..., float]  # (predictions, references, task[, inputs]) -> the score of those examples
StatsFn = Callable[[list, list, TaskSpec, Optional[list]], Any]
ScoreFn = Callable[[Any, Optional[np.ndarray], TaskSpec], Any]  # (stats, example indices or None: all, task)


@dataclass(frozen=True)
class Metric:
    """A named metric: ``fn(predictions, references, task[, inputs])`` scores every example, ``resampler`` any
    selection of them. ``uses_inputs``: it needs each example's input fields (e.g. an NER score that matches entities
    by their text needs the words). ``per_example``: the score is the mean of the per-example scores ``stats``
    returns. ``resampled_as``: how the significance bootstrap names resampling it. ``batched``: ``score`` also takes
    `harness.scoring.Resamples` (how often each example is drawn, per resample) and returns an array, one score per
    resample, by the same formulas (the decision's bootstrap scores 1,000 resamples in one call)."""

    name: str
    stats: StatsFn
    score: ScoreFn
    higher_is_better: bool = True
    uses_inputs: bool = False
    per_example: bool = False
    resampled_as: str = "metric"
    batched: bool = False

    def fn(self, predictions: list, references: list, task: TaskSpec, inputs: Optional[list] = None) -> float:
        return self.score(self.stats(predictions, references, task, inputs), None, task)

    def resampler(self, predictions: list, references: list, task: TaskSpec,
                  inputs: Optional[list] = None) -> Callable[[np.ndarray], float]:
        """The score of the examples at some indices (a bootstrap resample), the statistics computed once."""
        stats = self.stats(predictions, references, task, inputs)
        return lambda idx: self.score(stats, idx, task)


REGISTRY: dict[str, Metric] = {}
HUB_PREFIX = "evaluate:"
_HUB_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]*(/[A-Za-z0-9][A-Za-z0-9_\-]*)?$")  # NAME or ORG/NAME, no path
TRUST_METRIC_CODE: contextvars.ContextVar[bool] = contextvars.ContextVar("trust_metric_code", default=False)


def check_name(name: str) -> str:
    """A metric name as a task may give it: built in, or ``evaluate:NAME`` naming a Hub metric (never a path)."""
    if name in REGISTRY:
        return name
    if name.startswith(HUB_PREFIX):
        hub = name[len(HUB_PREFIX):]
        if not _HUB_NAME.match(hub):
            raise ValueError(f"metric '{name}': expected evaluate:NAME or evaluate:ORG/NAME naming a Hub metric, "
                             "not a path or a script")
        return name
    raise ValueError(f"unknown metric '{name}'{did_you_mean(name, REGISTRY)}; built-in metrics only, or an "
                     f"evaluate Hub metric named {HUB_PREFIX}NAME (runs the metric's code from the Hub: needs "
                     "--trust-metric-code)")


def load_hub_metric(name: str) -> Any:
    """The evaluate module of ``evaluate:NAME`` (or ``evaluate:ORG/NAME``), from the Hub only: evaluate.load looks
    for a local folder of that name (./NAME/NAME.py) before the Hub, so any such path in the working directory is
    refused rather than run. Raises HarnessError for that; evaluate's own errors pass through."""
    import os

    hub = name[len(HUB_PREFIX):]
    if os.path.lexists(hub):
        raise HarnessError(f"metric '{name}': the working directory holds '{hub}' ({os.path.abspath(hub)}), which "
                           "evaluate would run instead of the Hub metric; rename or move it, or run from another "
                           "directory")
    import evaluate

    return evaluate.load(hub)


def hub_metrics(names: list[str]) -> list[str]:
    """The names among ``names`` that run Hub code."""
    return [n for n in names if n.startswith(HUB_PREFIX)]


def register_resampled(name: str, stats: StatsFn, score: ScoreFn, *, higher_is_better: bool = True,
                       uses_inputs: bool = False, per_example: bool = False, resampled_as: str = "metric",
                       batched: bool = False) -> MetricFn:
    """Add a metric given in two steps (``stats`` once, ``score`` of any selection; ``batched``: of a matrix of
    selections too, see Metric); returns its ``fn``."""
    REGISTRY[name] = Metric(name, stats, score, higher_is_better, uses_inputs, per_example,
                            "per-example" if per_example else resampled_as, batched)
    return REGISTRY[name].fn


def _as_given(predictions: list, references: list, task: TaskSpec, inputs: Optional[list] = None) -> tuple:
    return list(predictions), list(references), inputs


def register(name: str, higher_is_better: bool = True, uses_inputs: bool = False) -> Callable[[MetricFn], MetricFn]:
    """Decorator adding a metric given in one step, ``fn(predictions, references, task[, inputs])``: a bootstrap
    resample calls it again on the predictions it draws."""
    def deco(fn: MetricFn) -> MetricFn:
        def score(given: tuple, idx: Optional[np.ndarray], task: TaskSpec) -> float:
            preds, refs, inputs = given if idx is None else [None if g is None else [g[j] for j in idx] for g in given]
            return fn(preds, refs, task, inputs) if uses_inputs else fn(preds, refs, task)
        register_resampled(name, _as_given, score, higher_is_better=higher_is_better, uses_inputs=uses_inputs)
        return fn
    return deco


def higher_is_better(name: str) -> bool:
    """Whether larger values of metric ``name`` are better (True for metrics not built in)."""
    return REGISTRY[name].higher_is_better if name in REGISTRY else True


def direction_of(name: str) -> str:
    """'higher' or 'lower': which way metric ``name`` is better."""
    return "higher" if higher_is_better(name) else "lower"


def per_example(name: str) -> bool:
    """Whether metric ``name`` is the mean of per-example scores (False for metrics not built in)."""
    return name in REGISTRY and REGISTRY[name].per_example


def compute(task: TaskSpec, predictions: list, references: list,
            inputs: Optional[list[dict]] = None) -> dict[str, float]:
    """Score every metric in ``task.metrics``, plus ``main`` = mean of ``task.main_metrics``. ``inputs``: each
    example's input fields (``Adapter.inputs``), for the metrics that use them."""
    if len(predictions) != len(references):
        raise ValueError(f"{task.name}: {len(predictions)} predictions but {len(references)} references")
    if not references:
        raise ValueError(f"{task.name}: no examples to score")
    predictions = task.task_kind.prepare_predictions(task, predictions)
    scores = {}
    for name in task.metrics:
        metric = REGISTRY.get(name)
        if metric is not None and metric.uses_inputs:
            if inputs is None or len(inputs) != len(references):
                raise ValueError(f"{task.name}: metric '{name}' needs the inputs of every example")
            scores[name] = float(metric.fn(predictions, references, task, inputs))
        else:
            scores[name] = float(_score(name, predictions, references, task))
    scores["main"] = float(np.mean([scores[m] for m in task.main_metrics]))
    return scores


def _score(name: str, predictions: list, references: list, task: TaskSpec) -> float:
    if name in REGISTRY:
        return REGISTRY[name].fn(predictions, references, task)
    check_name(name)
    if not TRUST_METRIC_CODE.get():
        raise HarnessError(f"metric '{name}' runs code from the Hub; it runs only with --trust-metric-code")
    hub = name[len(HUB_PREFIX):]
    try:
        result = load_hub_metric(name).compute(predictions=predictions, references=references)
        return float(result[hub.split("/")[-1]])
    except HarnessError:
        raise
    except Exception as e:  # noqa: BLE001 - any failure here is a user-facing config problem
        detail = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise HarnessError(f"metric '{name}': evaluate.load('{hub}') failed: {detail}") from None


def _mean(per: np.ndarray, idx: Any, task: TaskSpec) -> Any:
    """A per-example metric's score: the mean of the selected examples' scores (of Resamples: each resample's)."""
    if isinstance(idx, Resamples):
        return idx.mean(per)
    return float(per.mean() if idx is None else per[idx].mean())


# ---------------------------------------------------------------- classification (from confusion counts)

def _encode(predictions: list, references: list, task: TaskSpec) -> tuple[list[int], list[int]]:
    """Label names -> indices; out-of-set or None predictions -> the extra 'invalid' index."""
    index = {name: i for i, name in enumerate(task.label_names)}
    invalid = len(task.label_names)
    missing = [r for r in references if r not in index]
    if missing:
        raise ValueError(f"{task.name}: reference label {missing[0]!r} is not in label_names {task.label_names}")
    return [index.get(p, invalid) if isinstance(p, str) else invalid for p in predictions], \
        [index[r] for r in references]


def _correct(predictions: list, references: list, task: TaskSpec, inputs: Optional[list] = None) -> np.ndarray:
    """1.0 per exact match: of label names for a kind with a label set (every reference must be one), else of the
    values themselves (a choice index for multiple choice)."""
    if task.task_kind.label_set:
        _encode(predictions, references, task)
    return np.array([p == r for p, r in zip(predictions, references)], dtype=float)


def _cells(predictions: list, references: list, task: TaskSpec, inputs: Optional[list] = None) -> tuple:
    """Each example's (gold label, predicted label or 'invalid') as indices, and the number of labels."""
    y_pred, y_true = _encode(predictions, references, task)
    return np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64), len(task.label_names)


def _binary_f1_cells(predictions: list, references: list, task: TaskSpec, inputs: Optional[list] = None) -> tuple:
    if task.positive_label is None:
        raise ValueError(f"task '{task.name}': metric 'f1' is binary F1 and needs positive_label "
                         f"(one of {task.label_names}); use macro_f1 for a multi-class task")
    return _cells(predictions, references, task)


def _scalar(value: Any) -> Any:
    """A score of one selection as a float; of a matrix of selections, the array as is."""
    return float(value) if np.ndim(value) == 0 else value


def _binary_f1(cells: tuple, idx: Optional[np.ndarray], task: TaskSpec) -> Any:
    """F1 of ``task.positive_label``."""
    return _scalar(label_f1(confusion(*cells, idx))[..., task.label_names.index(task.positive_label)])


def _macro_f1(cells: tuple, idx: Optional[np.ndarray], task: TaskSpec) -> Any:
    """Unweighted mean F1 over the task's labels (the 'invalid' class is not averaged in)."""
    return _scalar(label_f1(confusion(*cells, idx)).mean(axis=-1))


def _mcc(cells: tuple, idx: Optional[np.ndarray], task: TaskSpec) -> Any:
    return mcc_of(confusion(*cells, idx))


accuracy = register_resampled("accuracy", _correct, _mean, per_example=True, batched=True)
binary_f1 = register_resampled("f1", _binary_f1_cells, _binary_f1, resampled_as="confusion counts", batched=True)
macro_f1 = register_resampled("macro_f1", _cells, _macro_f1, resampled_as="confusion counts", batched=True)
mcc = register_resampled("mcc", _cells, _mcc, resampled_as="confusion counts", batched=True)


# ---------------------------------------------------------------- regression

def _values(predictions: list, references: list, task: TaskSpec, inputs: Optional[list] = None) -> tuple:
    """(predictions with unparseable ones filled, references) as float arrays."""
    return np.asarray(fill_unparseable(predictions, warn=False), dtype=float), np.asarray(references, dtype=float)


def _correlation(kind: str, corr: Callable[[np.ndarray, np.ndarray], float],
                 drawn: Callable[..., np.ndarray]) -> ScoreFn:
    """A correlation of the selected examples; constant inputs (undefined correlation) score 0.0. Of Resamples: one
    correlation per resample (constant ones 0.0), by ``drawn`` (the values, the Resamples and which resamples are
    not constant)."""
    def varies(v: np.ndarray, res: Resamples) -> np.ndarray:
        return res.shared(("varies", v.tobytes()), lambda: np.ptp(v[res.idx], axis=-1) > 0)

    def score(values: tuple, idx: Any, task: TaskSpec) -> Any:
        if isinstance(idx, Resamples):
            ok = varies(values[0], idx) & varies(values[1], idx) & (idx.idx.shape[-1] >= 2)
            out = np.zeros(len(idx))
            if ok.any():
                out[ok] = drawn(values, idx, ok)
            return out
        x, y = values if idx is None else (values[0][idx], values[1][idx])
        if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
            if idx is None:
                logger.warning("%s is undefined for constant predictions or references (or < 2 examples); "
                               "reporting 0.0", kind)
            return 0.0
        return corr(x, y)
    return score


pearson = register_resampled("pearson", _values, _correlation(
    "pearson", pearson_r, lambda values, res, ok: pearson_drawn(*values, res.counts[ok])),
                             resampled_as="correlation", batched=True)
spearman = register_resampled("spearman", _values, _correlation(
    "spearman", spearman_rho, lambda values, res, ok: spearman_drawn(
        *values, res.counts[ok], res.shared(("ranks", values[1].tobytes()),
                                            lambda: drawn_ranks(values[1], res.counts))[ok])),
                              resampled_as="correlation", batched=True)


# the fill of unparseable predictions depends on the examples scored: a resample is scored again from its predictions
@register("mse", higher_is_better=False)
def mse(predictions: list, references: list, task: TaskSpec) -> float:
    """Mean squared error (lower is better)."""
    from sklearn.metrics import mean_squared_error

    return float(mean_squared_error(references, fill_unparseable(predictions, warn=False)))


@register("mae", higher_is_better=False)
def mae(predictions: list, references: list, task: TaskSpec) -> float:
    """Mean absolute error (lower is better)."""
    from sklearn.metrics import mean_absolute_error

    return float(mean_absolute_error(references, fill_unparseable(predictions, warn=False)))


# ---------------------------------------------------------------- NER (entity counts: seqeval, conlleval-style)

def _entities(predictions: list, references: list, task: TaskSpec, inputs: Optional[list] = None) -> np.ndarray:
    """(true positives, predicted, gold) entities per sentence, as seqeval's default mode counts them."""
    check_sentences(predictions, references)
    return np.array([entity_counts(p, g) for p, g in zip(predictions, references)], dtype=np.int64).reshape(-1, 3)


def _micro(which: int) -> ScoreFn:
    """Micro-averaged entity precision (0), recall (1) or F1 (2) of the selected sentences, as seqeval's (a matrix
    of selections: one score per row)."""
    def score(counts: np.ndarray, idx: Any, task: TaskSpec) -> Any:
        if isinstance(idx, Resamples):
            tp, n_pred, n_gold = np.rint(idx.counts @ counts).T  # drawn copies count as often as drawn
            return text_scores(tp, n_pred - tp, n_gold - tp)[which]
        tp, n_pred, n_gold = (counts if idx is None else counts[idx]).sum(axis=0).tolist()
        return text_scores(tp, n_pred - tp, n_gold - tp)[which]
    return score


def _texts(predictions: list, references: list, task: TaskSpec, inputs: Optional[list] = None) -> np.ndarray:
    """(true positives, false positives, false negatives) per sentence and entity type, entities matched by text."""
    if inputs is None or len(inputs) != len(references):
        raise ValueError(f"{task.name}: metric 'cluener_macro_f1' needs the inputs of every example")
    return np.array([text_counts(inp["tokens"], p, g, task.label_names)
                     for p, g, inp in zip(predictions, references, inputs)],
                    dtype=np.int64).reshape(-1, len(task.label_names), 3)


def _cluener(counts: np.ndarray, idx: Optional[np.ndarray], task: TaskSpec) -> float:
    """CLUENER2020's official score (score.py): per entity type, F1 of entities matched by their text within a
    sentence (a text repeated in a sentence counts once), then the plain mean over label_names (a matrix of
    selections: one score per row)."""
    if isinstance(idx, Resamples):
        summed = np.rint(idx.counts @ counts.reshape(len(counts), -1)).reshape(len(idx), *counts.shape[1:])
        total = np.zeros(len(idx))
        for t in range(summed.shape[1]):  # in order, as score.py sums
            total = total + text_scores(*np.moveaxis(summed[:, t], -1, 0))[2]
        return total / len(task.label_names)
    total = 0.0
    for tp, fp, fn in (counts if idx is None else counts[idx]).sum(axis=0).tolist():  # in order, as score.py sums
        total += text_scores(tp, fp, fn)[2]
    return total / len(task.label_names)


entity_precision = register_resampled("entity_precision", _entities, _micro(0), resampled_as="entity counts",
                                      batched=True)
entity_recall = register_resampled("entity_recall", _entities, _micro(1), resampled_as="entity counts", batched=True)
entity_f1 = register_resampled("entity_f1", _entities, _micro(2), resampled_as="entity counts", batched=True)
cluener_macro_f1 = register_resampled("cluener_macro_f1", _texts, _cluener, uses_inputs=True,
                                      resampled_as="entity counts", batched=True)


# ---------------------------------------------------------------- extractive QA

def _best(which: int) -> StatsFn:
    """Per question, the best exact match (0) or F1 (1) over its gold answers (SQuAD token or CMRC 2018 style)."""
    def stats(predictions: list, references: list, task: TaskSpec, inputs: Optional[list] = None) -> np.ndarray:
        return np.array([qa_best(which, p, g, task) for p, g in zip(predictions, references)], dtype=float)
    return stats


exact_match = register_resampled("exact_match", _best(0), _mean, per_example=True, batched=True)
qa_f1 = register_resampled("qa_f1", _best(1), _mean, per_example=True, batched=True)
