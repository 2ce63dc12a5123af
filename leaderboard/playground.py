"""Playground logic: parse a user's input for a task kind, run a listed checkpoint, format the output.

Only checkpoints listed in the results can be loaded; loaded ones live in a small LRU cache; inputs are capped.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable, Optional

from harness.checkpoint import backend_name, load_checkpoint
from harness.errors import HarnessError
from harness.results import read_predictions
from harness.text import join_tokens, split_tokens

from .data import AppData, ensure_checkpoint

MAX_CHARS = 2000
CACHE_SIZE = 4
# The two input boxes per task kind: (first box label, second box label or None).
FIELDS: dict[str, tuple[str, Optional[str]]] = {
    "single_cls": ("text", None), "pair_cls": ("text_a", "text_b"), "regression": ("text_a", "text_b"),
    "ner": ("text", None), "extractive_qa": ("context", "question"),
}


class InputError(ValueError):
    """A problem with what the user typed or chose; shown as one line, the app keeps serving."""


def _check(name: str, value: Optional[str]) -> str:
    value = (value or "").strip()
    if not value:
        raise InputError(f"'{name}' is empty: type some text (or pick an example)")
    if len(value) > MAX_CHARS:
        raise InputError(f"'{name}' is {len(value):,} characters; the playground takes at most {MAX_CHARS:,}")
    return value


def build_example(kind: str, first: Optional[str], second: Optional[str] = None) -> dict[str, Any]:
    """The example dict an adapter predicts on, from the two input boxes; InputError when empty or too long."""
    if kind not in FIELDS:
        raise InputError(f"task kind '{kind}' is not supported in the playground")
    a_name, b_name = FIELDS[kind]
    a = _check(a_name, first)
    ex: dict[str, Any] = {"id": "playground"}
    if kind == "ner":
        ex["tokens"] = split_tokens(a)
    else:
        ex[a_name] = a
    if b_name:
        ex[b_name] = _check(b_name, second)
    return ex


def entity_spans(tokens: list[str], tags: list[str]) -> list[tuple[str, Optional[str]]]:
    """(text, entity type or None) segments for gr.HighlightedText from BIO tags over words."""
    from seqeval.metrics.sequence_labeling import get_entities

    segs: list[tuple[str, Optional[str]]] = []
    pos = 0
    for typ, start, end in sorted(get_entities(list(tags)), key=lambda e: e[1]):
        if start > pos:
            segs.append((join_tokens(tokens[pos:start]) + " ", None))
        segs.append((join_tokens(tokens[start:end + 1]), typ))
        pos = end + 1
    if pos < len(tokens):
        segs.append((" " + join_tokens(tokens[pos:]), None))
    return segs


def format_prediction(kind: str, example: dict, pred: dict) -> dict[str, Any]:
    """{'text': one-line summary, 'label': {name: prob} or None, 'highlight': segments or None}."""
    out: dict[str, Any] = {"text": "", "label": None, "highlight": None}
    p = pred.get("prediction")
    if kind in ("single_cls", "pair_cls"):
        if pred.get("scores"):
            out["label"] = dict(pred["scores"])
        gen = pred.get("generated")
        out["text"] = f"prediction: {p}" + (f" (generated: '{gen}')" if gen is not None else "")
        if p is None:
            out["text"] = f"prediction: unparseable generation '{gen}' (counted wrong in scores)"
    elif kind == "regression":
        gen = pred.get("generated")
        out["text"] = (f"prediction: {p:.3f}" if isinstance(p, (int, float)) else f"prediction: unparseable {gen!r}")
    elif kind == "ner":
        out["highlight"] = entity_spans(example["tokens"], p or [])
        ents = [f"{t} ({lab})" for t, lab in out["highlight"] if lab]
        out["text"] = "entities: " + (", ".join(ents) if ents else "none found")
    elif kind == "extractive_qa":
        sc = pred.get("scores") or {}
        s, e = sc.get("start", 0), sc.get("end", 0)
        ctx = example["context"]
        out["highlight"] = [(ctx[:s], None), (ctx[s:e], "answer"), (ctx[e:], None)] if e > s else [(ctx, None)]
        out["text"] = f"answer: '{p}'" if p else "answer: (no span found)"
        gen = pred.get("generated")
        if gen is not None:  # T5 generates the answer: say so, and whether the context holds it verbatim
            out["text"] = (f"answer: '{p}' (generated: '{gen}')" if e > s else
                           f"answer: '{p}' (generated; not a span of the context)" if p else
                           "answer: (no span found: nothing generated in any window)")
    return out


class CheckpointCache:
    """A bounded LRU cache of loaded checkpoints: path -> (adapter, model)."""

    def __init__(self, maxsize: int = CACHE_SIZE, loader: Callable[[Path], tuple[Any, Any]] = load_checkpoint):
        self.maxsize, self.loader = maxsize, loader
        self._items: OrderedDict[str, tuple[Any, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, path: Path) -> tuple[Any, Any]:
        key = str(Path(path).resolve())
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        item = self.loader(Path(path))  # outside the lock: loading is slow
        with self._lock:
            self._items[key] = item
            self._items.move_to_end(key)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)
        return item

    def __len__(self) -> int:
        return len(self._items)

    def keys(self) -> list[str]:
        return list(self._items)


class Playground:
    """Runs listed checkpoints of an AppData on user input."""

    def __init__(self, data: AppData, cache: Optional[CheckpointCache] = None):
        self.data = data
        self.cache = cache if cache is not None else CheckpointCache()

    def kind(self, task: str) -> str:
        if task not in self.data.task_info:
            raise InputError(f"task '{task}' has no results")
        return self.data.task_info[task]["kind"]

    def resolve(self, task: str, choice: Optional[str]) -> Path:
        """A checkpoint label (or a listed relative path) -> its local folder; never an unlisted path."""
        if not choice:
            raise InputError("choose a checkpoint")
        listed = self.data.checkpoints.get(task, {})
        rel = listed.get(choice)
        if rel is None and choice in self.data.allowed_paths():
            rel = choice
        if rel is None:
            raise InputError(f"checkpoint '{choice}' is not listed in the results for task '{task}'")
        path = ensure_checkpoint(self.data.root, rel)
        if not path.is_dir():
            raise InputError(f"checkpoint '{choice}' is listed in the results but missing on disk ({rel}); "
                             "it may have been pruned by --keep-checkpoints")
        return path

    def load(self, task: str, choice: str) -> tuple[Any, Any]:
        path = self.resolve(task, choice)
        try:
            return self.cache.get(path)
        except HarnessError as e:
            raise InputError(str(e)) from None

    def predict(self, task: str, choice: str, first: Optional[str], second: Optional[str] = None
                ) -> tuple[dict[str, Any], float]:
        """(formatted prediction, latency in ms of the prediction itself) for one input.

        The formatted prediction's 'backend' says what answered: 'torch', 'onnx fp32' or 'onnx int8' (checkpoints
        load with backend auto: ONNX on CPU when an export exists, see `python -m harness export`)."""
        kind = self.kind(task)
        ex = build_example(kind, first, second)
        adapter, model = self.load(task, choice)
        t0 = time.perf_counter()
        pred = adapter.predict(model, [ex], 1)[0]
        ms = (time.perf_counter() - t0) * 1000
        return {**format_prediction(kind, ex, pred), "backend": backend_name(model)}, ms


def example_inputs(data: AppData, task: str, n: int = 5) -> list[list[str]]:
    """Up to n [first, second] input pairs taken from the task's saved test predictions."""
    kind = data.task_info.get(task, {}).get("kind")
    if kind not in FIELDS or data.runs.empty:
        return []
    a_name, b_name = FIELDS[kind]
    for rel in data.runs[data.runs.task == task]["path"]:
        p = data.root / rel
        try:
            rows = read_predictions(p.with_name(p.stem + ".predictions.jsonl.gz"))
        except (OSError, ValueError, EOFError):
            continue
        out = []
        for r in rows[:n]:
            inp = r.get("input", {})
            first = join_tokens(inp["tokens"]) if kind == "ner" else inp.get(a_name, "")
            out.append([first, inp.get(b_name, "") if b_name else ""])
        return out
    return []
