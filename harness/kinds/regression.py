"""Regression: two texts -> a number (STS-B style similarity)."""
from __future__ import annotations

from typing import Any

from ..errors import HarnessError
from ..scoring import fill_unparseable
from ..specs import Source, TaskSpec
from .base import Evidence, TaskKind, register


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
