"""Side-by-side comparison of 2-4 checkpoints of one task from their saved test predictions: the examples they
disagree on, and who was right (running a live input through each checkpoint is the app's playground)."""
from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any, Optional, Sequence

import pandas as pd

from harness.kinds import InputError, get_kind
from harness.results import read_predictions

from .data import AppData, task_spec
from .significance import example_correct

MIN_MODELS, MAX_MODELS = 2, 4


def checked_labels(labels: Sequence[str]) -> list[str]:
    labels = list(dict.fromkeys(labels or []))
    if not MIN_MODELS <= len(labels) <= MAX_MODELS:
        raise InputError(f"choose {MIN_MODELS} to {MAX_MODELS} checkpoints to compare (got {len(labels)})")
    return labels


def predictions_for(data: AppData, checkpoint_rel: str) -> Optional[list[dict]]:
    """The saved test predictions that belong to a listed checkpoint (same job key and seed)."""
    parts = PurePosixPath(checkpoint_rel).parts
    if len(parts) < 2 or parts[0] != "checkpoints" or ".." in parts:
        return None
    path = data.root.joinpath("results", *parts[1:-1], f"{parts[-1]}.predictions.jsonl.gz")
    try:
        return read_predictions(path)
    except (OSError, ValueError, EOFError):
        return None


def show(kind: str, value: Any, inputs: Optional[dict] = None) -> str:
    """A prediction or gold value as short text, as its task kind shows it next to the example's inputs."""
    return get_kind(kind).show_example(value, inputs or {})


def input_text(inp: dict) -> str:
    parts = []
    for k, v in inp.items():
        v = "".join(v) if isinstance(v, list) and all(len(str(t)) == 1 for t in v) else (
            " ".join(map(str, v)) if isinstance(v, list) else str(v))
        parts.append(f"{k}: {v}")
    text = " / ".join(parts)
    return text if len(text) <= 300 else text[:297] + "..."


def right_choices(labels: Sequence[str]) -> list[str]:
    """Values for the 'who was right' filter."""
    return ["any", "none right"] + [f"{lab} right" for lab in labels] + [f"only {lab} right" for lab in labels]


def disagreements(data: AppData, task: str, labels: Sequence[str], right: str = "any",
                  limit: int = 500) -> tuple[pd.DataFrame, str]:
    """Test examples (joined by id) where the chosen checkpoints' predictions differ, with gold and who was right.

    ``right``: 'any', 'none right', '<label> right' or 'only <label> right'. Returns (table, one-line summary)."""
    labels = checked_labels(labels)
    listed = data.checkpoints.get(task, {})
    preds: dict[str, dict[str, dict]] = {}
    for lab in labels:
        if lab not in listed:
            raise InputError(f"checkpoint '{lab}' is not listed in the results for task '{task}'")
        rows = predictions_for(data, listed[lab])
        if rows is None:
            raise InputError(f"no saved predictions for '{lab}'")
        preds[lab] = {r["id"]: r for r in rows}
    spec = task_spec(data, task)
    ids = sorted(set.intersection(*(set(p) for p in preds.values())))
    out = []
    for i in ids:
        values = [preds[lab][i]["prediction"] for lab in labels]
        if all(v == values[0] for v in values[1:]):
            continue
        gold = preds[labels[0]][i]["gold"]
        ok = {lab: bool(example_correct(spec.kind, preds[lab][i]["prediction"], gold, spec)) for lab in labels}
        if right == "none right" and any(ok.values()):
            continue
        if right.startswith("only ") and right.endswith(" right"):
            who = right[5:-6]
            if not ok.get(who) or any(v for lab, v in ok.items() if lab != who):
                continue
        elif right.endswith(" right") and right != "none right":
            if not ok.get(right[:-6]):
                continue
        inputs = preds[labels[0]][i].get("input", {})
        row = {"id": i, "input": input_text(inputs), "gold": show(spec.kind, gold, inputs)}
        for lab in labels:
            row[lab] = ("✓ " if ok[lab] else "✗ ") + show(spec.kind, preds[lab][i]["prediction"], inputs)
        out.append(row)
    total = len(out)
    table = pd.DataFrame(out[:limit], columns=["id", "input", "gold", *labels])
    summary = (f"{total} of {len(ids)} shared test examples shown (predictions differ"
               f"{'' if right == 'any' else ', filter: ' + right})" + (f"; first {limit} listed" if total > limit
                                                                       else ""))
    return table, summary
