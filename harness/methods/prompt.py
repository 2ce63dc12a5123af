"""prompt: PET-style prompt learning through the masked-LM head (a template with a mask slot and label words)."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from ..errors import HarnessError
from .base import Method, register

if TYPE_CHECKING:
    from ..specs import ModelSpec, TaskSpec, TrainConfig


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

    def check(self, model: "ModelSpec", task: "TaskSpec", tokenizer: Any, cfg: "TrainConfig",
              family_adapter: str) -> Optional[str]:
        """The label words must be in this model's vocabulary (e.g. not Chinese words for MiniLM)."""
        from ..adapters import make_adapter

        try:
            make_adapter(family_adapter, task, tokenizer, cfg, self.name)
        except HarnessError as e:
            return str(e)
        return None


PROMPT = register(Prompt())
