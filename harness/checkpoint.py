"""Save a trained job's checkpoint folder (weights, tokenizer, harness_task.json, harness_job.json) and load one for
prediction on CPU.

Backends: "torch" (the saved weights), "onnx" (an export under DIR/onnx, see harness.export), or "auto": ONNX when
an export exists and onnxruntime imports, else torch.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import results
from .adapters import Adapter
from .catalog import validate_task
from .errors import HarnessError, did_you_mean
from .onnx_model import (FP32_FILE, INT8_FILE, SUPPORTED, OnnxModel, find_onnx, onnx_outputs,
                         onnxruntime_available)
from .methods import get_method
from .families import adapter_kinds
from .record import CheckpointInfo
from .trainconfig import TrainConfig

if TYPE_CHECKING:
    from .specs import TaskSpec

REQUIRED = ("harness_task.json", "harness_job.json", "config.json")
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "spiece.model", "sentencepiece.bpe.model")
PICKLED = ("*.bin", "*.pt", "*.pth", "*.pkl", "*.ckpt")
BACKENDS = ("auto", "torch", "onnx", "onnx-fp32", "onnx-int8")


def _read(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise HarnessError(f"checkpoint: cannot read {path} ({type(e).__name__})") from None


def backend_name(model: Any) -> str:
    """'torch', 'onnx fp32' or 'onnx int8': which backend a loaded model runs on."""
    return getattr(model, "backend", "torch")


def _onnx_file(folder: Path, adapter: Adapter, backend: str) -> Path | None:
    """The ONNX file to load for this backend choice, or None for torch."""
    if backend not in BACKENDS:
        raise HarnessError(f"checkpoint: unknown backend '{backend}'{did_you_mean(backend, BACKENDS)}")
    if backend == "torch":
        return None
    precision = backend.partition("-")[2] or None  # onnx-fp32 / onnx-int8 pick one file; onnx prefers int8
    exportable = onnx_outputs(adapter) is not None
    found = find_onnx(folder, precision) if exportable else None
    if backend == "auto":
        return found if found is not None and onnxruntime_available() else None
    if not exportable:
        raise HarnessError(f"checkpoint: {folder}: backend {backend} is not supported for a "
                           f"{type(adapter).__name__} checkpoint ({adapter.task.kind}); ONNX runs {SUPPORTED}; "
                           f"use --backend torch")
    if found is None:
        wanted = f"onnx/{INT8_FILE}" if precision == "int8" else f"onnx/{FP32_FILE}"
        raise HarnessError(f"checkpoint: {folder} has no ONNX export ({wanted}); run python -m harness export "
                           f"--checkpoint {folder} --format onnx" + (" --quantize int8" if precision == "int8" else ""))
    if not onnxruntime_available():
        raise HarnessError(f"checkpoint: backend {backend} needs onnxruntime (pip install -r requirements.txt)")
    return found


def save_checkpoint(path: Path, model: Any, tokenizer: Any, job: Any, seed: int) -> int:
    """Weights (safetensors) and tokenizer as the method saves them, the task spec and the job's CheckpointInfo, so
    predict, export and the app need nothing else (`job`: a harness.plan.Job). Returns the bytes of the trained
    weights (Method.save).

    Written into a temporary sibling folder and renamed into place: an interrupted save leaves no half checkpoint."""
    tmp = path.with_name(f".{path.name}.{results.writer_tag()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    saved_bytes = get_method(job.method).save(tmp, model, tokenizer)
    results.write_json(tmp / "harness_task.json", job.spec.model_dump(mode="json"))
    CheckpointInfo(model=job.model.model_dump(mode="json"), adapter=job.family.adapter,
                   method=job.method, fold=job.fold, train=job.cfg.model_dump(mode="json"), seed=seed,
                   config_hash=job.config_hash).write(tmp / "harness_job.json")
    if path.exists():
        shutil.rmtree(path)
    os.replace(tmp, path)
    return saved_bytes


def checkpoint_task(path: Path | str) -> "TaskSpec":
    """The task a checkpoint folder was trained on (its harness_task.json), read without loading the model, so what
    is checked against the task (predict's input file) fails before the weights load; one-line HarnessError."""
    folder = Path(path)
    if not folder.is_dir():
        raise HarnessError(f"checkpoint: folder {folder} does not exist")
    if not (folder / "harness_task.json").is_file():
        raise HarnessError(f"checkpoint: {folder} has no harness_task.json")
    try:
        return validate_task(_read(folder / "harness_task.json"))
    except (KeyError, TypeError, ValueError) as e:
        detail = str(e).splitlines()[0][:200]
        raise HarnessError(f"checkpoint: {folder}: invalid harness_task.json ({detail})") from None


def load_checkpoint(path: Path | str, backend: str = "auto") -> tuple[Adapter, Any]:
    """(adapter, model) for a checkpoint folder written by save_checkpoint; the model is on CPU.

    backend: "auto" (ONNX when DIR/onnx/model.int8.onnx or model.onnx exists and onnxruntime imports, else torch),
    "torch", "onnx" (int8 when exported, else fp32), "onnx-fp32" or "onnx-int8". Raises HarnessError with one line when the folder, one of its files or the weights are
    missing or unreadable.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise HarnessError(f"checkpoint: folder {folder} does not exist")
    for name in REQUIRED:
        if not (folder / name).is_file():
            raise HarnessError(f"checkpoint: {folder} has no {name}")
    pickled = sorted(p.name for pattern in PICKLED for p in folder.glob(f"**/{pattern}"))
    if pickled:
        raise HarnessError(f"checkpoint: {folder} holds pickled weights ({pickled[0]}); harness checkpoints are "
                           "safetensors only, since unpickling a file can run code — refusing to load it")
    if not any(folder.glob("*.safetensors")):
        raise HarnessError(f"checkpoint: {folder} has no weights (model.safetensors)")
    if not any((folder / name).is_file() for name in TOKENIZER_FILES):
        raise HarnessError(f"checkpoint: {folder} has no tokenizer files ({', '.join(TOKENIZER_FILES)}); a checkpoint "
                           "carries its own tokenizer, so no other one is fetched in its place")
    job = CheckpointInfo.read(folder / "harness_job.json")  # migrates older formats
    try:
        task = validate_task(_read(folder / "harness_task.json"))
        # loaded checkpoints run on CPU: its speed settings, not the training device's
        cfg = TrainConfig(**{**job.train, "bf16": "off", "eval_batch_size": "auto"}).for_device("cpu")
    except (KeyError, TypeError, ValueError) as e:
        raise HarnessError(f"checkpoint: {folder}: invalid harness_task.json / harness_job.json "
                           f"({str(e).splitlines()[0][:200]})") from None
    kind, method = job.adapter, get_method(job.method, f"checkpoint: {folder}: harness_job.json: field 'method'")
    known = adapter_kinds()
    if kind not in known:
        raise HarnessError(f"checkpoint: {folder}: unknown adapter kind '{kind}' (expected {' or '.join(known)})")
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(str(folder))
    except Exception as e:  # noqa: BLE001 - transformers raises many types; report one line
        raise HarnessError(f"checkpoint: {folder}: cannot load tokenizer ({type(e).__name__}: "
                           f"{str(e).splitlines()[0][:200] if str(e) else ''})") from None
    try:
        adapter = method.make_adapter(kind, task, tok, cfg)
    except ValueError as e:
        raise HarnessError(f"checkpoint: {folder}: {e}") from None
    onnx_file = _onnx_file(folder, adapter, backend)
    if onnx_file is not None:
        return adapter, _load_onnx(onnx_file, folder)
    model = method.load(folder, adapter)
    model.to("cpu")
    model.eval()
    return adapter, model


def _load_onnx(onnx_file: Path, folder: Path) -> OnnxModel:
    from transformers import AutoConfig

    try:
        return OnnxModel(onnx_file, AutoConfig.from_pretrained(str(folder)))
    except Exception as e:  # noqa: BLE001 - onnxruntime raises its own exception types
        raise HarnessError(f"checkpoint: {folder}: cannot load {onnx_file.name} ({type(e).__name__}: "
                           f"{str(e).splitlines()[0][:200] if str(e) else ''})") from None
