"""Regression: two texts -> a number (STS-B style similarity)."""
from __future__ import annotations

import logging
import math
from statistics import median
from typing import TYPE_CHECKING, Any, Callable, Optional

import numpy as np

from ..errors import HarnessError
from .base import Evidence, TaskKind, register

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

    def evidence(self, task: "TaskSpec", rows: list[dict]) -> Evidence:
        """Errors by gold score (five equal-width bins): n, mean absolute error, mean prediction, and the share
        within 0.5 of the gold score (`example_correct`); unparseable predictions filled as the scores fill them."""
        import pandas as pd

        gold = pd.Series([float(r["gold"]) for r in rows])
        pred = pd.Series(fill_unparseable([r["prediction"] for r in rows], warn=False))
        bins = pd.cut(gold, bins=min(5, max(gold.nunique(), 1)), include_lowest=True)
        frame = pd.DataFrame({"gold score": bins.astype(str), "error": (pred - gold).abs(), "prediction": pred,
                              "within 0.5": ((pred - gold).abs() <= 0.5).astype(float), "order": bins.cat.codes})
        table = (frame.groupby(["order", "gold score"], as_index=False)
                 .agg(n=("error", "size"), mae=("error", "mean"), mean_prediction=("prediction", "mean"),
                      within_05=("within 0.5", "mean")).drop(columns="order"))
        return Evidence({"by gold score": table.rename(columns={"within_05": "within 0.5"})})

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
