"""Generative extractive QA with T5: 'question: .. context: ..' -> the answer text, over windows of the context.

A context longer than max_length is read in overlapping windows (tokenizer overflow, stride doc_stride, as the
encoder QAAdapter does). Training uses every window that holds the answer, plus at most one window per question
that does not, with an empty target (so the model learns that nothing is to be read there). Prediction generates a
non-empty answer per window and keeps the one with the best score (mean log-probability per token: low where the
model would rather have answered nothing); when the generated text is a span of the context up to case and
whitespace, that span is the prediction.
"""
from __future__ import annotations

import logging
import re
from typing import Any, Optional

from .qa import WindowStats
from .seq2seq import Seq2SeqBase

log = logging.getLogger(__name__)
NO_ANSWER = ""  # the target of a window that does not hold the answer: the end token alone
NO_ANSWER_PER_QUESTION = 1  # no-answer windows trained on per question (at most)


class GenQAAdapter(WindowStats, Seq2SeqBase):
    """T5 answers extractive QA by generating the answer string; scored by EM/F1 against every reference."""

    def prompt(self, ex: dict) -> str:
        """The part of the source before the context: '<prefix> question: <q> context:'."""
        prefix = (self.task.text_to_text.prefix + " ") if self.task.text_to_text.prefix else ""
        return f"{prefix}question: {ex['question'].strip()} context:"

    def encode_texts(self, ex: dict) -> tuple:
        return (self.prompt(ex), ex["context"])

    def answer_ids(self, answers: list[str]) -> list[list[int]]:
        """Labels: the answer's tokens then the end token, without a tokenizer's leading [CLS] (BertTokenizer for
        Chinese T5), so the first generated token is already the answer; the empty answer is the end token alone."""
        ids = self.tok(answers, add_special_tokens=False)["input_ids"]
        return [a[: self.answer_length() - 1] + [self.eos_id] for a in ids]

    @staticmethod
    def target(ex: dict) -> Optional[str]:
        """The first non-empty reference answer (None when there is none)."""
        return next((t.strip() for t in ex["answers"]["text"] if t and t.strip()), None)

    def answer_length(self) -> int:
        """Tokens generated (and trained on) per answer: max_answer_length plus room for the special tokens,
        or max_new_tokens when that is larger."""
        return max(self.cfg.max_new_tokens, self.cfg.max_answer_length + 2)

    def _windows(self, examples: list[dict]):
        """Prompt + context windows; offsets locate each window's context characters."""
        pad_right = self.tok.padding_side == "right"
        prompts, contexts = [self.prompt(ex) for ex in examples], [ex["context"] for ex in examples]
        return self.tok(prompts if pad_right else contexts, contexts if pad_right else prompts,
                        truncation="only_second" if pad_right else "only_first", max_length=self.cfg.max_length,
                        stride=min(self.cfg.doc_stride, self.cfg.max_length // 2), return_overflowing_tokens=True,
                        return_offsets_mapping=True)

    def _span(self, enc: Any, j: int) -> tuple[int, int]:
        """The context characters [start, end) that window j shows."""
        ctx_seq = 1 if self.tok.padding_side == "right" else 0
        offsets = [o for o, s in zip(enc["offset_mapping"][j], enc.sequence_ids(j)) if s == ctx_seq]
        return (offsets[0][0], offsets[-1][1]) if offsets else (0, 0)

    def _features(self, enc: Any) -> list[dict]:
        return [{k: enc[k][j] for k in ("input_ids", "attention_mask")} for j in range(len(enc["input_ids"]))]

    @staticmethod
    def _holds(ex: dict, answer: str, span: tuple[int, int]) -> bool:
        """Whether the window's characters hold the answer: a marked verbatim span of it when the example has one,
        else the answer text anywhere in the window (answer_start = -1: not a verbatim span, rarely found)."""
        ans = ex["answers"]
        marked = [s for s, t in zip(ans["answer_start"], ans["text"]) if s is not None and s >= 0
                  and t.strip() == answer]
        if marked:
            return any(span[0] <= s and s + len(answer) <= span[1] for s in marked)
        return answer in ex["context"][span[0]:span[1]]

    def train_features(self, examples: list[dict]) -> list[dict]:
        enc = self._windows(examples)
        by_example: dict[int, list[int]] = {}
        for j, i in enumerate(enc["overflow_to_sample_mapping"]):
            by_example.setdefault(i, []).append(j)
        feats, sources, targets = self._features(enc), [], []
        no_target, unseen = 0, 0
        for i, windows in sorted(by_example.items()):
            answer = self.target(examples[i])
            if answer is None:
                no_target += 1
                continue
            if len(windows) == 1:  # the whole context fits: the answer is there (verbatim or not)
                sources.append(windows[0]), targets.append(answer)
                continue
            holds = [j for j in windows if self._holds(examples[i], answer, self._span(enc, j))]
            if not holds:
                unseen += 1
                continue
            sources += holds
            targets += [answer] * len(holds)
            others = [j for j in windows if j not in holds]
            for k in range(min(NO_ANSWER_PER_QUESTION, len(others))):  # deterministic: spread over positions
                sources.append(others[(i + k) % len(others)])
                targets.append(NO_ANSWER)
        if no_target or unseen:
            log.info("generative QA training: %d of %d questions have no answer text, %d no window holding it; "
                     "not trained on", no_target, len(examples), unseen)
        labels = self.answer_ids(targets)
        return [{**feats[j], "labels": lab} for j, lab in zip(sources, labels)]

    def predict(self, model: Any, examples: list[dict], batch_size: int) -> list[dict]:
        enc = self._windows(examples)
        owner = list(enc["overflow_to_sample_mapping"])
        # every window must answer something: the first token is an answer token (no end token, no other special
        # token), so the empty answer trained on no-answer windows shows up as a low score instead of as silence
        suppress = sorted(set(self.tok.all_special_ids) - {self.eos_id, self.tok.unk_token_id})
        gen = self.generate(model, self._features(enc), batch_size, self.answer_length(), with_scores=True,
                            min_new_tokens=1, suppress_tokens=suppress or None)
        best: list[Optional[tuple[float, int, str]]] = [None] * len(examples)
        for j, (i, (text, score)) in enumerate(zip(owner, gen)):
            if text and (best[i] is None or score > best[i][0]):  # empty: only special tokens were generated
                best[i] = (score, j, text)
        preds = []
        for i, ex in enumerate(examples):
            n = owner.count(i)
            if best[i] is None:
                preds.append({"prediction": "", "scores": {"score": None, "windows": n}, "generated": ""})
                continue
            score, j, text = best[i]
            scores: dict[str, Any] = {"score": round(float(score), 6), "window": j - owner.index(i), "windows": n}
            scores.update(self._locate(ex["context"], text, self._span(enc, j)))
            answer = ex["context"][scores["start"]:scores["end"]] if "start" in scores else text
            preds.append({"prediction": answer, "scores": scores, "generated": text})
        return preds

    @staticmethod
    def _locate(context: str, text: str, span: tuple[int, int]) -> dict[str, int]:
        """Character start/end of the generated text in the context (in its window first), ignoring case and
        whitespace (decoding a character vocabulary puts spaces between characters); {} when it is not a span."""
        chars = [re.escape(c) for c in text if not c.isspace()]
        if not chars:
            return {}
        pattern = re.compile(r"\s*".join(chars), re.IGNORECASE)
        for lo, hi in (span, (0, len(context))):
            m = pattern.search(context, lo, hi)
            if m:
                return {"start": m.start(), "end": m.end()}
        return {}
