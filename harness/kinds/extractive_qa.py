"""Extractive QA: context + question -> an answer span (SQuAD; CMRC2018 with character F1)."""
from __future__ import annotations

from typing import Any, Optional

from ..errors import HarnessError
from ..specs import Source, TaskSpec
from .base import Evidence, TaskKind, register

LENGTH_BUCKETS = ((0, 0, "0"), (1, 1, "1"), (2, 2, "2"), (3, 4, "3-4"), (5, 8, "5-8"), (9, None, "9+"))


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

    def answer_length(self, gold: Any, task: "TaskSpec") -> int:
        """Tokens of the first gold answer as the task's F1 counts them (words; CJK characters with qa_f1: char)."""
        from ..qa_scoring import cmrc_tokens, squad_tokens

        golds = gold if isinstance(gold, list) else [gold]
        tokens = cmrc_tokens if task.qa_f1 == "char" else squad_tokens
        return len(tokens(str(golds[0]))) if golds else 0

    def evidence(self, task: "TaskSpec", rows: list[dict]) -> Evidence:
        """Exact match and F1 (the task's own scoring) by the gold answer's length in tokens."""
        import pandas as pd

        from .. import metrics

        lengths = [self.answer_length(r["gold"], task) for r in rows]
        out = []
        for low, high, name in LENGTH_BUCKETS:
            sel = [r for r, n in zip(rows, lengths) if n >= low and (high is None or n <= high)]
            if sel:
                preds, golds = [r["prediction"] for r in sel], [r["gold"] for r in sel]
                out.append({"answer tokens": name, "n": len(sel),
                            "exact_match": metrics.exact_match(preds, golds, task),
                            "qa_f1": metrics.qa_f1(preds, golds, task)})
        return Evidence({"by answer length": pd.DataFrame(out, columns=["answer tokens", "n", "exact_match",
                                                                         "qa_f1"])})

    def confidence(self, row: dict) -> Optional[float]:
        """The span's score (start + end logits; not a probability) where the row has one."""
        score = (row.get("scores") or {}).get("score")
        return float(score) if isinstance(score, (int, float)) and not isinstance(score, bool) else None

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
    name="extractive_qa", playground_views=("highlight",), fields=("context", "question", "answers"), gold_field="answers",
    metrics=("exact_match", "qa_f1"),
    adapters={("encoder", "head"): "harness.adapters.qa:QAAdapter",
              ("seq2seq", "head"): "harness.adapters.genqa:GenQAAdapter"},
    form=("context", "question"), length_field="context",
    hub_task_type="question-answering", pipeline_tag="question-answering",
    description="context + question -> an answer span of the context"))
