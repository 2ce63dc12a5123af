"""Named-entity recognition: words -> BIO tags over the task's entity types (label_names)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Optional

import numpy as np

from ..errors import HarnessError, did_you_mean
from ..text import join_tokens, split_tokens
from .base import TaskKind, register

if TYPE_CHECKING:
    from ..specs import Source, TaskSpec

ENTITY = {"entity_f1", "entity_precision", "entity_recall"}


def tag_names(task: "TaskSpec") -> list[str]:
    """BIO tags derived from the entity types in label_names."""
    return ["O"] + [f"{p}-{t}" for t in task.label_names for p in ("B", "I")]


def entity_counts(pred: list, gold: list) -> tuple[int, int, int]:
    """(true positives, predicted, gold) entities of one sentence, as seqeval's default mode counts them."""
    from seqeval.metrics.sequence_labeling import get_entities

    p, g = set(get_entities(list(pred or []))), set(get_entities(list(gold or [])))
    return len(p & g), len(p), len(g)


def entity_spans(tokens: list[str], tags: list[str]) -> list[tuple[str, Optional[str]]]:
    """(text, entity type or None) segments for gr.HighlightedText from BIO tags over words."""
    from seqeval.metrics.sequence_labeling import get_entities

    segs: list[tuple[str, Optional[str]]] = []
    pos = 0
    for typ, start, end in sorted(get_entities(list(tags)), key=lambda e: e[1]):
        if start > pos:
            segs.append((join_tokens(tokens[pos:start]) + " ", None))
        segs.append((join_tokens(tokens[start:end + 1]), typ))
        pos = end + 1
    if pos < len(tokens):
        segs.append((" " + join_tokens(tokens[pos:]), None))
    return segs


class NER(TaskKind):
    def canonical(self, ex: dict, task: "TaskSpec", src: "Source", where: str) -> dict:
        tags = [src.label_map.get(str(t), str(t)) for t in ex["tags"]]
        allowed = set(tag_names(task))
        bad = next((t for t in tags if t not in allowed), None)
        if bad is not None:
            raise HarnessError(f"{where}: tag '{bad}' is not a BIO tag of label_names {task.label_names}"
                               f"{did_you_mean(bad, allowed)}")
        if len(tags) != len(ex["tokens"]):
            raise HarnessError(f"{where}: {len(ex['tokens'])} tokens but {len(tags)} tags")
        ex["tokens"], ex["tags"] = [str(t) for t in ex["tokens"]], tags
        return ex

    def output_names(self, task: "TaskSpec") -> list[str]:
        return tag_names(task)

    def breakdown(self, task: "TaskSpec", predictions: list, references: list) -> dict[str, dict[str, float]]:
        """Entity-level precision, recall, F1 and support per entity type (seqeval's report)."""
        from seqeval.metrics import classification_report

        report = classification_report(references, predictions, output_dict=True, zero_division=0)
        return {name: {"precision": float(v["precision"]), "recall": float(v["recall"]),
                       "f1": float(v["f1-score"]), "support": float(v["support"])}
                for name, v in report.items() if name in task.label_names}

    def bootstrap_scorer(self, rows_by_seed: dict, ids: list, task: "TaskSpec") -> Optional[tuple[Callable, str]]:
        main = task.main_metrics
        if not set(main) <= ENTITY:
            return None
        counts = np.array([[entity_counts(rows_by_seed[s][i]["prediction"], rows_by_seed[s][i]["gold"]) for i in ids]
                           for s in rows_by_seed], dtype=float)  # seeds x examples x 3

        def score(idx: np.ndarray) -> float:
            tp, n_pred, n_gold = counts[:, idx, :].sum(axis=1).T
            prec = np.divide(tp, n_pred, out=np.zeros_like(tp), where=n_pred > 0)
            rec = np.divide(tp, n_gold, out=np.zeros_like(tp), where=n_gold > 0)
            f1 = np.divide(2 * prec * rec, prec + rec, out=np.zeros_like(tp), where=(prec + rec) > 0)
            by = {"entity_precision": prec, "entity_recall": rec, "entity_f1": f1}
            return float(np.mean([by[m].mean() for m in main]))
        return score, "entity counts"

    def show(self, value: Any) -> str:
        return " ".join(value) if isinstance(value, list) else super().show(value)

    def from_text(self, text: str) -> Optional[dict]:
        return {"tokens": split_tokens(text)}

    def format_prediction(self, example: dict, pred: dict) -> dict[str, Any]:
        spans = entity_spans(example["tokens"], pred.get("prediction") or [])
        ents = [f"{t} ({lab})" for t, lab in spans if lab]
        return {"text": "entities: " + (", ".join(ents) if ents else "none found"), "label": None, "highlight": spans}


NER_KIND = register(NER(
    name="ner", fields=("tokens", "tags"), gold_field="tags",
    metrics=("entity_f1", "entity_precision", "entity_recall"),
    adapters={("encoder", "head"): "harness.adapters.encoder:TokenAdapter"},
    form=("text",), length_field="tokens", word_fields=("tokens",), needs_label_names=True, text_input=True,
    description="words -> BIO tags over label_names (entity types)", form_fields={"text": "tokens"}))
