"""Multiple-choice adapters: an encoder with a multiple-choice head, and T5 ranking the choices by likelihood.

Encoder: each choice is one sequence, (context, question + choice), cut from the context's end only
(`truncation="only_first"`), so the question and the choice are always read whole. A batch pads the choice
dimension to its largest count; the padded slots hold a copy of the example's first choice (a valid sequence, so
no row of the encoder is all padding) and their logits are set to -inf before the loss and the argmax: they never
win and add nothing to the loss. Nothing is padded in the data (unlike CLUE's '无效答案' filler).

T5: trained text-to-text, '<prefix> question: .. choices: a | b | .. context: ..' -> the gold choice's text (the
context is last, so truncation cuts the context). Predicting scores every choice teacher-forced as the target and
takes the best mean log-probability per target token (end token included): the mean, not the sum, because choice
lengths differ (C3: 1 to 45 characters) and a sum favours the shortest choice whatever it says. No free
generation. 'scores' are a softmax over those per-choice means.
"""
from __future__ import annotations

from typing import Any, Callable

import torch
from torch import nn
from transformers import AutoModelForMultipleChoice, DataCollatorForSeq2Seq
from transformers.modeling_outputs import BaseModelOutput

from .base import Adapter, autocast, batches
from .seq2seq import Seq2SeqBase

KEYS = ("input_ids", "attention_mask", "token_type_ids")


def _pad_to(n: int, multiple: int = 8) -> int:
    return -(-n // multiple) * multiple


class ChoiceCollator:
    """Pads a list of multiple-choice features to (batch, most choices, longest sequence) tensors plus
    `choice_mask` (True for real choices) and `labels` when the features have them."""

    def __init__(self, tokenizer: Any):
        self.pad = {"input_ids": tokenizer.pad_token_id or 0, "attention_mask": 0,
                    "token_type_ids": getattr(tokenizer, "pad_token_type_id", 0) or 0}
        self.left = tokenizer.padding_side == "left"

    def __call__(self, feats: list[dict]) -> dict[str, torch.Tensor]:
        keys = [k for k in KEYS if k in feats[0]]
        n_choices = max(len(f["input_ids"]) for f in feats)
        length = _pad_to(max(len(seq) for f in feats for seq in f["input_ids"]))
        out = {k: torch.full((len(feats), n_choices, length), self.pad[k], dtype=torch.long) for k in keys}
        mask = torch.zeros(len(feats), n_choices, dtype=torch.bool)
        for b, f in enumerate(feats):
            real = len(f["input_ids"])
            mask[b, :real] = True
            for c in range(n_choices):
                for k in keys:
                    seq = torch.tensor(f[k][c if c < real else 0], dtype=torch.long)
                    if self.left:
                        out[k][b, c, length - len(seq):] = seq
                    else:
                        out[k][b, c, :len(seq)] = seq
        out["choice_mask"] = mask
        if "labels" in feats[0]:
            out["labels"] = torch.tensor([f["labels"] for f in feats], dtype=torch.long)
        return out


class ChoiceAdapter(Adapter):
    """Encoders (BERT, ERNIE, ALBERT) with AutoModelForMultipleChoice: one logit per choice."""

    @property
    def auto_class(self) -> Any:
        return AutoModelForMultipleChoice

    @staticmethod
    def second_text(question: str, choice: str) -> str:
        return f"{question} {choice}"

    def encode_texts(self, ex: dict) -> tuple:
        """The pair with the longest choice (token statistics)."""
        return ex["context"], self.second_text(ex["question"], max(ex["choices"], key=len))

    def _encode_pairs(self, firsts: list[str], seconds: list[str]) -> dict[str, list]:
        """Tokenize (context, question + choice) pairs cutting the context only; a pair whose second text alone
        does not fit max_length (a question + choice longer than it) is cut longest-first instead."""
        room = self.cfg.max_length - self.tok.num_special_tokens_to_add(pair=True) - 1
        lengths = [len(ids) for ids in self.tok(seconds, add_special_tokens=False)["input_ids"]] if seconds else []
        out: dict[str, list] = {}
        for strategy, rows in (("only_first", [i for i, n in enumerate(lengths) if n <= room]),
                               ("longest_first", [i for i, n in enumerate(lengths) if n > room])):
            if not rows:
                continue
            enc = self.tok([firsts[i] for i in rows], [seconds[i] for i in rows], truncation=strategy,
                           max_length=self.cfg.max_length)
            for k in KEYS:
                if k in enc:
                    col = out.setdefault(k, [None] * len(firsts))
                    for j, i in enumerate(rows):
                        col[i] = enc[k][j]
        return out

    def features(self, examples: list[dict], with_labels: bool) -> list[dict]:
        """One feature per example: per key, one encoded sequence per choice (and `labels`, the gold index)."""
        owner = [i for i, ex in enumerate(examples) for _ in ex["choices"]]
        enc = self._encode_pairs([examples[i]["context"] for i in owner],
                                 [self.second_text(ex["question"], c) for ex in examples for c in ex["choices"]])
        feats: list[dict] = [{k: [] for k in enc} for _ in examples]
        for j, i in enumerate(owner):
            for k in enc:
                feats[i][k].append(enc[k][j])
        if with_labels:
            for f, ex in zip(feats, examples):
                f["labels"] = int(ex["label"])
        return feats

    def train_features(self, examples: list[dict]) -> list[dict]:
        return self.features(examples, with_labels=True)

    def collator(self, model: Any) -> Callable:
        return ChoiceCollator(self.tok)

    def choice_logits(self, model: Any, batch: dict) -> torch.Tensor:
        """(batch, choices) logits in float32, padded choices at -inf."""
        logits = model(**{k: batch[k] for k in KEYS if k in batch}).logits.float()
        return logits.masked_fill(~batch["choice_mask"], float("-inf"))

    def compute_loss(self, model: Any, batch: dict) -> tuple[torch.Tensor, Any]:
        """Cross-entropy over the real choices only (the model never sees the labels or the mask)."""
        logits = self.choice_logits(model, batch)
        return nn.functional.cross_entropy(logits, batch["labels"]), {"logits": logits}

    @torch.no_grad()
    def predict(self, model: Any, examples: list[dict], batch_size: int) -> list[dict]:
        model.eval()
        feats = self.features(examples, with_labels=False)
        out: list[dict] = [{} for _ in examples]
        device = next(model.parameters()).device
        for idx, batch in batches(feats, batch_size, self.collator(model), device):
            with autocast(model, self.cfg.bf16 == "on"):
                logits = self.choice_logits(model, batch).cpu()
            for row, i in zip(logits, idx):
                real = row[:len(examples[i]["choices"])]
                probs = torch.softmax(real, -1).tolist()
                out[i] = {"prediction": int(torch.argmax(real)),
                          "scores": {str(c): round(p, 6) for c, p in enumerate(probs)}}
        return out


class Seq2SeqChoiceAdapter(Seq2SeqBase):
    """T5: trained to write the gold choice; predicts the choice with the best mean per-token log-probability."""

    def source_text(self, ex: dict) -> str:
        prefix = (self.task.text_to_text.prefix + " ") if self.task.text_to_text.prefix else ""
        return f"{prefix}question: {ex['question']} choices: {' | '.join(ex['choices'])} context: {ex['context']}"

    def train_features(self, examples: list[dict]) -> list[dict]:
        feats = self._encode(examples)
        targets = self.target_ids([ex["choices"][int(ex["label"])] for ex in examples], self.cfg.max_length)
        for f, target in zip(feats, targets):
            f["labels"] = target
        return feats

    def choice_scores(self, model: Any, batch: dict, choices: list[list[str]]) -> list[list[float]]:
        """Mean log-probability per target token of every choice of every example in the batch (one encoder pass
        per example, one teacher-forced decoder pass per choice)."""
        hidden = model.get_encoder()(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])[0]
        owner = torch.tensor([r for r, cs in enumerate(choices) for _ in cs], device=hidden.device)
        targets = self.target_ids([c for cs in choices for c in cs], self.cfg.max_length)
        labels = torch.full((len(targets), max(map(len, targets))), -100, dtype=torch.long, device=hidden.device)
        for j, t in enumerate(targets):
            labels[j, :len(t)] = torch.tensor(t)
        logits = model(encoder_outputs=BaseModelOutput(last_hidden_state=hidden[owner]),
                       attention_mask=batch["attention_mask"][owner], labels=labels).logits.float()
        keep = labels != -100
        logp = torch.log_softmax(logits, -1).gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
        means = ((logp * keep).sum(1) / keep.sum(1).clamp(min=1)).tolist()
        out, start = [], 0
        for cs in choices:
            out.append(means[start:start + len(cs)])
            start += len(cs)
        return out

    @torch.no_grad()
    def predict(self, model: Any, examples: list[dict], batch_size: int) -> list[dict]:
        model.eval()
        out: list[dict] = [{} for _ in examples]
        device = next(model.parameters()).device
        pad = DataCollatorForSeq2Seq(self.tok, model=None, pad_to_multiple_of=8)
        for idx, batch in batches(self._encode(examples), batch_size, pad, device):
            with autocast(model, self.cfg.bf16 == "on"):
                scores = self.choice_scores(model, batch, [examples[i]["choices"] for i in idx])
            for row, i in zip(scores, idx):
                probs = torch.softmax(torch.tensor(row), -1).tolist()
                out[i] = {"prediction": max(range(len(row)), key=row.__getitem__),
                          "scores": {str(c): round(p, 6) for c, p in enumerate(probs)}}
        return out
