"""Regression: two texts -> a number (STS-B style similarity)."""
from __future__ import annotations

import logging
import math
from statistics import median
from typing import TYPE_CHECKING, Any, Callable, Optional

import numpy as np

from ..errors import HarnessError
from .base import TaskKind, register

if TYPE_CHECKING:
    from ..specs import Source, TaskSpec

log = logging.getLogger(__name__)
CORRELATIONS = {"pearson", "spearman"}


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


class Regression(TaskKind):
    def canonical(self, ex: dict, task: "TaskSpec", src: "Source", where: str) -> dict:
        try:
            ex["label"] = float(ex["label"])
        except (TypeError, ValueError):
            raise HarnessError(f"{where}: score '{ex['label']}' is not a number") from None
        return ex

    def prepare_predictions(self, task: "TaskSpec", predictions: list) -> list:
        return fill_unparseable(predictions)  # once here, so the warning is logged once

    def example_correct(self, prediction: Any, gold: Any, task: "TaskSpec") -> float:
        """Within 0.5 of the gold score."""
        try:
            return float(abs(float(prediction) - float(gold)) <= 0.5)
        except (TypeError, ValueError):
            return 0.0

    def bootstrap_scorer(self, rows_by_seed: dict, ids: list, task: "TaskSpec") -> Optional[tuple[Callable, str]]:
        if not set(task.main_metrics) <= CORRELATIONS:
            return None
        from scipy.stats import rankdata

        gold = np.array([float(rows_by_seed[next(iter(rows_by_seed))][i]["gold"]) for i in ids])
        preds = [np.array(fill_unparseable([rows_by_seed[s][i]["prediction"] for i in ids], warn=False))
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
                vals.append(np.mean([m[name] for name in task.main_metrics]))
            return float(np.mean(vals))
        return score, "correlation"

    def format_prediction(self, example: dict, pred: dict) -> dict[str, Any]:
        p = pred.get("prediction")
        text = f"prediction: {p:.3f}" if isinstance(p, (int, float)) else f"prediction: unparseable {pred.get('generated')!r}"
        return {"text": text, "label": None, "highlight": None}


REGRESSION = register(Regression(
    name="regression", fields=("text_a", "text_b", "label"), gold_field="label",
    metrics=("pearson", "spearman", "mse", "mae"),
    adapters={("encoder", "head"): "harness.adapters.encoder:SequenceAdapter",
              ("seq2seq", "head"): "harness.adapters.seq2seq:Seq2SeqAdapter"},
    form=("text_a", "text_b"), length_field="text_b", description="two texts -> a number",
    hub_task_type="text-classification", pipeline_tag="text-classification"))  # transformers: a 1-label head
