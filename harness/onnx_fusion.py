"""Transformer fusions for the int8 ONNX file: fused attention (quantized to QAttention), SkipLayerNorm, BiasGelu.

onnxscript's ORT fusions rewrite the dynamo-exported graph into ONNX Runtime's com.microsoft transformer ops. Their
fused Attention takes the padding mask as an additive `attention_bias`, a form ORT's quantizer leaves in fp32. In an
encoder with absolute positions that bias is only the padding mask, so each Attention is rewired to read the raw 0/1
`attention_mask` as its `mask_index` instead, which the quantizer turns into QAttention. The rewired graph is kept
only when it reproduces the plain export on a padded batch; otherwise the plain export is quantized as before.
The plain fp32 file (model.onnx) is never changed: it stays standard ONNX that any runtime can load.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)
MS_DOMAIN = "com.microsoft"
MASK_INPUT = "attention_mask"
MASK_INDEX, ATTENTION_BIAS = 3, 5  # input positions of com.microsoft Attention
TOLERANCE = 1e-3  # max |output difference| between the plain and the fused fp32 graphs on the check batch


def _rewire_attention_masks(model: Any) -> int:
    """Point every fused Attention at the int32 attention_mask (mask_index) instead of its additive bias.

    Also drops `qkv_hidden_sizes` when q, k and v are the same size (QAttention does not take it). Returns the
    number of Attention nodes changed; 0 when the graph has no attention_mask input."""
    from onnx import TensorProto, helper

    graph = model.graph
    if MASK_INPUT not in {i.name for i in graph.input}:
        return 0
    mask32 = f"{MASK_INPUT}_int32"
    changed = 0
    for node in graph.node:
        if node.op_type != "Attention" or node.domain != MS_DOMAIN:
            continue
        ins = list(node.input) + [""] * (ATTENTION_BIAS + 1 - len(node.input))
        ins[MASK_INDEX], ins[ATTENTION_BIAS] = mask32, ""
        while ins and not ins[-1]:
            ins.pop()
        del node.input[:]
        node.input.extend(ins)
        keep = [a for a in node.attribute if not (a.name == "qkv_hidden_sizes" and len(set(a.ints)) == 1)]
        del node.attribute[:]
        node.attribute.extend(keep)
        changed += 1
    if changed:
        graph.node.insert(0, helper.make_node("Cast", [MASK_INPUT], [mask32], to=TensorProto.INT32,
                                              name="attention_mask_to_int32"))
    return changed


def _outputs(path: Path, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = {i.name for i in session.get_inputs()}
    return session.run(None, {k: v for k, v in feed.items() if k in names})


def fuse_for_ort(src: Path, dst: Path, check_feed: dict[str, np.ndarray]) -> dict[str, Any]:
    """Write the fused graph of src to dst when it checks out against src on check_feed (a padded batch).

    Returns {"used": bool, "fusions": {name: count}, "attention_mask_rewired": n, "max_abs_diff": d, "reason": ...};
    when "used" is False, dst is not written and the caller quantizes src."""
    import onnx
    import onnx_ir as ir
    from onnxscript import optimizer
    from onnxscript.rewriter.ort_fusions import optimize_for_ort

    report: dict[str, Any] = {"used": False, "method": "onnxscript.rewriter.ort_fusions.optimize_for_ort"}
    try:
        model = ir.load(str(src))
        model, counts = optimize_for_ort(model)
        report["fusions"] = {k: v for k, v in counts.items() if v}
        proto = ir.serde.serialize_model(model)
        report["attention_mask_rewired"] = _rewire_attention_masks(proto)
        model = ir.serde.deserialize_model(proto)
        optimizer.remove_unused_nodes(model)  # the bias computation the rewiring left unused
        ir.save(model, str(dst))
        onnx.checker.check_model(str(dst))
        plain, fused = _outputs(src, check_feed), _outputs(dst, check_feed)
    except Exception as e:  # noqa: BLE001 - fusion is an optimization: any failure falls back to the plain graph
        report["reason"] = f"fusion failed: {type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}"
        log.warning("export: %s; quantizing the plain graph", report["reason"])
        dst.unlink(missing_ok=True)
        return report
    diff = max(float(np.max(np.abs(a - b))) if a.size else 0.0 for a, b in zip(plain, fused))
    report["max_abs_diff"] = diff
    if not diff <= TOLERANCE:
        report["reason"] = f"fused graph differs from the plain export by {diff:.2e} (> {TOLERANCE})"
        log.warning("export: %s; quantizing the plain graph", report["reason"])
        dst.unlink(missing_ok=True)
        return report
    report["used"] = True
    return report
