"""Classification kinds: single_cls (one text) and pair_cls (two texts), over a finite set of label names."""
from __future__ import annotations

import logging
from typing import Any, Optional

from ..errors import HarnessError, did_you_mean
from ..specs import Source, TaskSpec
from .base import Evidence, TaskKind, register

log = logging.getLogger(__name__)
INVALID = "(invalid)"  # a prediction that is none of the label names (an unparseable generation)


class Classification(TaskKind):
    """Label names from the task YAML; a source label is mapped through label_map and must be one of them."""

    def canonical(self, ex: dict, task: "TaskSpec", src: "Source", where: str) -> dict:
        raw = str(ex["label"])
        label = src.label_map.get(raw, raw)
        if label not in task.label_names:
            raise HarnessError(f"{where}: label '{raw}' is not in label_names {task.label_names}"
                               f"{did_you_mean(label, task.label_names)}")
        ex["label"] = label
        return ex

    def prepare_predictions(self, task: "TaskSpec", predictions: list) -> list:
        bad = sum(p not in task.label_names for p in predictions)
        if bad:
            log.warning("%s: %d of %d predictions are not valid labels; scored as wrong",
                        task.name, bad, len(predictions))
        return predictions

    def breakdown(self, task: "TaskSpec", predictions: list, references: list,
                  inputs: Optional[list[dict]] = None) -> dict[str, dict[str, float]]:
        """Precision, recall, F1 and support per label (invalid predictions count as wrong for every label)."""
        from sklearn.metrics import precision_recall_fscore_support

        index = {name: i for i, name in enumerate(task.label_names)}
        y_pred = [index.get(p, len(index)) if isinstance(p, str) else len(index) for p in predictions]
        y_true = [index[r] for r in references]
        p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=list(range(len(index))),
                                                     zero_division=0)
        return {name: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": float(s[i])}
                for name, i in index.items()}

    def evidence(self, task: "TaskSpec", rows: list[dict]) -> Evidence:
        """The confusion matrix (gold label x predicted label, plus a column for invalid predictions when there
        are any) and precision, recall, F1 and support per label (`breakdown`, scikit-learn). `rows`: not empty."""
        import pandas as pd
        from sklearn.metrics import confusion_matrix

        names = list(task.label_names)
        golds = [r["gold"] for r in rows]
        preds = [r["prediction"] if r["prediction"] in names else INVALID for r in rows]
        cols = names + ([INVALID] if INVALID in preds else [])
        counts = confusion_matrix(golds, preds, labels=cols)
        matrix = pd.DataFrame(counts[:len(names)], index=pd.Index(names, name="gold"),
                              columns=pd.Index(cols, name="prediction"))
        per_class = pd.DataFrame.from_dict(self.breakdown(task, [r["prediction"] for r in rows], golds),
                                           orient="index").rename_axis("label").reset_index()
        return Evidence({"per class": per_class}, matrix, "confusion matrix (test examples)")

    def error_classes(self, gold: Any) -> list[str]:
        return [str(gold)]

    def format_prediction(self, example: dict, pred: dict) -> dict[str, Any]:
        p, gen = pred.get("prediction"), pred.get("generated")
        out: dict[str, Any] = {"label": dict(pred["scores"]) if pred.get("scores") else None, "highlight": None}
        out["text"] = f"prediction: {p}" + (f" (generated: '{gen}')" if gen is not None else "")
        if p is None:
            out["text"] = f"prediction: unparseable generation '{gen}' (counted wrong in scores)"
        return out


_ADAPTERS = {("encoder", "head"): "harness.adapters.encoder:SequenceAdapter",
             ("seq2seq", "head"): "harness.adapters.seq2seq:Seq2SeqAdapter",
             ("encoder", "mlm"): "harness.adapters.prompt:PromptAdapter"}
_METRICS = ("accuracy", "f1", "macro_f1", "mcc")


class SingleText(Classification):
    def from_text(self, text: str) -> Optional[dict]:
        return {"text": text}


SINGLE = register(SingleText(
    name="single_cls", fields=("text", "label"), gold_field="label", metrics=_METRICS, adapters=_ADAPTERS,
    form=("text",), length_field="text", needs_label_names=True, label_set=True, text_input=True,
    hub_task_type="text-classification", pipeline_tag="text-classification", playground_views=("label",),
    description="one text -> one of label_names"))
PAIR = register(Classification(
    name="pair_cls", fields=("text_a", "text_b", "label"), gold_field="label", metrics=_METRICS, adapters=_ADAPTERS,
    form=("text_a", "text_b"), length_field="text_b", needs_label_names=True, label_set=True,
    hub_task_type="text-classification", pipeline_tag="text-classification", playground_views=("label",),
    description="two texts -> one of label_names"))
