"""Playground logic: a task kind's form (harness/kinds) in, a listed checkpoint run, the kind's formatted output;
the Compare tab's live input through 2-4 checkpoints (run_compare).

Only checkpoints listed in the results can be loaded: local results, folders inside the results folder; results from
the Hub, the pushed ones (checkpoints.json), downloaded on first use. Loaded ones live in a small LRU cache; inputs
are capped.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import pandas as pd

from harness.checkpoint import backend_name, load_checkpoint
from harness.errors import HarnessError
from harness.kinds import REGISTRY, InputError, TaskKind, load_all
from harness.kinds.base import MAX_CHARS  # noqa: F401 - the playground's input cap, shown in the app
from harness.results import read_predictions
from leaderboard.compare import checked_labels
from leaderboard.data import AppData, ensure_checkpoint, inside_results

from .source import downloaded_checkpoint, fetch_checkpoint

CACHE_SIZE = 4


def build_example(kind: str, *values: Optional[str]) -> dict[str, Any]:
    """The example dict an adapter predicts on, from the input boxes' values (one per box of the kind's form;
    extra values are ignored); InputError when a box is empty or too long."""
    return _kind(kind).build_input(*values)


def format_prediction(kind: str, example: dict, pred: dict) -> dict[str, Any]:
    """{'text': one-line summary, 'label': {name: prob} or None, 'highlight': segments or None}."""
    return _kind(kind).format_prediction(example, pred)


def form(kind: Optional[str]) -> tuple[str, ...]:
    """The playground's input boxes for a kind: one label per box."""
    return _kind(kind).form if kind in load_all() else ("text",)


def playground_views(kind: Optional[str]) -> tuple[str, ...]:
    """What the playground shows of a kind's prediction besides its text (TaskKind.playground_views)."""
    return _kind(kind).playground_views if kind in load_all() else ()


def max_boxes() -> int:
    """The most input boxes any registered kind's form has (the app builds this many and hides the unused)."""
    return max(len(k.form) for k in load_all().values())


def _kind(name: Optional[str]) -> TaskKind:
    if name not in load_all():
        raise InputError(f"task kind '{name}' is not supported in the playground")
    return REGISTRY[name]


class CheckpointCache:
    """A bounded LRU cache of loaded checkpoints: path -> (adapter, model)."""

    def __init__(self, maxsize: int = CACHE_SIZE, loader: Callable[[Path], tuple[Any, Any]] = load_checkpoint):
        self.maxsize, self.loader = maxsize, loader
        self._items: OrderedDict[str, tuple[Any, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._load_lock = threading.Lock()  # one load at a time: from_pretrained is not thread-safe

    def _hit(self, key: str) -> Optional[tuple[Any, Any]]:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            return None

    def get(self, path: Path) -> tuple[Any, Any]:
        """The loaded checkpoint; concurrent first uses of one path load it once (the others wait for it). Loads
        run one at a time (transformers' from_pretrained in parallel threads fails: 'Cannot copy out of meta
        tensor'); cached checkpoints are served meanwhile."""
        key = str(Path(path).resolve())
        hit = self._hit(key)
        if hit is not None:
            return hit
        with self._load_lock:
            hit = self._hit(key)
            if hit is not None:
                return hit
            item = self.loader(Path(path))  # outside the cache lock: loading is slow
            with self._lock:
                self._items[key] = item
                self._items.move_to_end(key)
                while len(self._items) > self.maxsize:
                    self._items.popitem(last=False)
        return item

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, path: object) -> bool:
        return str(Path(str(path)).resolve()) in self._items

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

    def listed(self, task: str, choice: Optional[str]) -> str:
        """A checkpoint label (or a listed record checkpoint field) -> the record's checkpoint field."""
        if not choice:
            raise InputError("choose a checkpoint")
        rel = self.data.checkpoints.get(task, {}).get(choice)
        if rel is None and choice in self.data.allowed_paths():
            rel = choice
        if rel is None:
            raise InputError(f"checkpoint '{choice}' is not listed in the results for task '{task}'")
        return rel

    def pending(self, task: str, choice: Optional[str]) -> str:
        """What the page shows while a prediction starts: 'loading LABEL…' when the checkpoint is not loaded yet
        (downloading first when it is a pushed one not fetched yet), else ''. No network, never raises."""
        try:
            rel = self.listed(task, choice)
        except InputError:
            return ""
        mapping = self.data.mapping
        if mapping is not None:
            entry = mapping.get(rel)
            path = downloaded_checkpoint(entry) if entry else None
            if entry and path is None:
                return f"_loading {choice}… (downloading {entry.get('repo_id')} from the Hub)_"
        else:
            try:
                path = ensure_checkpoint(self.data.root, rel)  # the key `load` caches it under
            except ValueError:
                return ""  # refused when chosen
        return "" if path is not None and path in self.cache else f"_loading {choice}…_"

    def resolve(self, task: str, choice: Optional[str]) -> Path:
        """A checkpoint label (or a listed record checkpoint field) -> its local folder; never an unlisted path.
        From the Hub only pushed checkpoints (in the mapping), fetched here on first use."""
        rel = self.listed(task, choice)
        mapping = self.data.mapping
        if mapping is not None:
            if rel not in mapping:
                raise InputError(f"checkpoint '{choice}' is not published: the results repo's checkpoints.json does "
                                 "not list it (push it with --checkpoints all, or choose another)")
            try:
                return fetch_checkpoint(mapping[rel])
            except HarnessError as e:
                raise InputError(str(e)) from None
        if not inside_results(self.data.root, rel):
            raise InputError(f"checkpoint '{choice}' refused: its result file points outside the results folder "
                             f"('{rel}'); the app loads only checkpoints inside it")
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

    def predict(self, task: str, choice: str, *values: Optional[str]) -> tuple[dict[str, Any], float]:
        """(formatted prediction, latency in ms of the prediction itself) for one input, given as the values of the
        task kind's form boxes.

        The formatted prediction's 'backend' says what answered: 'torch', 'onnx fp32' or 'onnx int8' (checkpoints
        load with backend auto: ONNX on CPU when an export exists, see `python -m harness export`)."""
        kind = self.kind(task)
        ex = build_example(kind, *values)
        adapter, model = self.load(task, choice)
        t0 = time.perf_counter()
        pred = adapter.predict(model, [ex], 1)[0]
        ms = (time.perf_counter() - t0) * 1000
        return {**format_prediction(kind, ex, pred), "backend": backend_name(model)}, ms


def example_inputs(data: AppData, task: str, n: int = 5) -> list[list[str]]:
    """Up to n inputs (one text per form box) taken from the task's saved test predictions."""
    kind = data.task_info.get(task, {}).get("kind")
    if kind not in load_all() or data.runs.empty:
        return []
    for rel in data.runs[data.runs.task == task]["path"]:
        p = data.root / rel
        try:
            rows = read_predictions(p.with_name(p.stem + ".predictions.jsonl.gz"))
        except (OSError, ValueError, EOFError):
            continue
        return [REGISTRY[kind].form_values(r.get("input", {})) for r in rows[:n]]
    return []


def run_compare(pg: Playground, task: str, labels: Sequence[str], *values: Optional[str]) -> pd.DataFrame:
    """One input (the values of the task kind's form boxes) through each chosen checkpoint: model, prediction,
    latency (ms), backend (torch / onnx)."""
    labels = checked_labels(labels)
    build_example(pg.kind(task), *values)  # validate once before loading anything
    rows = []
    for label in labels:
        out, ms = pg.predict(task, label, *values)
        rows.append({"checkpoint": label, "prediction": out["text"], "latency ms": round(ms, 1),
                     "backend": out["backend"]})
    return pd.DataFrame(rows)
