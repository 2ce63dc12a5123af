"""Prompt learning (PET style): classify through a masked-LM head and a verbalizer instead of a new classifier.

The template places the inputs and one {mask} slot, which expands to as many [MASK] tokens as the longest label
word has. A label word is scored by the mean log-probability of its tokens at the mask positions (multi-token
words scored jointly); a label with several words gets the log of their mean probability. Training minimises
cross-entropy over these label scores, optionally with R-Drop (symmetric KL between two dropout passes).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Optional

import torch
from torch import nn
from transformers import AutoModelForMaskedLM
from transformers.modeling_outputs import SequenceClassifierOutput

from ..errors import HarnessError
from .base import unknown_words, words_phrase
from .encoder import SequenceAdapter

_PLACEHOLDER = re.compile(r"(\{\w+\})")


class PromptModel(nn.Module):
    """Wraps a *ForMaskedLM model: forward(input_ids, ..., mask_positions, labels) -> label scores as logits."""

    def __init__(self, mlm: Any, word_ids: torch.Tensor, word_mask: torch.Tensor, word_label: torch.Tensor,
                 num_labels: int, rdrop_alpha: float = 0.0):
        super().__init__()
        self.mlm = mlm
        self.config = mlm.config
        heads = [n for n, m in mlm.named_children() if m is not mlm.base_model]
        # the MLM head's attribute name (BERT/ERNIE 'cls', ALBERT 'predictions'); None: an unfamiliar layout,
        # score every position. A name, not the module, so it is not registered (and saved) twice.
        self._head = heads[0] if len(heads) == 1 else None
        self.rdrop_alpha = rdrop_alpha
        self.register_buffer("word_ids", word_ids, persistent=False)      # words x masks
        self.register_buffer("word_mask", word_mask, persistent=False)    # words x masks (1 = a token)
        member = torch.zeros(num_labels, len(word_label))
        member[word_label, torch.arange(len(word_label))] = 1.0
        # log(1/k) for the label's k words, -inf elsewhere: logsumexp gives log(mean word probability)
        weight = torch.where(member > 0, -torch.log(member.sum(1, keepdim=True)), torch.tensor(float("-inf")))
        self.register_buffer("label_weight", weight, persistent=False)   # labels x words

    def _mask_logits(self, input_ids, attention_mask, token_type_ids, mask_positions) -> torch.Tensor:
        """Vocabulary logits at the mask positions only: the encoder, then the MLM head on those positions
        (the head's vocabulary projection over every position would cost as much as the encoder itself)."""
        extra = {"token_type_ids": token_type_ids} if token_type_ids is not None else {}
        if self._head is None:
            logits = self.mlm(input_ids=input_ids, attention_mask=attention_mask, **extra).logits
            return logits.gather(1, mask_positions.unsqueeze(-1).expand(-1, -1, logits.size(-1)))
        hidden = self.mlm.base_model(input_ids=input_ids, attention_mask=attention_mask, **extra)[0]
        at_mask = hidden.gather(1, mask_positions.unsqueeze(-1).expand(-1, -1, hidden.size(-1)))
        return getattr(self.mlm, self._head)(at_mask)

    def label_scores(self, input_ids, attention_mask=None, token_type_ids=None, mask_positions=None) -> torch.Tensor:
        at_mask = self._mask_logits(input_ids, attention_mask, token_type_ids, mask_positions)
        logp = torch.log_softmax(at_mask.float(), -1)                      # batch x masks x vocab
        slots = torch.arange(self.word_ids.size(1), device=logp.device).expand_as(self.word_ids)
        token_lp = logp[:, slots, self.word_ids] * self.word_mask          # batch x words x masks
        word_score = token_lp.sum(-1) / self.word_mask.sum(-1)             # batch x words
        return torch.logsumexp(word_score.unsqueeze(1) + self.label_weight, -1)  # batch x labels

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, mask_positions=None, labels=None,
                **_: Any) -> SequenceClassifierOutput:
        scores = self.label_scores(input_ids, attention_mask, token_type_ids, mask_positions)
        loss = None
        if labels is not None:
            loss = nn.functional.cross_entropy(scores, labels)
            if self.training and self.rdrop_alpha > 0:
                again = self.label_scores(input_ids, attention_mask, token_type_ids, mask_positions)
                loss = (loss + nn.functional.cross_entropy(again, labels)) / 2 + self.rdrop_alpha * _sym_kl(scores,
                                                                                                            again)
        return SequenceClassifierOutput(loss=loss, logits=scores)

    def save_pretrained(self, path: Path | str, **kwargs: Any) -> None:
        """Saves the masked-LM model; the verbalizer lives in the task spec stored beside it."""
        self.mlm.save_pretrained(path, **kwargs)

    def get_input_embeddings(self) -> nn.Module:
        return self.mlm.get_input_embeddings()

    @property
    def base_model(self) -> nn.Module:
        return self.mlm.base_model


def _sym_kl(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    la, lb = torch.log_softmax(a, -1), torch.log_softmax(b, -1)
    kl = nn.functional.kl_div
    return (kl(la, lb, log_target=True, reduction="batchmean") + kl(lb, la, log_target=True, reduction="batchmean")) / 2


class PromptAdapter(SequenceAdapter):
    """single_cls / pair_cls through the MLM head: needs task.prompt with resolved label words."""

    pipeline_tag = "fill-mask"

    def __init__(self, task, tokenizer, cfg):
        super().__init__(task, tokenizer, cfg)
        if task.prompt is None:
            raise HarnessError(f"task '{task.name}': the prompt method needs a 'prompt:' section")
        if tokenizer.mask_token_id is None:
            raise HarnessError(f"task '{task.name}': the tokenizer has no mask token, so it cannot fill a prompt")
        self.words = [(label, word) for label in task.label_names for word in _as_list(task.prompt.label_words[label])]
        self.word_tokens = [self.tok(w, add_special_tokens=False)["input_ids"] for _, w in self.words]
        self.n_masks = max(max(len(ids) for ids in self.word_tokens), 1)
        self.pieces = [p for p in _PLACEHOLDER.split(task.prompt.template) if p]
        self.literal = {p: self.tok(p, add_special_tokens=False)["input_ids"] for p in self.pieces
                        if not _PLACEHOLDER.fullmatch(p)}
        # the special tokens around one sequence ([CLS] ... [SEP]), found by encoding a label word both ways
        probe, plain = self.tok(self.words[0][1])["input_ids"], self.word_tokens[0]
        at = next(i for i in range(len(probe)) if probe[i:i + len(plain)] == plain)
        self.prefix, self.suffix = probe[:at], probe[at + len(plain):]

    def check(self) -> Optional[str]:
        """Every label word must be in the vocabulary: the mask slot is scored on the word's own tokens."""
        unk = unknown_words(self.tok, [w for _, w in self.words])
        if unk:
            return (f"task '{self.task.name}': field 'prompt.label_words': {words_phrase(unk)} not in this "
                    f"tokenizer's vocabulary ([UNK]); choose words the model knows")
        return None

    @property
    def auto_class(self) -> Any:
        return AutoModelForMaskedLM

    def model_kwargs(self) -> dict[str, Any]:
        return {}

    def prepare_model(self, model: Any) -> Any:
        if isinstance(model, PromptModel):
            return model
        ids = torch.zeros(len(self.words), self.n_masks, dtype=torch.long)
        mask = torch.zeros(len(self.words), self.n_masks)
        for i, toks in enumerate(self.word_tokens):
            ids[i, :len(toks)] = torch.tensor(toks)
            mask[i, :len(toks)] = 1.0
        index = {n: i for i, n in enumerate(self.task.label_names)}
        labels = torch.tensor([index[label] for label, _ in self.words])
        return PromptModel(model, ids, mask, labels, len(self.task.label_names), self.cfg.rdrop_alpha)

    def prompt_ids(self, ex: dict) -> tuple[list[int], list[int]]:
        """([CLS] template-with-inputs [SEP], mask positions); inputs are cut, longest first, to fit max_length."""
        fields = {p[1:-1]: self.tok(str(ex[p[1:-1]]), add_special_tokens=False)["input_ids"] for p in self.pieces
                  if _PLACEHOLDER.fullmatch(p) and p != "{mask}"}
        fixed = sum(len(v) for v in self.literal.values()) + self.n_masks + len(self.prefix) + len(self.suffix)
        budget = max(self.cfg.max_length - fixed, len(fields))
        while sum(len(v) for v in fields.values()) > budget:
            longest = max(fields, key=lambda k: len(fields[k]))
            fields[longest] = fields[longest][:-1]
        body: list[int] = []
        start = 0
        for p in self.pieces:
            if p == "{mask}":
                start = len(body)
                body += [self.tok.mask_token_id] * self.n_masks
            else:
                body += fields[p[1:-1]] if _PLACEHOLDER.fullmatch(p) else self.literal[p]
        lead = len(self.prefix)
        return self.prefix + body + self.suffix, list(range(start + lead, start + lead + self.n_masks))

    def _encode(self, examples: list[dict]) -> list[dict]:
        feats = []
        for ex in examples:
            ids, positions = self.prompt_ids(ex)
            feats.append({"input_ids": ids, "attention_mask": [1] * len(ids), "token_type_ids": [0] * len(ids),
                          "mask_positions": positions})
        return feats

    def token_stats(self, examples: list[dict]) -> dict[str, float]:
        """[UNK] and truncation rates of the inputs themselves (not the template), like the other adapters."""
        plain = SequenceAdapter(self.task, self.tok, self.cfg)
        stats = plain.token_stats(examples)
        stats["masks"] = self.n_masks
        return stats


def _as_list(words: Any) -> list[str]:
    return [words] if isinstance(words, str) else list(words)

