"""prompt: PET-style prompt learning through the masked-LM head (a template with a mask slot and label words)."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

from .base import Method, register

if TYPE_CHECKING:
    from ..specs import ModelSpec, TaskSpec


class Prompt(Method):
    name = "prompt"
    adapter_role = "mlm"
    options = ("rdrop_alpha",)
    summary = "the masked-LM head reads the label off label words in a template's mask slot"

    def not_applicable(self, model: "ModelSpec", task: "TaskSpec", family_adapter: str) -> Optional[str]:
        if task.prompt is None:
            return f"task {task.name} has no prompt: section"
        return super().not_applicable(model, task, family_adapter)

    def prepare_task(self, task: "TaskSpec", task_file: Path, data_dir: Optional[Path]) -> "TaskSpec":
        from ..verbalizer import resolve_label_words

        return resolve_label_words(task, task_file, data_dir)


PROMPT = register(Prompt())
