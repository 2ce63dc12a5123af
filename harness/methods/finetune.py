"""finetune: a new task head on the pretrained model (T5: text-to-text), every weight trained."""
from __future__ import annotations

from .base import Method, register


class Finetune(Method):
    name = "finetune"
    adapter_role = "head"
    summary = "a task head on the encoder (T5: text-to-text); all weights train"


FINETUNE = register(Finetune())
