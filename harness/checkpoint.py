"""Load a saved checkpoint folder (weights, tokenizer, harness_task.json, harness_job.json) for prediction on CPU."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .adapters import Adapter, make_adapter
from .errors import HarnessError
from .specs import TaskSpec, TrainConfig

REQUIRED = ("harness_task.json", "harness_job.json", "config.json")


def _read(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise HarnessError(f"checkpoint: cannot read {path} ({type(e).__name__})") from None


def load_checkpoint(path: Path | str) -> tuple[Adapter, Any]:
    """(adapter, model) for a checkpoint folder written by harness.runner.save_checkpoint; the model is on CPU.

    Raises HarnessError with one line when the folder, one of its files or the weights are missing or unreadable.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise HarnessError(f"checkpoint: folder {folder} does not exist")
    for name in REQUIRED:
        if not (folder / name).is_file():
            raise HarnessError(f"checkpoint: {folder} has no {name}")
    if not any(folder.glob("*.safetensors")) and not any(folder.glob("*.bin")):
        raise HarnessError(f"checkpoint: {folder} has no weights (model.safetensors)")
    try:
        task = TaskSpec(**_read(folder / "harness_task.json"))
        job = _read(folder / "harness_job.json")
        cfg = TrainConfig(**{**job.get("train", {}), "bf16": "off"})
        kind = job["adapter"]
        method = job.get("method", "finetune")
    except (KeyError, TypeError, ValueError) as e:
        raise HarnessError(f"checkpoint: {folder}: invalid harness_task.json / harness_job.json "
                           f"({str(e).splitlines()[0][:200]})") from None
    if kind not in ("encoder", "seq2seq"):
        raise HarnessError(f"checkpoint: {folder}: unknown adapter kind '{kind}' (expected encoder or seq2seq)")
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(str(folder))
    except Exception as e:  # noqa: BLE001 - transformers raises many types; report one line
        raise HarnessError(f"checkpoint: {folder}: cannot load tokenizer ({type(e).__name__}: "
                           f"{str(e).splitlines()[0][:200] if str(e) else ''})") from None
    try:
        adapter = make_adapter(kind, task, tok, cfg, method)
    except ValueError as e:
        raise HarnessError(f"checkpoint: {folder}: {e}") from None
    try:
        model = adapter.auto_class.from_pretrained(str(folder))
    except Exception as e:  # noqa: BLE001
        raise HarnessError(f"checkpoint: {folder}: cannot load weights ({type(e).__name__}: "
                           f"{str(e).splitlines()[0][:200] if str(e) else ''})") from None
    model = adapter.prepare_model(model)
    model.to("cpu")
    model.eval()
    return adapter, model
