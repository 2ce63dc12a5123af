"""Export an encoder checkpoint to ONNX (fp32, optionally dynamic int8) and verify it against PyTorch.

Writes DIR/onnx/model.onnx, DIR/onnx/model.int8.onnx (with quantize="int8") and DIR/onnx/export.json (versions,
opset, inputs/outputs, quantization settings and the verification figures of harness.verify).
"""
from __future__ import annotations

import contextlib
import importlib.metadata
import io
import logging
import platform
import time
import warnings
from pathlib import Path
from typing import Any, Iterator, Optional

import numpy as np
import torch

from . import results
from .checkpoint import load_checkpoint
from .errors import HarnessError
from .onnx_fusion import fuse_for_ort
from .onnx_model import FP32_FILE, INT8_FILE, ONNX_DIR, SUPPORTED, onnx_outputs

log = logging.getLogger(__name__)
OPSET = 18
INPUTS = ("input_ids", "attention_mask", "token_type_ids")  # what the encoder adapters pass to model(**batch)
# Dynamic int8: weights of MatMul/Gemm (and fused Attention, see onnx_fusion) only, per output channel. On
# MiniLM/SST-2 (docs/predict.md) the ORT default (every supported op, per tensor) lost 0.57 points; per channel lost
# 0.23 with embeddings (Gather) quantized too and gained 0.12 without: embedding tables stay fp32 (a larger file,
# same speed, the smallest logit error). ORT quantizes QAttention weights with reduce_range whatever is asked.
QUANT_SETTINGS: dict[str, Any] = {"method": "onnxruntime.quantization.quantize_dynamic", "weight_type": "QInt8",
                                  "op_types_to_quantize": ["MatMul", "Gemm", "Attention"], "per_channel": True,
                                  "reduce_range": False}
FORMATS = ("onnx",)
QUANTIZE = ("int8",)


class _Outputs(torch.nn.Module):
    """Positional inputs in a fixed order -> the adapter's output tensors as a tuple (what ONNX export needs)."""

    def __init__(self, model: torch.nn.Module, inputs: tuple[str, ...], outputs: tuple[str, ...]):
        super().__init__()
        self.model, self.inputs, self.outputs = model, inputs, outputs

    def forward(self, *args: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.model(**dict(zip(self.inputs, args)))
        return tuple(getattr(out, name) for name in self.outputs)


def versions() -> dict[str, Optional[str]]:
    """Versions of the packages that produced and run the export."""
    out: dict[str, Optional[str]] = {"python": platform.python_version()}
    for pkg in ("torch", "transformers", "onnx", "onnxruntime", "onnxscript", "tokenizers"):
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            out[pkg] = None
    return out


def _require_onnx() -> None:
    missing = []
    for mod in ("onnx", "onnxruntime", "onnxscript"):
        try:
            __import__(mod)
        except ImportError:
            missing.append(mod)
    if missing:
        raise HarnessError(f"export: needs {', '.join(missing)} (pip install -r requirements.txt)")


@contextlib.contextmanager
def _quiet_loggers(*names: str, level: int = logging.ERROR) -> Iterator[None]:
    """Raise loggers to `level` for a block (the exporter warns about optional torchvision ops, etc.)."""
    loggers = [logging.getLogger(n) for n in names]
    before = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(level)
    try:
        yield
    finally:
        for lg, lvl in zip(loggers, before):
            lg.setLevel(lvl)


def check_feed(adapter: Any) -> dict[str, np.ndarray]:
    """A padded batch of three rows of different lengths as the graph's int64 inputs: the export's example input
    (padding present, no axis of size 1, which torch.export would specialise) and the fusion check's batch."""
    enc = adapter.tok(["the quick brown fox jumps over the lazy dog near the river bank", "hello world",
                       "a b c d e"], padding=True, return_tensors="np")
    return {k: np.asarray(enc[k], dtype=np.int64) for k in INPUTS if k in enc}


def export_model(adapter: Any, model: torch.nn.Module, path: Path, opset: int = OPSET) -> dict[str, Any]:
    """Export the torch model to path with dynamic batch and sequence axes; returns the graph's description."""
    import onnx

    outputs = onnx_outputs(adapter)
    enc = {k: torch.from_numpy(v) for k, v in check_feed(adapter).items()}
    inputs = tuple(enc)
    wrapper = _Outputs(model, inputs, outputs).eval()
    batch, seq = torch.export.Dim("batch"), torch.export.Dim("sequence")
    t0 = time.perf_counter()
    chatter = io.StringIO()  # the exporter prints progress lines; keep them out of CLI output, log at debug
    with torch.no_grad(), contextlib.redirect_stdout(chatter), _quiet_loggers("torch.onnx", "onnx_ir", "onnxscript"), \
            warnings.catch_warnings():
        # one Dim object per axis kind is shared by all inputs on purpose; torch internals deprecation noise
        warnings.filterwarnings("ignore", message=r"# The axis name")
        warnings.filterwarnings("ignore", message=r".*LeafSpec", category=FutureWarning)
        torch.onnx.export(wrapper, tuple(enc[k] for k in inputs), str(path), input_names=list(inputs),
                          output_names=list(outputs), opset_version=opset, dynamo=True, external_data=False,
                          dynamic_shapes=(tuple({0: batch, 1: seq} for _ in inputs),), optimize=True)
    model.eval()
    log.debug("exporter output:\n%s", chatter.getvalue())
    onnx.checker.check_model(str(path))
    graph = onnx.load(str(path), load_external_data=False).graph
    def dims(v: Any) -> list:
        return [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
    return {"exporter": "torch.onnx.export(dynamo=True)", "opset": opset,
            "export_seconds": round(time.perf_counter() - t0, 1),
            "inputs": {i.name: dims(i) for i in graph.input}, "outputs": {o.name: dims(o) for o in graph.output}}


def quantize_int8(src: Path, dst: Path, feed: dict[str, np.ndarray]) -> dict[str, Any]:
    """Dynamic int8 quantization with QUANT_SETTINGS of src's fused graph (onnx_fusion; src itself when fusion
    fails its check) into dst. Returns the settings and the fusion report."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    fused = dst.with_name(dst.stem + ".fused.tmp.onnx")
    with _quiet_loggers("onnxscript", "onnx_ir"):
        fusion = fuse_for_ort(src, fused, feed)
    try:
        with _quiet_loggers(""):  # the quantizer logs every tensor (INFO) and a pre-processing hint on the root logger
            quantize_dynamic(str(fused if fusion["used"] else src), str(dst), weight_type=QuantType.QInt8,
                             op_types_to_quantize=QUANT_SETTINGS["op_types_to_quantize"],
                             per_channel=QUANT_SETTINGS["per_channel"], reduce_range=QUANT_SETTINGS["reduce_range"],
                             extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})  # types of fused ops
    finally:
        fused.unlink(missing_ok=True)
    return {**QUANT_SETTINGS, "fusion": fusion}


def export_checkpoint(checkpoint: Path | str, fmt: str = "onnx", quantize: Optional[str] = None,
                      data_dir: Optional[Path] = None, max_eval_samples: Optional[int] = None,
                      verify: bool = True, latency_runs: int = 50, latency_threads: tuple[int, ...] = (1, 2),
                      latency_tokens: tuple[int, ...] = (16, 32)) -> dict[str, Any]:
    """Export checkpoint to DIR/onnx, optionally quantize, verify against PyTorch, write DIR/onnx/export.json.

    Returns the report written to export.json. HarnessError (one line) for T5 checkpoints, unknown formats and
    missing packages.
    """
    from . import verify as verify_mod

    if fmt not in FORMATS:
        raise HarnessError(f"export: unknown --format '{fmt}' (expected onnx)")
    if quantize is not None and quantize not in QUANTIZE:
        raise HarnessError(f"export: unknown --quantize '{quantize}' (expected int8)")
    folder = Path(checkpoint)
    adapter, model = load_checkpoint(folder, backend="torch")
    if onnx_outputs(adapter) is None:
        raise HarnessError(f"export: {folder}: ONNX export is not supported for a {type(adapter).__name__} "
                           f"checkpoint ({adapter.task.kind}); it supports {SUPPORTED}")
    _require_onnx()
    out_dir = folder / ONNX_DIR
    out_dir.mkdir(exist_ok=True)
    fp32, int8 = out_dir / FP32_FILE, out_dir / INT8_FILE
    int8.unlink(missing_ok=True)  # a stale int8 file would be preferred by backend auto
    log.info("exporting %s to %s", folder, fp32)
    report: dict[str, Any] = {"checkpoint": str(folder), "task": adapter.task.name, "kind": adapter.task.kind,
                              "created_at": results.now(), "versions": versions(),
                              **export_model(adapter, model, fp32), "files": {"fp32": FP32_FILE}}
    if quantize == "int8":
        log.info("quantizing to %s", int8)
        report["quantization"] = quantize_int8(fp32, int8, check_feed(adapter))
        report["files"]["int8"] = INT8_FILE
    report["file_mb"] = {k: round((out_dir / v).stat().st_size / 2**20, 2) for k, v in report["files"].items()}
    if verify:
        files = {k: out_dir / v for k, v in report["files"].items()}
        report["verification"] = verify_mod.verify(
            folder, adapter, model, files, onnx_outputs(adapter), data_dir=data_dir,
            max_eval_samples=max_eval_samples, latency_runs=latency_runs, latency_threads=latency_threads,
            latency_tokens=latency_tokens)
    results.write_json(out_dir / "export.json", report)
    log.info("wrote %s", out_dir / "export.json")
    return report


def export_summary(report: dict[str, Any]) -> str:
    """A short plain-text table of an export report (files, logit difference, scores, latency)."""
    onnx_dir = Path(report["checkpoint"]) / "onnx"
    lines = [f"exported {report['task']} ({report['kind']}) with opset {report['opset']}: "
             + ", ".join(f"{onnx_dir / f} ({report['file_mb'][k]} MB)" for k, f in report["files"].items()),
             f"report: {onnx_dir / 'export.json'}"]
    v = report.get("verification") or {}
    backends = ["torch"] + [f"onnx_{k}" for k in report["files"]]
    if "main_score" in v:
        lines.append(f"data: {v['data']}")
        lines.append("max |logit - torch|: " + ", ".join(f"{k} {d:.2e}" for k, d in v["max_abs_logit_diff"].items()))
        lines.append("main score:         " + ", ".join(f"{k} {v['main_score'][k]:.2f}" for k in backends))
        if "int8_minus_fp32_points" in v:
            lines.append(f"int8 - fp32:        {v['int8_minus_fp32_points']:+.2f} points")
    lat = v.get("latency_ms_p50") or {}
    for key in [k for k in lat if k.startswith("threads_")]:
        for n, row in lat[key].items():
            lines.append(f"p50 ms, {key.replace('_', ' ')}, {n.replace('_', ' ')}: "
                         + ", ".join(f"{k} {row[k]:.2f}" for k in backends if k in row))
    lines += [f"note: {n}" for n in v.get("notes", [])]
    return "\n".join(lines)
