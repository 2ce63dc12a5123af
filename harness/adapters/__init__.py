"""Adapters by (family adapter kind, method): encoder fine-tuning heads, T5 text-to-text (classification,
regression, generative QA), encoder prompts (MLM)."""
from __future__ import annotations

from typing import Any, Optional

from ..specs import TaskSpec, TrainConfig
from .base import Adapter
from .encoder import SequenceAdapter, TokenAdapter
from .genqa import GenQAAdapter
from .prompt import PromptAdapter
from .qa import QAAdapter
from .seq2seq import Seq2SeqAdapter

METHODS = ("finetune", "prompt")
ADAPTERS: dict[tuple[str, str], tuple[type[Adapter], ...]] = {
    ("encoder", "finetune"): (SequenceAdapter, TokenAdapter, QAAdapter),
    ("seq2seq", "finetune"): (Seq2SeqAdapter, GenQAAdapter),
    ("encoder", "prompt"): (PromptAdapter,),
}


def adapter_class(kind_of_family: str, task_kind: str, method: str = "finetune") -> Optional[type[Adapter]]:
    """The adapter that runs task_kind for a family's adapter kind and a method, or None when unsupported."""
    return next((a for a in ADAPTERS.get((kind_of_family, method), ()) if task_kind in a.kinds), None)


def make_adapter(kind_of_family: str, task: TaskSpec, tokenizer: Any, cfg: TrainConfig,
                 method: str = "finetune") -> Adapter:
    cls = adapter_class(kind_of_family, task.kind, method)
    if cls is None:
        raise ValueError(f"{kind_of_family} models do not support {task.kind} tasks with the {method} method")
    return cls(task, tokenizer, cfg)


__all__ = ["Adapter", "ADAPTERS", "METHODS", "adapter_class", "make_adapter"]
