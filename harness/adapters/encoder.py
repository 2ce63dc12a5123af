"""Encoder adapters (BERT, ERNIE, ALBERT): sequence classification/regression and token classification."""
from __future__ import annotations

from typing import Any, Callable

import torch
from transformers import (AutoModelForSequenceClassification, AutoModelForTokenClassification,
                          DataCollatorForTokenClassification)

from .base import Adapter, autocast, batches


class SequenceAdapter(Adapter):
    """Single-sentence and sentence-pair classification, and regression (one output)."""

    @property
    def auto_class(self) -> Any:
        return AutoModelForSequenceClassification

    @property
    def regression(self) -> bool:
        return not self.kind.label_set  # no label names: one number per input

    def model_kwargs(self) -> dict[str, Any]:
        if self.regression:
            return {"num_labels": 1, "problem_type": "regression"}
        names = self.task.label_names
        return {"num_labels": len(names), "id2label": dict(enumerate(names)),
                "label2id": {n: i for i, n in enumerate(names)}, "problem_type": "single_label_classification"}

    def _encode(self, examples: list[dict]) -> list[dict]:
        cols = list(zip(*(self.encode_texts(ex) for ex in examples)))
        enc = self.tok(*cols, truncation=True, max_length=self.cfg.max_length)
        return [{k: enc[k][i] for k in enc} for i in range(len(examples))]

    def train_features(self, examples: list[dict]) -> list[dict]:
        feats = self._encode(examples)
        index = {n: i for i, n in enumerate(self.task.label_names)}
        for f, ex in zip(feats, examples):
            f["labels"] = float(ex["label"]) if self.regression else index[ex["label"]]
        return feats

    @torch.no_grad()
    def predict(self, model: Any, examples: list[dict], batch_size: int) -> list[dict]:
        model.eval()
        feats = self._encode(examples)
        out: list[dict] = [{} for _ in examples]
        device = next(model.parameters()).device
        for idx, batch in batches(feats, batch_size, self.collator(model), device):
            with autocast(model, self.cfg.bf16 == "on"):
                logits = model(**batch).logits.float().cpu()
            for row, i in zip(logits, idx):
                if self.regression:
                    out[i] = {"prediction": float(row[0]), "scores": None}
                else:
                    probs = torch.softmax(row, -1).tolist()
                    best = int(torch.argmax(row))
                    out[i] = {"prediction": self.task.label_names[best],
                              "scores": {n: round(p, 6) for n, p in zip(self.task.label_names, probs)}}
        return out


class TokenAdapter(Adapter):
    """NER as BIO token classification; the first sub-token of each word carries its tag."""

    @property
    def auto_class(self) -> Any:
        return AutoModelForTokenClassification

    def model_kwargs(self) -> dict[str, Any]:
        tags = self.kind.output_names(self.task)
        return {"num_labels": len(tags), "id2label": dict(enumerate(tags)), "label2id": {t: i for i, t in enumerate(tags)}}

    def _encode(self, examples: list[dict], with_labels: bool) -> list[dict]:
        enc = self.tok([ex["tokens"] for ex in examples], is_split_into_words=True, truncation=True,
                       max_length=self.cfg.max_length)
        index = {t: i for i, t in enumerate(self.kind.output_names(self.task))}
        feats = []
        for i, ex in enumerate(examples):
            word_ids = enc.word_ids(i)
            f = {k: enc[k][i] for k in enc}
            f["word_ids"] = word_ids
            if with_labels:
                labels, prev = [], None
                for w in word_ids:
                    labels.append(-100 if w is None or w == prev else index[ex["tags"][w]])
                    prev = w
                f["labels"] = labels
            feats.append(f)
        return feats

    def train_features(self, examples: list[dict]) -> list[dict]:
        feats = self._encode(examples, with_labels=True)
        for f in feats:
            del f["word_ids"]
        return feats

    def collator(self, model: Any) -> Callable:
        return DataCollatorForTokenClassification(self.tok, pad_to_multiple_of=8)

    @torch.no_grad()
    def predict(self, model: Any, examples: list[dict], batch_size: int) -> list[dict]:
        model.eval()
        feats = self._encode(examples, with_labels=False)
        word_ids = [f.pop("word_ids") for f in feats]
        out: list[dict] = [{} for _ in examples]
        device = next(model.parameters()).device
        tags = self.kind.output_names(self.task)
        for idx, batch in batches(feats, batch_size, self.collator(model), device):
            with autocast(model, self.cfg.bf16 == "on"):
                pred = model(**batch).logits.argmax(-1).cpu().tolist()
            for row, i in zip(pred, idx):
                words = ["O"] * len(examples[i]["tokens"])  # words cut by truncation stay "O"
                seen = set()
                for pos, w in enumerate(word_ids[i]):
                    if w is not None and w not in seen:
                        seen.add(w)
                        words[w] = tags[row[pos]]
                out[i] = {"prediction": fix_bio(words), "scores": None}
        return out


def fix_bio(tags: list[str]) -> list[str]:
    """Turn an I-x that does not continue an entity of type x into B-x (standard BIO repair)."""
    fixed, prev = [], "O"
    for t in tags:
        if t.startswith("I-") and prev[2:] != t[2:]:
            t = "B-" + t[2:]
        fixed.append(t)
        prev = t
    return fixed
