"""Metric registry: name -> Metric, and compute() for a task's predictions.

Every metric takes ``(predictions, references, task)`` and returns a plain float in natural
units (accuracy 0..1, correlations -1..1). A task names built-in metrics, or an `evaluate` Hub metric as
``evaluate:NAME``: that downloads and runs the metric's code from the Hub, so it runs only when the run was given
``--trust-metric-code`` (checked at planning; :data:`TRUST_METRIC_CODE` carries it into the job's process).
A name that is a path or a script is never loaded.
"""
from __future__ import annotations

import contextvars
import logging
import re
from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np
from scipy import stats
from seqeval import metrics as seqeval_metrics
from sklearn import metrics as sk

from .errors import HarnessError, did_you_mean
from .kinds.ner import text_scores, text_totals
from .kinds.regression import fill_unparseable
from .qa_scoring import cmrc_pair, squad_pair
from .specs import TaskSpec

logger = logging.getLogger(__name__)

MetricFn = Callable[[list, list, TaskSpec], float]


@dataclass(frozen=True)
class Metric:
    """A named metric: ``fn(predictions, references, task) -> float``; with ``uses_inputs``,
    ``fn(predictions, references, task, inputs)``, inputs being each example's input fields (e.g. an NER score that
    matches entities by their text needs the words)."""

    name: str
    fn: MetricFn
    higher_is_better: bool = True
    uses_inputs: bool = False


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


def hub_metrics(names: list[str]) -> list[str]:
    """The names among ``names`` that run Hub code."""
    return [n for n in names if n.startswith(HUB_PREFIX)]


def register(name: str, higher_is_better: bool = True, uses_inputs: bool = False) -> Callable[[MetricFn], MetricFn]:
    """Decorator adding ``fn`` to REGISTRY under ``name``."""
    def deco(fn: MetricFn) -> MetricFn:
        REGISTRY[name] = Metric(name, fn, higher_is_better, uses_inputs)
        return fn
    return deco


def higher_is_better(name: str) -> bool:
    """Whether larger values of metric ``name`` are better (True for metrics not built in)."""
    return REGISTRY[name].higher_is_better if name in REGISTRY else True


def direction_of(name: str) -> str:
    """'higher' or 'lower': which way metric ``name`` is better."""
    return "higher" if higher_is_better(name) else "lower"


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
        import evaluate
        result = evaluate.load(hub).compute(predictions=predictions, references=references)
        return float(result[hub.split("/")[-1]])
    except Exception as e:  # noqa: BLE001 - any failure here is a user-facing config problem
        detail = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise HarnessError(f"metric '{name}': evaluate.load('{hub}') failed: {detail}") from None


# ---------------------------------------------------------------- classification

def _encode(predictions: list, references: list, task: TaskSpec) -> tuple[list[int], list[int]]:
    """Label names -> indices; out-of-set or None predictions -> the extra 'invalid' index."""
    index = {name: i for i, name in enumerate(task.label_names)}
    invalid = len(task.label_names)
    missing = [r for r in references if r not in index]
    if missing:
        raise ValueError(f"{task.name}: reference label {missing[0]!r} is not in label_names {task.label_names}")
    return [index.get(p, invalid) if isinstance(p, str) else invalid for p in predictions], \
        [index[r] for r in references]


@register("accuracy")
def accuracy(predictions: list, references: list, task: TaskSpec) -> float:
    """Share of exact matches: of label names for a kind with a label set, else of the values themselves (a choice
    index for multiple choice)."""
    if not task.task_kind.label_set:
        return float(np.mean([p == r for p, r in zip(predictions, references)]))
    y_pred, y_true = _encode(predictions, references, task)
    return float(sk.accuracy_score(y_true, y_pred))


@register("f1")
def binary_f1(predictions: list, references: list, task: TaskSpec) -> float:
    """F1 of ``task.positive_label``."""
    if task.positive_label is None:
        raise ValueError(f"task '{task.name}': metric 'f1' is binary F1 and needs positive_label "
                         f"(one of {task.label_names}); use macro_f1 for a multi-class task")
    y_pred, y_true = _encode(predictions, references, task)
    pos = task.label_names.index(task.positive_label)
    return float(sk.f1_score(y_true, y_pred, labels=[pos], average="micro", zero_division=0))


@register("macro_f1")
def macro_f1(predictions: list, references: list, task: TaskSpec) -> float:
    """Unweighted mean F1 over the task's labels (the 'invalid' class is not averaged in)."""
    y_pred, y_true = _encode(predictions, references, task)
    labels = list(range(len(task.label_names)))
    return float(sk.f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0))


@register("mcc")
def mcc(predictions: list, references: list, task: TaskSpec) -> float:
    y_pred, y_true = _encode(predictions, references, task)
    return float(sk.matthews_corrcoef(y_true, y_pred))


# ---------------------------------------------------------------- regression

def _correlation(kind: str, corr: Callable[..., Any]) -> MetricFn:
    """A metric from a scipy correlation; constant inputs (undefined correlation) score 0.0."""
    def fn(predictions: list, references: list, task: TaskSpec) -> float:
        x = np.asarray(fill_unparseable(predictions, warn=False), dtype=float)
        y = np.asarray(references, dtype=float)
        if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
            logger.warning("%s is undefined for constant predictions or references (or < 2 examples); "
                           "reporting 0.0", kind)
            return 0.0
        return float(corr(x, y)[0])
    return fn


pearson = register("pearson")(_correlation("pearson", stats.pearsonr))
spearman = register("spearman")(_correlation("spearman", stats.spearmanr))


@register("mse", higher_is_better=False)
def mse(predictions: list, references: list, task: TaskSpec) -> float:
    """Mean squared error (lower is better)."""
    return float(sk.mean_squared_error(references, fill_unparseable(predictions, warn=False)))


@register("mae", higher_is_better=False)
def mae(predictions: list, references: list, task: TaskSpec) -> float:
    """Mean absolute error (lower is better)."""
    return float(sk.mean_absolute_error(references, fill_unparseable(predictions, warn=False)))


# ---------------------------------------------------------------- NER (seqeval, conlleval-style)

def _seqeval(score: Callable[..., Any]) -> MetricFn:
    """A micro-averaged entity-level seqeval metric (default conlleval-style mode)."""
    def fn(predictions: list, references: list, task: TaskSpec) -> float:
        return float(score(references, predictions, zero_division=0))
    return fn


entity_precision = register("entity_precision")(_seqeval(seqeval_metrics.precision_score))
entity_recall = register("entity_recall")(_seqeval(seqeval_metrics.recall_score))
entity_f1 = register("entity_f1")(_seqeval(seqeval_metrics.f1_score))


@register("cluener_macro_f1", uses_inputs=True)
def cluener_macro_f1(predictions: list, references: list, task: TaskSpec, inputs: list[dict]) -> float:
    """CLUENER2020's official score (score.py): per entity type, F1 of entities matched by their text within a
    sentence (a text repeated in a sentence counts once), then the plain mean over label_names."""
    totals = text_totals(task, predictions, references, inputs)
    total = 0.0
    for name in task.label_names:  # summed in order, as score.py does
        total += text_scores(*totals[name])[2]
    return total / len(task.label_names)


# ---------------------------------------------------------------- extractive QA

def _qa_pair(pred: Optional[str], gold: str, task: TaskSpec) -> tuple[float, float]:
    """(exact match, F1) of one prediction against one gold answer: CMRC 2018's official scoring for
    ``qa_f1: char``, SQuAD v1.1's otherwise (harness.qa_scoring)."""
    return cmrc_pair(pred, gold) if task.qa_f1 == "char" else squad_pair(pred, gold)


def _qa_mean(which: int, predictions: list, references: list, task: TaskSpec) -> float:
    per_example = []
    for pred, golds in zip(predictions, references):
        golds = [golds] if isinstance(golds, str) else list(golds)
        per_example.append(max((_qa_pair(pred, g, task)[which] for g in golds), default=0.0))
    return float(np.mean(per_example))


@register("exact_match")
def exact_match(predictions: list, references: list, task: TaskSpec) -> float:
    """Fraction of predictions equal, after normalization, to some gold answer."""
    return _qa_mean(0, predictions, references, task)


@register("qa_f1")
def qa_f1(predictions: list, references: list, task: TaskSpec) -> float:
    """Mean over examples of the best F1 against any gold answer (SQuAD token or CMRC 2018 style)."""
    return _qa_mean(1, predictions, references, task)
