"""An ONNX Runtime session that quacks like a transformers model, as far as the adapters need.

The adapters call ``model(**batch)`` and read ``.logits`` (or ``.start_logits`` / ``.end_logits``); they also call
``model.eval()`` and ``next(model.parameters()).device``. OnnxModel provides exactly that on CPU, so the same
adapter code (batching, padding, decoding) runs on either backend.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Iterator, Optional

import numpy as np
import torch

from .adapters import Adapter
from .adapters.encoder import SequenceAdapter, TokenAdapter
from .adapters.qa import QAAdapter

log = logging.getLogger(__name__)

# Adapters whose model can run as ONNX, with the output tensors their predict reads. Others (T5 generation,
# prompt/MLM heads) stay on PyTorch.
ONNX_OUTPUTS: dict[type, tuple[str, ...]] = {SequenceAdapter: ("logits",), TokenAdapter: ("logits",),
                                             QAAdapter: ("start_logits", "end_logits")}
SUPPORTED = "encoder fine-tuning heads (sequence classification/regression, token classification, extractive QA)"
ONNX_DIR = "onnx"
FP32_FILE = "model.onnx"
INT8_FILE = "model.int8.onnx"


def onnx_outputs(adapter: Adapter) -> tuple[str, ...] | None:
    """The model outputs the adapter reads when its model can run as ONNX, else None."""
    return ONNX_OUTPUTS.get(type(adapter))


def onnxruntime_available() -> bool:
    """True when onnxruntime imports (it is optional for training, needed for the ONNX backend)."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def find_onnx(checkpoint: Path, precision: Optional[str] = None) -> Optional[Path]:
    """The exported model of a checkpoint folder: int8 when it was quantized, else fp32, else None.

    precision "fp32" or "int8" asks for that file only."""
    names = {"fp32": (FP32_FILE,), "int8": (INT8_FILE,), None: (INT8_FILE, FP32_FILE)}[precision]
    for name in names:
        path = Path(checkpoint) / ONNX_DIR / name
        if path.is_file():
            return path
    return None


def cpu_threads() -> int:
    """Physical cores this process may use (affinity mask, capped by physical core count when known)."""
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        available = os.cpu_count() or 1
    try:
        import psutil

        physical = psutil.cpu_count(logical=False) or available
    except ImportError:
        physical = available
    return max(1, min(available, physical))


def session_options(threads: Optional[int] = None) -> Any:
    """ORT options for a small CPU: intra-op threads = physical cores (or `threads`), one inter-op thread,
    sequential execution, all graph optimizations."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads or cpu_threads()
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return so


class OnnxModel:
    """A CPU ONNX Runtime model with the small part of the transformers model interface the adapters use."""

    def __init__(self, path: Path | str, config: Any = None, threads: Optional[int] = None):
        import onnxruntime as ort

        self.path = Path(path)
        self.config = config
        self.session = ort.InferenceSession(str(self.path), session_options(threads),
                                            providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_names = [o.name for o in self.session.get_outputs()]
        self.backend = "onnx int8" if self.path.name == INT8_FILE else "onnx fp32"
        self._device_probe = torch.zeros(0)

    def __call__(self, **batch: torch.Tensor) -> SimpleNamespace:
        """Run one padded batch; outputs come back as CPU torch tensors named like the model's outputs."""
        missing = [n for n in self.input_names if n not in batch]
        if missing:
            raise ValueError(f"{self.path}: the ONNX model needs inputs {self.input_names}; batch lacks {missing}")
        feed = {n: np.ascontiguousarray(batch[n].detach().cpu().numpy().astype(np.int64))
                for n in self.input_names}
        outs = self.session.run(self.output_names, feed)
        return SimpleNamespace(**{n: torch.from_numpy(o) for n, o in zip(self.output_names, outs)})

    forward = __call__

    def eval(self) -> "OnnxModel":
        return self

    def parameters(self) -> Iterator[torch.Tensor]:
        """One empty CPU tensor: adapters read the device from the first parameter."""
        yield self._device_probe

    @property
    def device(self) -> torch.device:
        return torch.device("cpu")

    def to(self, device: Any) -> "OnnxModel":
        if torch.device(device).type != "cpu":
            raise ValueError(f"the ONNX backend runs on CPU only (asked for {device})")
        return self

    def __repr__(self) -> str:
        return f"OnnxModel({self.path}, {self.backend}, inputs={self.input_names}, outputs={self.output_names})"
