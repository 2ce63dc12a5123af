"""What a training method is: what it needs from the task and the model, and how it builds, saves and loads one.

A method module (harness/methods/<method>.py) registers one `Method`. Planning asks it whether a (model, task)
can run it (a reason when not: the job is skipped and the reason printed), a job (harness.job) asks it to build the
model, the checkpoint writer to save it and the checkpoint loader to load it. Adapters come from the task kind:
a method names the adapter role it uses ("head": a task head; "mlm": the masked-LM head).
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from ..errors import HarnessError
from ..registry import Registry

if TYPE_CHECKING:
    from ..specs import ModelSpec, TaskSpec
    from ..trainconfig import TrainConfig


class Method:
    """Plain behaviour shared by methods; a subclass overrides what differs."""

    name: str = ""
    adapter_role: str = "head"
    options: tuple[str, ...] = ()  # training options only this method reads (an error with any other method)
    summary: str = ""

    def not_applicable(self, model: "ModelSpec", task: "TaskSpec", family_adapter: str) -> Optional[str]:
        """Why this (model, task) cannot run the method, or None. Cheap: no model or data is loaded."""
        if task.task_kind.adapter_path(family_adapter, self.adapter_role) is None:
            return f"{model.family} models do not run {task.kind} tasks with the {self.name} method"
        return None

    def make_adapter(self, family_adapter: str, task: "TaskSpec", tokenizer: Any, cfg: "TrainConfig") -> Any:
        """The adapter this method trains through: the task kind's adapter of the method's role."""
        from ..adapters import make_adapter

        return make_adapter(family_adapter, task, tokenizer, cfg, self.adapter_role, f"the {self.name} method")

    def prepare_task(self, task: "TaskSpec", task_file: Path, data_dir: Optional[Path]) -> "TaskSpec":
        """The task as this method runs it (e.g. prompt label words resolved into the spec)."""
        return task

    def card_notes(self, task: dict[str, Any]) -> list[str]:
        """What a model card must state for a checkpoint this method trained, from the record's resolved task
        (``config.task``), as Markdown lines; none by default."""
        return []

    def check(self, model: "ModelSpec", task: "TaskSpec", tokenizer: Any, cfg: "TrainConfig",
              family_adapter: str) -> Optional[str]:
        """Planning-time check with the tokenizer: a reason to skip the job, or None. By default the adapter's own
        check (`Adapter.check`: e.g. label words the tokenizer turns into [UNK], for prompts and for T5 targets)."""
        try:
            adapter = self.make_adapter(family_adapter, task, tokenizer, cfg)
        except HarnessError as e:  # an adapter that cannot serve this task at all (e.g. no mask token)
            return str(e)
        return adapter.check()

    def build(self, adapter: Any, model: "ModelSpec", tokenizer: Any, seed: int) -> Any:
        """A fresh model for training: the family's pretrained (or random) weights with the adapter's head."""
        from .. import models

        loaded = models.load_model(model, adapter.auto_class, tokenizer, seed, **adapter.model_kwargs())
        return adapter.prepare_model(loaded)

    def save(self, path: Path, model: Any, tokenizer: Any) -> int:
        """Write the trained model and its tokenizer into a checkpoint folder (safetensors). Returns the bytes of
        the weight files that hold what was trained (the record's `checkpoint_bytes`): here every weight file."""
        model.save_pretrained(path)
        tokenizer.save_pretrained(path)
        return sum(f.stat().st_size for f in path.glob("*.safetensors"))

    def load(self, folder: Path, adapter: Any) -> Any:
        """The trained model of a checkpoint folder, on CPU, for prediction (weights only: no code is run)."""
        try:
            model = adapter.auto_class.from_pretrained(str(folder), trust_remote_code=False, use_safetensors=True)
        except Exception as e:  # noqa: BLE001 - transformers raises many types; report one line
            raise HarnessError(f"checkpoint: {folder}: cannot load weights ({type(e).__name__}: "
                               f"{str(e).splitlines()[0][:200] if str(e) else ''})") from None
        return adapter.prepare_model(model)


REGISTRY: Registry[Method] = Registry("method")
register = REGISTRY.register
