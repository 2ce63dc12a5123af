"""Extractive QA (SQuAD-style; CMRC2018 with character offsets): windows over the context, span decoding."""
from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch
from transformers import AutoModelForQuestionAnswering

from .base import Adapter, autocast, batches

log = logging.getLogger(__name__)
N_BEST = 20


class WindowStats:
    """token_stats plus windows per example, for adapters that read long contexts in `_windows(examples)`."""

    def token_stats(self, examples: list[dict]) -> dict[str, float]:
        """Adds windows per example: contexts longer than max_length are read in several windows."""
        stats = super().token_stats(examples)  # type: ignore[misc]
        if examples:
            counts = np.bincount(self._windows(examples)["overflow_to_sample_mapping"],  # type: ignore[attr-defined]
                                 minlength=len(examples))
            stats["windows_per_example"] = float(counts.mean())
        return stats


class QAAdapter(WindowStats, Adapter):
    """Question + context windows (stride doc_stride); the answer is the best start/end pair in one window."""

    @property
    def auto_class(self) -> Any:
        return AutoModelForQuestionAnswering

    def encode_texts(self, ex: dict) -> tuple:
        return (ex["question"], ex["context"])

    def _windows(self, examples: list[dict]):
        pad_right = self.tok.padding_side == "right"
        return self.tok([ex["question"].strip() for ex in examples], [ex["context"] for ex in examples],
                        truncation="only_second" if pad_right else "only_first", max_length=self.cfg.max_length,
                        stride=min(self.cfg.doc_stride, self.cfg.max_length // 2), return_overflowing_tokens=True,
                        return_offsets_mapping=True)

    def train_features(self, examples: list[dict]) -> list[dict]:
        enc = self._windows(examples)
        feats, skipped = [], set()
        for j in range(len(enc["input_ids"])):
            i = enc["overflow_to_sample_mapping"][j]
            ans = examples[i]["answers"]
            spans = [(s, t) for s, t in zip(ans["answer_start"], ans["text"]) if s >= 0 and t]
            if not spans:
                skipped.add(i)
                continue
            start_char, text = spans[0]
            end_char = start_char + len(text)
            seq = enc.sequence_ids(j)
            offsets = enc["offset_mapping"][j]
            ctx = [k for k, s in enumerate(seq) if s == 1]
            start_tok = end_tok = 0  # [CLS] when the answer is not inside this window
            if offsets[ctx[0]][0] <= start_char and offsets[ctx[-1]][1] >= end_char:
                start_tok = next(k for k in ctx if offsets[k][1] > start_char)
                end_tok = next(k for k in reversed(ctx) if offsets[k][0] < end_char)
            f = {k: enc[k][j] for k in ("input_ids", "attention_mask", "token_type_ids") if k in enc}
            f["start_positions"], f["end_positions"] = start_tok, end_tok
            feats.append(f)
        if skipped:
            log.info("QA training: %d of %d questions have no verbatim answer span and are not trained on",
                     len(skipped), len(examples))
        return feats

    @torch.no_grad()
    def predict(self, model: Any, examples: list[dict], batch_size: int) -> list[dict]:
        model.eval()
        enc = self._windows(examples)
        keys = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in enc]
        feats = [{k: enc[k][j] for k in keys} for j in range(len(enc["input_ids"]))]
        best: list[tuple[float, int, int]] = [(-np.inf, 0, 0) for _ in examples]
        device = next(model.parameters()).device
        for idx, batch in batches(feats, batch_size, self.collator(model), device):
            with autocast(model, self.cfg.bf16 == "on"):
                out = model(**batch)
            starts, ends = out.start_logits.float().cpu().numpy(), out.end_logits.float().cpu().numpy()
            for row, j in enumerate(idx):
                i = enc["overflow_to_sample_mapping"][j]
                cand = self._best_span(starts[row], ends[row], enc.sequence_ids(j), enc["offset_mapping"][j])
                if cand and cand[0] > best[i][0]:
                    best[i] = cand
        preds = []
        for ex, (score, s, e) in zip(examples, best):
            text = ex["context"][s:e] if np.isfinite(score) else ""
            preds.append({"prediction": text, "scores": {"start": s, "end": e,
                                                         "score": float(score) if np.isfinite(score) else None}})
        return preds

    def _best_span(self, start: np.ndarray, end: np.ndarray, seq: list, offsets: list):
        ctx = np.array([s == 1 for s in seq] + [False] * (len(start) - len(seq)))
        start = np.where(ctx, start, -np.inf)
        end = np.where(ctx, end, -np.inf)
        top_s = np.argsort(start)[::-1][:N_BEST]
        top_e = np.argsort(end)[::-1][:N_BEST]
        found = None
        for s in top_s:
            if not ctx[s]:
                continue
            for e in top_e:
                if not ctx[e] or e < s or e - s + 1 > self.cfg.max_answer_length:
                    continue
                score = float(start[s] + end[e])
                if found is None or score > found[0]:
                    found = (score, offsets[s][0], offsets[e][1])
        return found
