"""Seq2seq adapters (T5): a shared base, and classification / regression as text-to-text (label words / numbers)."""
from __future__ import annotations

import re
from typing import Any, Callable, Optional

import torch
from transformers import AutoModelForSeq2SeqLM, DataCollatorForSeq2Seq

from .base import Adapter, autocast, batches, unknown_words, words_phrase

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


class Seq2SeqBase(Adapter):
    """What every T5 adapter shares: the model class, special-token setup, padding, batched generation."""

    pipeline_tag = "text2text-generation"

    @property
    def auto_class(self) -> Any:
        return AutoModelForSeq2SeqLM

    def prepare_model(self, model: Any) -> Any:
        """Tokenizers without T5's own specials (e.g. BertTokenizer for Chinese T5): start decoding at [PAD]."""
        pad = self.tok.pad_token_id
        eos = self.eos_id
        for cfg in (model.config, model.generation_config):
            cfg.pad_token_id = pad
            cfg.eos_token_id = eos
            if getattr(cfg, "decoder_start_token_id", None) is None:
                cfg.decoder_start_token_id = pad
        return model

    def collator(self, model: Any) -> Callable:
        return DataCollatorForSeq2Seq(self.tok, model=model, pad_to_multiple_of=8)

    def source_text(self, ex: dict) -> str:
        """The encoder's input text for an example (adapters that read one text per example define it)."""
        raise NotImplementedError(f"{type(self).__name__} builds its inputs otherwise")

    def encode_texts(self, ex: dict) -> tuple:
        return (self.source_text(ex),)

    def _encode(self, examples: list[dict]) -> list[dict]:
        """Encoder inputs of the examples' source texts, truncated at max_length."""
        enc = self.tok([self.source_text(ex) for ex in examples], truncation=True, max_length=self.cfg.max_length)
        return [{k: enc[k][i] for k in ("input_ids", "attention_mask")} for i in range(len(examples))]

    @property
    def eos_id(self) -> int:
        return self.tok.eos_token_id if self.tok.eos_token_id is not None else self.tok.sep_token_id

    def target_ids(self, targets: list[str], max_tokens: int) -> list[list[int]]:
        """Tokenized targets (labels), at most max_tokens long."""
        return self.tok(text_target=targets, truncation=True, max_length=max_tokens)["input_ids"]

    @torch.no_grad()
    def generate(self, model: Any, feats: list[dict], batch_size: int, new_tokens: int,
                 with_scores: bool = False, **options: Any) -> list[tuple[str, Optional[float]]]:
        """(generated text, score) per feature in input order; the score (with_scores) is the mean
        log-probability per generated token, end token included, or None. options go to model.generate."""
        model.eval()
        out: list[tuple[str, Optional[float]]] = [("", None)] * len(feats)
        device = next(model.parameters()).device
        pad = DataCollatorForSeq2Seq(self.tok, model=None, pad_to_multiple_of=8)
        for idx, batch in batches(feats, batch_size, pad, device):
            with autocast(model, self.cfg.bf16 == "on"):
                gen = model.generate(**batch, max_new_tokens=new_tokens, num_beams=self.cfg.num_beams, **options)
                scores = self._sequence_scores(model, batch, gen) if with_scores else [None] * len(idx)
            for text, score, i in zip(self.tok.batch_decode(gen, skip_special_tokens=True), scores, idx):
                out[i] = (text.strip(), score)
        return out

    def _sequence_scores(self, model: Any, batch: dict, gen: torch.Tensor) -> list[float]:
        """Mean log-probability of each generated sequence (teacher-forced, one forward pass), counted up to and
        including its first end token. Recomputed rather than taken from generate(output_scores=True), which
        keeps every step's logits for the whole batch (and every beam) in memory."""
        eos = model.generation_config.eos_token_id
        eos = eos[0] if isinstance(eos, list) else eos
        dec_in, target = gen[:, :-1], gen[:, 1:]  # gen[:, 0] is the decoder start token
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                       decoder_input_ids=dec_in).logits.float()
        logp = torch.log_softmax(logits, dim=-1).gather(-1, target.unsqueeze(-1)).squeeze(-1)
        ended_before = torch.cumsum((target == eos).long(), dim=1) - (target == eos).long()
        keep = (ended_before == 0).float()
        return ((logp * keep).sum(1) / keep.sum(1).clamp(min=1)).tolist()


class Seq2SeqAdapter(Seq2SeqBase):
    """Inputs become '<prefix> text' or '<prefix> text_a: .. text_b: ..'; targets are label words or numbers."""

    @property
    def regression(self) -> bool:
        return not self.kind.label_set  # no label names: the target is a number

    def source_text(self, ex: dict) -> str:
        """'<prefix> text' for one input field, '<prefix> text_a: .. text_b: ..' for several."""
        prefix = (self.task.text_to_text.prefix + " ") if self.task.text_to_text.prefix else ""
        fields = self.kind.input_fields
        if len(fields) == 1:
            return prefix + ex[fields[0]]
        return prefix + " ".join(f"{f}: {ex[f]}" for f in fields)

    def check(self) -> Optional[str]:
        """Every label word (the label name where text_to_text.label_words gives none) must come back from the
        tokenizer as itself: one with [UNK] pieces, or one the tokenizer alters, can never be generated, so its
        label would never be predicted (the job would train and score 0)."""
        if self.regression:
            return None
        where = "field 'text_to_text.label_words'" + ("" if self.task.text_to_text.label_words else
                                                       " (unset: the label names are the targets)")
        fix = "set text_to_text.label_words in the task YAML to words this model's vocabulary has"
        words = [self.task.label_word(n) for n in self.task.label_names]
        unk = unknown_words(self.tok, words)
        if unk:
            return f"{where}: {words_phrase(unk)} [UNK] for this tokenizer and can never be generated; {fix}"
        ids = self.tok(words, add_special_tokens=False)["input_ids"]
        changed = [w for w, i in zip(words, ids) if _norm(self.tok.decode(i, skip_special_tokens=True)) != _norm(w)]
        if changed:
            back = self.tok.decode(ids[words.index(changed[0])], skip_special_tokens=True)
            return (f"{where}: {words_phrase(changed)} not spelt back by this tokenizer ('{changed[0]}' comes back as "
                    f"'{back}') and can never be generated; {fix}")
        return None

    def target_text(self, ex: dict) -> str:
        if self.regression:
            return f"{float(ex['label']):.{self.task.text_to_text.regression_precision}f}"
        return self.task.label_word(ex["label"])

    def train_features(self, examples: list[dict]) -> list[dict]:
        feats = self._encode(examples)
        labels = self.target_ids([self.target_text(ex) for ex in examples], self.cfg.max_new_tokens)
        for f, lab in zip(feats, labels):
            f["labels"] = lab
        return feats

    def parse(self, generated: str) -> Optional[Any]:
        """Map generated text to a label name or a number; None when it is neither (counted wrong)."""
        if self.regression:
            m = _NUMBER.search(generated.replace(" ", ""))
            return float(m.group()) if m else None
        words = {_norm(self.task.label_word(n)): n for n in self.task.label_names}
        return words.get(_norm(generated))

    def generation_length(self) -> int:
        """Enough new tokens for the longest target (label word or number), at most max_new_tokens."""
        if self.regression:
            targets = [f"{-5.0:.{self.task.text_to_text.regression_precision}f}"]
        else:
            targets = [self.task.label_word(n) for n in self.task.label_names]
        longest = max(len(ids) for ids in self.tok(text_target=targets)["input_ids"])
        return min(self.cfg.max_new_tokens, longest + 1)

    def predict(self, model: Any, examples: list[dict], batch_size: int) -> list[dict]:
        texts = self.generate(model, self._encode(examples), batch_size, self.generation_length())
        return [{"prediction": self.parse(text), "scores": None, "generated": text} for text, _ in texts]
