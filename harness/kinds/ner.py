"""Named-entity recognition: words -> BIO tags over the task's entity types (label_names)."""
from __future__ import annotations

from typing import Any, Optional

from ..errors import HarnessError, did_you_mean
from ..scoring import text_scores, text_totals
from ..specs import Source, TaskSpec
from ..text import join_tokens, split_tokens
from .base import Evidence, TaskKind, register

BY_TEXT = "cluener_macro_f1"  # CLUENER2020's official score (entities matched by text, mean over types)
MISSED, SPURIOUS = "(missed)", "(none)"  # a gold entity no prediction covers; a predicted one no gold entity has


def tag_names(task: "TaskSpec") -> list[str]:
    """BIO tags derived from the entity types in label_names."""
    return ["O"] + [f"{p}-{t}" for t in task.label_names for p in ("B", "I")]


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

    def breakdown(self, task: "TaskSpec", predictions: list, references: list,
                  inputs: Optional[list[dict]] = None) -> dict[str, dict[str, float]]:
        """Per entity type: entity-level precision, recall, F1 and support (seqeval's report, entities by position)
        and, given the inputs, text_precision, text_recall, text_f1 (CLUENER2020's official per-type scores:
        entities matched by text; their mean text_f1 is cluener_macro_f1)."""
        from seqeval.metrics import classification_report

        report = classification_report(references, predictions, output_dict=True, zero_division=0)
        out = {name: {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0.0} for name in task.label_names}
        out.update({name: {"precision": float(v["precision"]), "recall": float(v["recall"]),
                           "f1": float(v["f1-score"]), "support": float(v["support"])}
                    for name, v in report.items() if name in task.label_names})
        if inputs is not None:
            for name, counts in text_totals(task, predictions, references, inputs).items():
                out[name].update(zip(("text_precision", "text_recall", "text_f1"), text_scores(*counts)))
        return out

    def evidence(self, task: "TaskSpec", rows: list[dict]) -> Evidence:
        """Per entity type scores (`breakdown`: seqeval's, plus CLUENER's by text when the rows hold the words) and
        entity types matched by span: each gold entity against the type predicted at exactly its words
        ("(missed)": none), and predicted entities where no gold one is (row "(none)")."""
        import pandas as pd
        from seqeval.metrics.sequence_labeling import get_entities

        preds, golds = [list(r["prediction"] or []) for r in rows], [list(r["gold"]) for r in rows]
        inputs = [r.get("input") or {} for r in rows]
        per_type = pd.DataFrame.from_dict(
            self.breakdown(task, preds, golds, inputs if all("tokens" in i for i in inputs) else None),
            orient="index").rename_axis("entity type").reset_index()
        types = list(task.label_names)
        matrix = pd.DataFrame(0, index=pd.Index(types + [SPURIOUS], name="gold"),
                              columns=pd.Index(types + [MISSED], name="prediction"))
        for pred, gold in zip(preds, golds):
            p = {(start, end): typ for typ, start, end in get_entities(pred)}
            g = {(start, end): typ for typ, start, end in get_entities(gold)}
            for span, typ in g.items():
                matrix.loc[typ, p.get(span, MISSED)] += 1
            for span, typ in p.items():
                if span not in g:
                    matrix.loc[SPURIOUS, typ] += 1
        return Evidence({"per entity type": per_type}, matrix, "entities by span (gold type x predicted type)")

    def error_classes(self, gold: Any) -> list[str]:
        """The entity types in the gold tags."""
        from seqeval.metrics.sequence_labeling import get_entities

        return sorted({typ for typ, _, _ in get_entities(list(gold or []))})

    def show(self, value: Any) -> str:
        return " ".join(value) if isinstance(value, list) else super().show(value)

    def from_text(self, text: str) -> Optional[dict]:
        return {"tokens": split_tokens(text)}

    def format_prediction(self, example: dict, pred: dict) -> dict[str, Any]:
        spans = entity_spans(example["tokens"], pred.get("prediction") or [])
        ents = [f"{t} ({lab})" for t, lab in spans if lab]
        return {"text": "entities: " + (", ".join(ents) if ents else "none found"), "label": None, "highlight": spans}


NER_KIND = register(NER(
    name="ner", playground_views=("highlight",), fields=("tokens", "tags"), gold_field="tags",
    metrics=("entity_f1", "entity_precision", "entity_recall", BY_TEXT),
    adapters={("encoder", "head"): "harness.adapters.encoder:TokenAdapter"},
    form=("text",), length_field="tokens", word_fields=("tokens",), needs_label_names=True, text_input=True,
    hub_task_type="token-classification", pipeline_tag="token-classification",
    description="words -> BIO tags over label_names (entity types)", form_fields={"text": "tokens"}))
