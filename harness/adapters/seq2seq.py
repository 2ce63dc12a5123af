"""Seq2seq adapter (T5): classification and regression as text-to-text; label words / numbers generated."""
from __future__ import annotations

import re
from typing import Any, Callable, Optional

import torch
from transformers import AutoModelForSeq2SeqLM, DataCollatorForSeq2Seq

from .base import Adapter, autocast, batches

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


class Seq2SeqAdapter(Adapter):
    """Inputs become '<prefix> text' or '<prefix> text_a: .. text_b: ..'; targets are label words or numbers."""

    kinds = ("single_cls", "pair_cls", "regression")

    @property
    def auto_class(self) -> Any:
        return AutoModelForSeq2SeqLM

    def prepare_model(self, model: Any) -> Any:
        """Tokenizers without T5's own specials (e.g. BertTokenizer for Chinese T5): start decoding at [PAD]."""
        pad = self.tok.pad_token_id
        eos = self.tok.eos_token_id if self.tok.eos_token_id is not None else self.tok.sep_token_id
        for cfg in (model.config, model.generation_config):
            cfg.pad_token_id = pad
            cfg.eos_token_id = eos
            if getattr(cfg, "decoder_start_token_id", None) is None:
                cfg.decoder_start_token_id = pad
        return model

    def source_text(self, ex: dict) -> str:
        prefix = (self.task.text_to_text.prefix + " ") if self.task.text_to_text.prefix else ""
        if self.task.kind == "single_cls":
            return prefix + ex["text"]
        return f"{prefix}text_a: {ex['text_a']} text_b: {ex['text_b']}"

    def target_text(self, ex: dict) -> str:
        if self.task.kind == "regression":
            return f"{float(ex['label']):.{self.task.text_to_text.regression_precision}f}"
        return self.task.label_word(ex["label"])

    def encode_texts(self, ex: dict) -> tuple:
        return (self.source_text(ex),)

    def _encode(self, examples: list[dict]) -> list[dict]:
        enc = self.tok([self.source_text(ex) for ex in examples], truncation=True, max_length=self.cfg.max_length)
        return [{k: enc[k][i] for k in ("input_ids", "attention_mask")} for i in range(len(examples))]

    def train_features(self, examples: list[dict]) -> list[dict]:
        feats = self._encode(examples)
        labels = self.tok(text_target=[self.target_text(ex) for ex in examples], truncation=True,
                          max_length=self.cfg.max_new_tokens)["input_ids"]
        for f, lab in zip(feats, labels):
            f["labels"] = lab
        return feats

    def collator(self, model: Any) -> Callable:
        return DataCollatorForSeq2Seq(self.tok, model=model, pad_to_multiple_of=8)

    def parse(self, generated: str) -> Optional[Any]:
        """Map generated text to a label name or a number; None when it is neither (counted wrong)."""
        if self.task.kind == "regression":
            m = _NUMBER.search(generated.replace(" ", ""))
            return float(m.group()) if m else None
        words = {_norm(self.task.label_word(n)): n for n in self.task.label_names}
        return words.get(_norm(generated))

    def generation_length(self) -> int:
        """Enough new tokens for the longest target (label word or number), at most max_new_tokens."""
        if self.task.kind == "regression":
            targets = [f"{-5.0:.{self.task.text_to_text.regression_precision}f}"]
        else:
            targets = [self.task.label_word(n) for n in self.task.label_names]
        longest = max(len(ids) for ids in self.tok(text_target=targets)["input_ids"])
        return min(self.cfg.max_new_tokens, longest + 1)

    @torch.no_grad()
    def predict(self, model: Any, examples: list[dict], batch_size: int) -> list[dict]:
        model.eval()
        feats = self._encode(examples)
        out: list[dict] = [{} for _ in examples]
        device = next(model.parameters()).device
        pad = DataCollatorForSeq2Seq(self.tok, model=None, pad_to_multiple_of=8)
        new_tokens = self.generation_length()
        for idx, batch in batches(feats, batch_size, pad, device):
            with autocast(model, self.cfg.bf16 == "on"):
                gen = model.generate(**batch, max_new_tokens=new_tokens, num_beams=self.cfg.num_beams)
            for text, i in zip(self.tok.batch_decode(gen, skip_special_tokens=True), idx):
                out[i] = {"prediction": self.parse(text), "scores": None, "generated": text.strip()}
        return out
