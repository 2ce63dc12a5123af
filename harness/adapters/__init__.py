"""Adapters per model family (encoder heads, T5 text-to-text and generative QA, encoder prompts through the MLM).

Which adapter serves a task is declared by its kind (harness/kinds) per family adapter kind and per adapter
role; a method (harness/methods) names the role it uses and asks for an adapter of that role.
"""
from __future__ import annotations

from typing import Any, Optional

from ..specs import TaskSpec
from ..trainconfig import TrainConfig
from .base import Adapter


def adapter_class(family_adapter: str, task_kind: str, role: str = "head") -> Optional[type[Adapter]]:
    """The adapter that runs task_kind for a family's adapter kind in an adapter role ("head": a task head; "mlm":
    the masked-LM head), or None when unsupported."""
    from ..kinds import get_kind

    return get_kind(task_kind).adapter_class(family_adapter, role)


def make_adapter(family_adapter: str, task: TaskSpec, tokenizer: Any, cfg: TrainConfig, role: str = "head",
                 user: str = "the finetune method") -> Adapter:
    """The adapter of `role` for the task; ValueError naming `user` (who asked: e.g. "the prompt method") if none."""
    cls = adapter_class(family_adapter, task.kind, role)
    if cls is None:
        raise ValueError(f"{family_adapter} models do not support {task.kind} tasks with {user}")
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
