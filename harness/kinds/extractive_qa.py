"""Extractive QA: context + question -> an answer span (SQuAD; CMRC2018 with character F1)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import HarnessError
from .base import TaskKind, register

if TYPE_CHECKING:
    from ..specs import Source, TaskSpec


class ExtractiveQA(TaskKind):
    def canonical(self, ex: dict, task: "TaskSpec", src: "Source", where: str) -> dict:
        ans = ex["answers"]
        if not isinstance(ans, dict) or "text" not in ans:
            raise HarnessError(f"{where}: answers must be {{text: [...], answer_start: [...]}}")
        ex["answers"] = {"text": list(ans["text"]), "answer_start": [int(s) for s in ans.get("answer_start", [])]}
        return ex

    def gold(self, ex: dict) -> Any:
        return list(ex["answers"]["text"])

    def example_correct(self, prediction: Any, gold: Any, task: "TaskSpec") -> float:
        """Exact match after the task's normalisation, against any gold answer."""
        from .. import metrics

        golds = gold if isinstance(gold, list) else [gold]
        return float(metrics.exact_match([prediction], [golds], task))

    def show(self, value: Any) -> str:
        return " | ".join(map(str, value)) if isinstance(value, list) else super().show(value)

    def format_prediction(self, example: dict, pred: dict) -> dict[str, Any]:
        p = pred.get("prediction")
        sc = pred.get("scores") or {}
        s, e = sc.get("start", 0), sc.get("end", 0)
        ctx = example["context"]
        out: dict[str, Any] = {"label": None, "text": f"answer: '{p}'" if p else "answer: (no span found)",
                               "highlight": [(ctx[:s], None), (ctx[s:e], "answer"), (ctx[e:], None)] if e > s
                               else [(ctx, None)]}
        gen = pred.get("generated")
        if gen is not None:  # T5 generates the answer: say so, and whether the context holds it verbatim
            out["text"] = (f"answer: '{p}' (generated: '{gen}')" if e > s else
                           f"answer: '{p}' (generated; not a span of the context)" if p else
                           "answer: (no span found: nothing generated in any window)")
        return out


QA = register(ExtractiveQA(
    name="extractive_qa", fields=("context", "question", "answers"), gold_field="answers",
    metrics=("exact_match", "qa_f1"),
    adapters={("encoder", "head"): "harness.adapters.qa:QAAdapter",
              ("seq2seq", "head"): "harness.adapters.genqa:GenQAAdapter"},
    form=("context", "question"), length_field="context",
    hub_task_type="question-answering", pipeline_tag="question-answering",
    description="context + question -> an answer span of the context"))
