"""The Adapter interface: turns (TaskSpec, tokenizer, TrainConfig) into features, a model and predictions."""
from __future__ import annotations

import contextlib
import statistics
import time
from abc import ABC, abstractmethod
from typing import Any, Callable, Iterator, Optional

import torch

from ..specs import TaskSpec
from ..trainconfig import TrainConfig


# At most max_length × CHARS_PER_TOKEN characters of a text reach the tokenizer: more than max_length tokens of any
# natural text span (a token covers a few characters; WordPiece turns a word over 100 characters into one [UNK]),
# so what the model sees is the same, and a 10 MB row costs what a long row does. Such a cut text is still counted
# as truncated (its kept part alone is longer than max_length tokens).
CHARS_PER_TOKEN = 32


class BoundedTokenizer:
    """The tokenizer as the adapters call it: each text, pair text and pre-split word list is cut to the character
    bound before it is tokenized. A call asking for overflowing windows (`return_overflowing_tokens`: extractive and
    generative QA read a long context in windows) gets the whole text. Everything else is the tokenizer's own."""

    def __init__(self, tokenizer: Any, max_chars: int):
        self.inner, self.max_chars = tokenizer, max_chars

    @classmethod
    def of(cls, tokenizer: Any, max_length: int) -> Any:
        inner = tokenizer.inner if isinstance(tokenizer, cls) else tokenizer
        return cls(inner, max_length * CHARS_PER_TOKEN)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def __len__(self) -> int:
        return len(self.inner)

    def _cut(self, value: Any, words: bool, depth: int = 0) -> Any:
        if isinstance(value, str):
            return value[:self.max_chars]
        if isinstance(value, (list, tuple)) and depth < 2:
            if words and value and isinstance(value[0], str):  # one example's words: as many as the bound holds
                kept, room = [], self.max_chars
                for w in value:
                    if room <= 0:
                        break
                    kept.append(w[:room])
                    room -= len(kept[-1]) + 1
                return kept
            return [self._cut(v, words, depth + 1) for v in value]
        return value

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not kwargs.get("return_overflowing_tokens"):
            words = bool(kwargs.get("is_split_into_words"))
            args = tuple(self._cut(a, words) for a in args)
            kwargs.update({k: self._cut(kwargs[k], words) for k in ("text", "text_pair", "text_target",
                                                                    "text_pair_target") if k in kwargs})
        return self.inner(*args, **kwargs)


class Adapter(ABC):
    """One family of model heads. Which adapter serves which task kind is declared by the kinds (harness/kinds)."""

    # The Hub pipeline that runs the model this adapter saves, for model cards; None: the task kind's pipeline_tag
    # (an encoder with a task head). A T5 model generates text and an MLM prompt fills a mask, whatever the task.
    pipeline_tag: Optional[str] = None

    def __init__(self, task: TaskSpec, tokenizer: Any, cfg: TrainConfig):
        # a job resolves 'auto' settings for its device first; anything still 'auto' is standalone CPU use
        self.task, self.cfg = task, cfg.for_device("cpu")
        self.tok = BoundedTokenizer.of(tokenizer, self.cfg.max_length)
        self.kind = task.task_kind

    @property
    @abstractmethod
    def auto_class(self) -> Any:
        """The transformers Auto class that builds the model."""

    def model_kwargs(self) -> dict[str, Any]:
        """Extra config passed to from_pretrained / from_config (labels, problem type)."""
        return {}

    def prepare_model(self, model: Any) -> Any:
        """Adjust a freshly loaded model (special token ids, generation config)."""
        return model

    def check(self) -> Optional[str]:
        """Planning-time check of what this adapter needs from the tokenizer (e.g. its label words in the
        vocabulary): why the job cannot run, or None. Cheap: no model is loaded, no data is read."""
        return None

    def head_modules(self, model: Any) -> tuple[str, ...]:
        """Names of the model's top-level modules that make its task head (trained in full by a method that
        freezes the rest, e.g. lora): its children with weights other than its base model (`classifier`,
        `qa_outputs`, ...); none for a model without a separate base model (T5: the LM head stays frozen).
        Override where a head is shaped otherwise."""
        prefix = getattr(model, "base_model_prefix", "")
        if not prefix or not isinstance(getattr(model, prefix, None), torch.nn.Module):
            return ()
        return tuple(name for name, child in model.named_children()
                     if name != prefix and any(True for _ in child.parameters()))

    @abstractmethod
    def train_features(self, examples: list[dict]) -> list[dict]:
        """Tokenized training features with labels."""

    def collator(self, model: Any) -> Callable:
        """Pads a list of features into a batch (dynamic padding to a multiple of 8)."""
        from transformers import DataCollatorWithPadding

        return DataCollatorWithPadding(self.tok, pad_to_multiple_of=8)

    def compute_loss(self, model: Any, batch: dict) -> Optional[tuple[torch.Tensor, Any]]:
        """(loss, outputs) of one collated training batch, the loss a mean over the batch; or None (the default):
        the batch goes to the model as it is and the model's own loss is used. An adapter overrides this when its
        batches carry what the model does not take (multiple choice: the mask of padded choices)."""
        return None

    @abstractmethod
    def predict(self, model: Any, examples: list[dict], batch_size: int) -> list[dict]:
        """One {'prediction': ..., 'scores': ...} per example, in input order (nothing dropped)."""

    def gold(self, ex: dict) -> Any:
        """The reference an example is scored against."""
        return self.kind.gold(ex)

    def inputs(self, ex: dict) -> dict:
        """The example's input fields, as shown in per-example views."""
        return {f: ex[f] for f in self.kind.input_fields}

    def encode_texts(self, ex: dict) -> tuple:
        """Positional text arguments for the tokenizer."""
        return tuple(ex[f] for f in self.kind.input_fields)

    def token_stats(self, examples: list[dict]) -> dict[str, float]:
        """[UNK] rate (of non-special tokens) and truncation rate at max_length, on these examples."""
        unk, total, truncated = 0, 0, 0
        special = set(self.tok.all_special_ids) - {self.tok.unk_token_id}  # [UNK] is what we count
        for ex in examples:
            args = self.encode_texts(ex)
            if isinstance(args[0], list):  # pre-split words (NER)
                ids = self.tok(args[0], is_split_into_words=True, truncation=False)["input_ids"]
            else:
                ids = self.tok(*args, truncation=False)["input_ids"]
            body = [i for i in ids if i not in special]
            unk += sum(1 for i in body if i == self.tok.unk_token_id)
            total += len(body)
            truncated += len(ids) > self.cfg.max_length
        n = max(len(examples), 1)
        return {"unk_rate": unk / max(total, 1), "truncation_rate": truncated / n, "examples": len(examples)}

    def time_predictions(self, model: Any, example: dict, runs: int, warmup: int) -> list[float]:
        """Wall times (ms, sorted) of ``runs`` single-input predictions (tokenize + forward + decode) after
        ``warmup`` untimed ones."""
        for _ in range(warmup):
            self.predict(model, [example], 1)
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            self.predict(model, [example], 1)
            times.append((time.perf_counter() - t0) * 1000)
        return sorted(times)

    def latency_ms(self, model: Any, example: dict, runs: int = 20, warmup: int = 3) -> float:
        """p50 wall time of one single-input prediction on CPU (tokenize + forward + decode)."""
        return round(statistics.median(self.time_predictions(model, example, runs, warmup)), 3)


def unknown_words(tok: Any, words: list[str]) -> list[str]:
    """The words this tokenizer cannot spell: no tokens at all, or an [UNK] among their pieces (label words that
    a model can never produce)."""
    out = []
    for word in words:
        ids = tok(word, add_special_tokens=False)["input_ids"]
        if not ids or tok.unk_token_id in ids:
            out.append(word)
    return out


def words_phrase(words: list[str]) -> str:
    """'x is' / 'x, y are' (at most five words shown), for one-line messages about label words."""
    return f"{', '.join(words[:5])}{' …' if len(words) > 5 else ''} {'is' if len(words) == 1 else 'are'}"


def autocast(model: Any, bf16: bool):
    """bf16 autocast on CUDA when enabled; a no-op elsewhere."""
    dev = next(model.parameters()).device
    if bf16 and dev.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def batches(features: list[dict], batch_size: int, collate: Callable, device: torch.device
            ) -> Iterator[tuple[list[int], dict]]:
    """Length-sorted batches (least padding), yielding the original indices with each batch."""
    order = sorted(range(len(features)), key=lambda i: -len(features[i]["input_ids"]))
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        batch = collate([features[i] for i in idx])
        yield idx, {k: v.to(device) for k, v in batch.items() if isinstance(v, torch.Tensor)}
