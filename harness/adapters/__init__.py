"""Adapters by family kind: encoder (sequence, token, QA heads) and seq2seq (T5 text-to-text, generative QA)."""
from __future__ import annotations

from typing import Any, Optional

from ..specs import TaskSpec, TrainConfig
from .base import Adapter
from .encoder import SequenceAdapter, TokenAdapter
from .genqa import GenQAAdapter
from .qa import QAAdapter
from .seq2seq import Seq2SeqAdapter

ADAPTERS: dict[str, tuple[type[Adapter], ...]] = {
    "encoder": (SequenceAdapter, TokenAdapter, QAAdapter),
    "seq2seq": (Seq2SeqAdapter, GenQAAdapter),
}


def adapter_class(kind_of_family: str, task_kind: str) -> Optional[type[Adapter]]:
    """The adapter that runs task_kind for a family's adapter kind, or None when unsupported."""
    return next((a for a in ADAPTERS[kind_of_family] if task_kind in a.kinds), None)


def make_adapter(kind_of_family: str, task: TaskSpec, tokenizer: Any, cfg: TrainConfig) -> Adapter:
    cls = adapter_class(kind_of_family, task.kind)
    if cls is None:
        raise ValueError(f"{kind_of_family} models do not support {task.kind} tasks")
    return cls(task, tokenizer, cfg)


__all__ = ["Adapter", "ADAPTERS", "adapter_class", "make_adapter"]
