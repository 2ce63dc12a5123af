"""Adapters per model family (encoder heads, T5 text-to-text and generative QA, encoder prompts through the MLM).

Which adapter serves a task is declared by its kind (harness/kinds) per family adapter kind and per adapter
role; a method (harness/methods) names the role it uses.
"""
from __future__ import annotations

from typing import Any, Optional

from ..specs import TaskSpec
from ..trainconfig import TrainConfig
from .base import Adapter


def adapter_class(family_adapter: str, task_kind: str, method: str = "finetune") -> Optional[type[Adapter]]:
    """The adapter that runs task_kind for a family's adapter kind and a method, or None when unsupported."""
    from ..kinds import get_kind
    from ..methods import get_method

    return get_kind(task_kind).adapter_class(family_adapter, get_method(method).adapter_role)


def make_adapter(family_adapter: str, task: TaskSpec, tokenizer: Any, cfg: TrainConfig,
                 method: str = "finetune") -> Adapter:
    cls = adapter_class(family_adapter, task.kind, method)
    if cls is None:
        raise ValueError(f"{family_adapter} models do not support {task.kind} tasks with the {method} method")
    return cls(task, tokenizer, cfg)


def __getattr__(name: str) -> Any:
    """Adapter classes by name (e.g. `from harness.adapters import GenQAAdapter`), imported on first use."""
    modules = {"SequenceAdapter": "encoder", "TokenAdapter": "encoder", "QAAdapter": "qa", "GenQAAdapter": "genqa",
               "Seq2SeqAdapter": "seq2seq", "PromptAdapter": "prompt", "ChoiceAdapter": "choice",
               "Seq2SeqChoiceAdapter": "choice"}
    if name in modules:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{modules[name]}"), name)
    raise AttributeError(name)


__all__ = ["Adapter", "adapter_class", "make_adapter"]
