"""prompt: PET-style prompt learning through the masked-LM head (a template with a mask slot and label words)."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

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

    def card_notes(self, task: dict[str, Any]) -> list[str]:
        """The template and label words the checkpoint was trained with: without them its masked-LM head means
        nothing (the card's Use section fills the template and reads the words' scores at the mask)."""
        prompt = task.get("prompt") or {}
        if not prompt.get("template"):
            return []
        words = prompt.get("label_words") or {}
        lines = [f"Prompt template: `{prompt['template']}` (`{{mask}}`: the tokenizer's mask token; the other slots: "
                 "the task's input fields). The predicted label is the one whose label words score highest at the "
                 "mask (a word: the mean log-probability of its tokens; several words of a label: the log of their "
                 "mean probability).", "", "| label | label words |", "|---|---|"]
        lines += [f"| {label} | {', '.join(f'`{w}`' for w in ws)} |" for label, ws in words.items()]
        return lines


PROMPT = register(Prompt())
