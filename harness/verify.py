"""Check an ONNX export against its PyTorch checkpoint: logit differences, task scores, CPU latency.

Everything runs through the adapter's own predict (same tokenization, length-sorted batches, padding to a multiple
of 8, decoding), so the backends are compared on exactly the inputs the harness feeds them.
"""
from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any, Optional

import torch

from . import catalog, metrics
from .data import load_task_data, subset_indices
from .errors import HarnessError
from .onnx_model import OnnxModel

log = logging.getLogger(__name__)
FILLERS = ("the", "a", "is", "的", "是", "x", "1")


class Recorder:
    """Wraps a model; keeps every call's output tensors (float32, CPU) for comparison across backends."""

    def __init__(self, model: Any, outputs: tuple[str, ...]):
        self.model, self.outputs, self.calls = model, outputs, []

    def __call__(self, **batch: torch.Tensor) -> Any:
        out = self.model(**batch)
        self.calls.append([getattr(out, n).detach().float().cpu() for n in self.outputs])
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)


def eval_examples(folder: Path, adapter: Any, data_dir: Optional[Path], max_eval_samples: Optional[int]
                  ) -> tuple[Optional[list[dict]], str]:
    """The checkpoint task's evaluated (test) split, subset like `run --max-eval-samples`; (None, why) if unloadable."""
    task = adapter.task
    entry = catalog.discover().get(task.name)
    task_file = entry.path if entry is not None else folder / "harness_task.json"
    try:
        data = load_task_data(task, task_file, data_dir, need_validation=False)
    except HarnessError as e:
        return None, f"task data not loadable, accuracy skipped ({e})"
    test = data.splits["test"]
    picked = [test[i] for i in subset_indices(len(test), max_eval_samples)]
    return picked, f"{task.name} test split ({data.source.get('dir') or data.source.get('path')}), " \
                   f"{len(picked)} of {len(test)} examples"


def _n_tokens(adapter: Any, ex: dict) -> int:
    words = adapter.kind.word_fields
    if words:  # pre-split words (NER)
        return len(adapter.tok(ex[words[0]], is_split_into_words=True)["input_ids"])
    return len(adapter.tok(*adapter.encode_texts(ex))["input_ids"])


def _filler(adapter: Any, pool: list[dict]) -> str:
    """A word that is exactly one known token, also when repeated (most frequent words of the data first)."""
    words: Counter = Counter()
    for ex in pool[:200]:
        for f in ("text", "text_a", "text_b", "context", "question", "tokens"):
            v = ex.get(f)
            words.update(v if isinstance(v, list) else (v.split() if isinstance(v, str) else []))
    tok = adapter.tok
    candidates = [w for w, _ in words.most_common(50)] + list(FILLERS)
    for allow_unk in (False, True):  # a known word if there is one; [UNK] still counts as one token
        for w in candidates:
            ids = tok(" ".join([w] * 3), add_special_tokens=False)["input_ids"]
            if len(ids) == 3 and len(set(ids)) == 1 and (allow_unk or ids[0] != tok.unk_token_id):
                return w
    raise HarnessError("verify: found no one-token word to build fixed-length inputs from")


def example_of_length(adapter: Any, n: int, pool: list[dict]) -> Optional[dict]:
    """An input of exactly n tokens (special tokens included) for the adapter's task kind, or None."""
    w = _filler(adapter, pool)
    kind = adapter.kind
    grow = kind.length_field
    fields = [f for f in kind.input_fields if f != grow]

    def build(k: int) -> dict:  # one word in every other input field, k words in the growing one
        ex: dict[str, Any] = {f: w for f in fields}
        ex[grow] = [w] * k if grow in kind.word_fields else " ".join([w] * k)
        return ex
    k = n - (_n_tokens(adapter, build(1)) - 1)
    if k < 1 or _n_tokens(adapter, build(k)) != n:
        return None
    return build(k)


def _predict(adapter: Any, model: Any, examples: list[dict], outputs: tuple[str, ...]) -> tuple[list, list]:
    rec = Recorder(model, outputs)
    preds = adapter.predict(rec, examples, adapter.cfg.eval_batch_size)
    return preds, rec.calls


def _max_diff(a: list, b: list) -> float:
    return max(float((x - y).abs().max()) for ca, cb in zip(a, b) for x, y in zip(ca, cb))


def _latencies(adapter: Any, models: dict[str, Any], examples: dict[int, dict], runs: int) -> dict[str, Any]:
    return {f"{n}_tokens": {name: adapter.latency_ms(m, ex, runs=runs, warmup=5) for name, m in models.items()}
            for n, ex in examples.items()}


def verify(folder: Path, adapter: Any, model: Any, files: dict[str, Path], outputs: tuple[str, ...],
           data_dir: Optional[Path] = None,
           max_eval_samples: Optional[int] = None, latency_runs: int = 50, latency_threads: tuple[int, ...] = (1, 2),
           latency_tokens: tuple[int, ...] = (16, 32)) -> dict[str, Any]:
    """Figures for export.json: max |logit| difference ONNX fp32 vs PyTorch, main scores of every backend,
    int8 - fp32 in points, and p50 single-input CPU latency at fixed token counts and thread counts.

    files: {"fp32": path, ["int8": path]}; outputs: the model output names the adapter reads."""
    out: dict[str, Any] = {"notes": []}
    examples, where = eval_examples(folder, adapter, data_dir, max_eval_samples)
    out["data"] = where
    if examples is None:
        log.warning("verify: %s", where)
        out["notes"].append(where)
    else:
        golds = [adapter.gold(ex) for ex in examples]
        runs = {"torch": _predict(adapter, model, examples, outputs)}
        for name, path in files.items():
            runs[f"onnx_{name}"] = _predict(adapter, OnnxModel(path, model.config), examples, outputs)
        ref_preds, ref_logits = runs["torch"]
        out["max_abs_logit_diff"] = {k: _max_diff(ref_logits, v[1]) for k, v in runs.items() if k != "torch"}
        out["prediction_agreement_with_torch"] = {
            k: round(sum(a["prediction"] == b["prediction"] for a, b in zip(ref_preds, v[0])) / len(examples), 6)
            for k, v in runs.items() if k != "torch"}
        inputs = [adapter.inputs(ex) for ex in examples]
        out["scores"] = {k: metrics.compute(adapter.task, [p["prediction"] for p in v[0]], golds, inputs)
                         for k, v in runs.items()}
        out["main_score"] = {k: round(v["main"] * 100, 3) for k, v in out["scores"].items()}
        if "onnx_int8" in out["main_score"]:
            out["int8_minus_fp32_points"] = round(out["main_score"]["onnx_int8"] - out["main_score"]["onnx_fp32"], 3)
        log.info("verify: max |logit diff| %s; main score %s", out["max_abs_logit_diff"], out["main_score"])
    if latency_runs > 0:
        out["latency_ms_p50"] = _latency_table(adapter, model, files, examples or [], latency_runs,
                                               latency_threads, latency_tokens, out["notes"])
    return out


def _latency_table(adapter: Any, model: Any, files: dict[str, Path], pool: list[dict], runs: int,
                   threads: tuple[int, ...], lengths: tuple[int, ...], notes: list[str]) -> dict[str, Any]:
    fixed: dict[int, dict] = {}
    for n in lengths:
        ex = example_of_length(adapter, n, pool)
        if ex is None or n > adapter.cfg.max_length:
            notes.append(f"no {n}-token latency input (max_length {adapter.cfg.max_length})")
            continue
        fixed[n] = ex
    table: dict[str, Any] = {"runs": runs, "method": "median of single-input predict (tokenize + run + decode) "
                             "after 5 warm-up runs; inputs of exactly N tokens including special tokens"}
    before = torch.get_num_threads()
    try:
        for t in threads:
            torch.set_num_threads(t)
            models = {"torch": model, **{f"onnx_{k}": OnnxModel(p, model.config, threads=t) for k, p in files.items()}}
            table[f"threads_{t}"] = _latencies(adapter, models, fixed, runs)
            log.info("verify: latency p50 (ms), %d thread(s): %s", t, table[f"threads_{t}"])
    finally:
        torch.set_num_threads(before)
    return table
