"""Named-entity recognition: words -> BIO tags over the task's entity types (label_names)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Optional

import numpy as np

from ..errors import HarnessError, did_you_mean
from ..text import join_tokens, split_tokens
from .base import Evidence, TaskKind, register

if TYPE_CHECKING:
    from ..specs import Source, TaskSpec

ENTITY = {"entity_f1", "entity_precision", "entity_recall"}
BY_TEXT = "cluener_macro_f1"  # CLUENER2020's official score (entities matched by text, mean over types)
MISSED, SPURIOUS = "(missed)", "(none)"  # a gold entity no prediction covers; a predicted one no gold entity has


def tag_names(task: "TaskSpec") -> list[str]:
    """BIO tags derived from the entity types in label_names."""
    return ["O"] + [f"{p}-{t}" for t in task.label_names for p in ("B", "I")]


def entity_counts(pred: list, gold: list) -> tuple[int, int, int]:
    """(true positives, predicted, gold) entities of one sentence, as seqeval's default mode counts them."""
    from seqeval.metrics.sequence_labeling import get_entities

    p, g = set(get_entities(list(pred or []))), set(get_entities(list(gold or [])))
    return len(p & g), len(p), len(g)


def text_counts(tokens: list[str], pred: list, gold: list, types: list[str]) -> list[tuple[int, int, int]]:
    """(true positives, false positives, false negatives) per entity type of one sentence, as CLUENER2020's official
    score.py counts them: an entity is its type and its text (the words it covers), so a text found twice in the
    sentence counts once. BIO is decoded as seqeval's default mode (a stray I-X starts an entity)."""
    from seqeval.metrics.sequence_labeling import get_entities

    def texts(tags: list) -> dict[str, set[tuple[str, ...]]]:
        out: dict[str, set[tuple[str, ...]]] = {}
        for typ, start, end in get_entities(list(tags or [])):
            out.setdefault(typ, set()).add(tuple(tokens[start:end + 1]))
        return out

    p, g = texts(pred), texts(gold)
    return [(len(p.get(t, set()) & g.get(t, set())), len(p.get(t, set()) - g.get(t, set())),
             len(g.get(t, set()) - p.get(t, set()))) for t in types]


def text_scores(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    """(precision, recall, F1) by score.py's formulas; 0.0 where they are undefined (the script divides by zero)."""
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def text_totals(task: "TaskSpec", predictions: list, references: list, inputs: list[dict]) -> dict[str, list[int]]:
    """{entity type: [tp, fp, fn]} summed over sentences, by `text_counts`, for every type in label_names."""
    totals = {t: [0, 0, 0] for t in task.label_names}
    for pred, gold, inp in zip(predictions, references, inputs):
        for t, counts in zip(task.label_names, text_counts(inp["tokens"], pred, gold, task.label_names)):
            totals[t] = [a + b for a, b in zip(totals[t], counts)]
    return totals


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

    def bootstrap_scorer(self, rows_by_seed: dict, ids: list, task: "TaskSpec") -> Optional[tuple[Callable, str]]:
        main = task.main_metrics
        if not set(main) <= ENTITY | {BY_TEXT}:
            return None
        rows = [[rows_by_seed[s][i] for i in ids] for s in rows_by_seed]
        counts = np.array([[entity_counts(r["prediction"], r["gold"]) for r in seed] for seed in rows],
                          dtype=float)  # seeds x examples x 3
        by_text = np.array([[text_counts(r["input"]["tokens"], r["prediction"], r["gold"], task.label_names)
                             for r in seed] for seed in rows], dtype=float) if BY_TEXT in main else None

        def f1(tp: np.ndarray, n_pred: np.ndarray, n_gold: np.ndarray) -> tuple[np.ndarray, ...]:
            prec = np.divide(tp, n_pred, out=np.zeros_like(tp), where=n_pred > 0)
            rec = np.divide(tp, n_gold, out=np.zeros_like(tp), where=n_gold > 0)
            return prec, rec, np.divide(2 * prec * rec, prec + rec, out=np.zeros_like(tp), where=(prec + rec) > 0)

        def score(idx: np.ndarray) -> float:
            prec, rec, f = f1(*counts[:, idx, :].sum(axis=1).T)
            by = {"entity_precision": prec, "entity_recall": rec, "entity_f1": f}
            if by_text is not None:  # seeds x types x (tp, fp, fn) -> mean over types of the per-type F1
                tp, fp, fn = np.moveaxis(by_text[:, idx].sum(axis=1), -1, 0)
                by[BY_TEXT] = f1(tp, tp + fp, tp + fn)[2].mean(axis=1)
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
    metrics=("entity_f1", "entity_precision", "entity_recall", BY_TEXT),
    adapters={("encoder", "head"): "harness.adapters.encoder:TokenAdapter"},
    form=("text",), length_field="tokens", word_fields=("tokens",), needs_label_names=True, text_input=True,
    hub_task_type="token-classification", pipeline_tag="token-classification",
    description="words -> BIO tags over label_names (entity types)", form_fields={"text": "tokens"}))
