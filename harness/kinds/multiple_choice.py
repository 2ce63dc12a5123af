"""Multiple choice: context + question + a list of choices -> the index of the right choice (C3).

Examples keep their own number of choices (C3 has 2 to 4); nothing is padded in the data. Encoders score every
choice with a multiple-choice head (padded choices of a batch are masked out: harness/adapters/choice.py); T5 ranks
the choices by likelihood. The gold value and a prediction are choice indices; accuracy compares them.
"""
from __future__ import annotations

from typing import Any, Optional

from ..errors import HarnessError, LeftOut
from ..specs import Source, TaskSpec
from .base import Evidence, InputError, TaskKind, register

CHOICES_BOX = "choices (one per line)"
NO_CHOICE = "(none)"  # a prediction that is no choice's index


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class DuplicateChoice(ValueError):
    """A question that gives one choice twice."""


DROPPED = "a choice given twice (duplicate_choices: drop)"


def check_choices(value: Any) -> list[str]:
    """A list of at least two strings, else ValueError saying what was expected (a question with one choice has
    nothing to choose: every model would score it right)."""
    if not isinstance(value, list) or not value or not all(isinstance(c, str) for c in value):
        raise ValueError(f"expected a non-empty list of strings, got {_short(value)}")
    if len(value) < 2:
        raise ValueError(f"a question needs at least 2 choices, got 1 ({_short(value)}): every model would be right")
    twice = sorted({c for c in value if value.count(c) > 1})
    if twice:
        raise DuplicateChoice(f"choice {twice[0]!r} is given {value.count(twice[0])} times in {_short(value)}: a "
                              "model that picks another copy of the answer would be scored wrong")
    return value


def check_label(value: Any, n_choices: int) -> int:
    """The answer's index in the choices (an integer, or a string of digits), else ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, str)) or \
            (isinstance(value, str) and not value.strip().isdigit()):
        raise ValueError(f"expected the index of the answer in choices (an integer), got {_short(value)}")
    index = int(value)
    if not 0 <= index < n_choices:
        raise ValueError(f"{index} is out of range for {n_choices} choices (expected 0 to {n_choices - 1})")
    return index


class MultipleChoice(TaskKind):
    """Fields context, question, choices; gold field label (an index into choices)."""

    def canonical(self, ex: dict, task: "TaskSpec", src: "Source", where: str) -> dict:
        try:
            ex["choices"] = check_choices(ex["choices"])
        except DuplicateChoice as e:
            if task.duplicate_choices == "drop":
                raise LeftOut(DROPPED) from None
            raise HarnessError(f"{where}: field '{src.columns.get('choices', 'choices')}': {e}; set "
                               f"duplicate_choices: drop in the task YAML to leave such questions out") from None
        except ValueError as e:
            raise HarnessError(f"{where}: field '{src.columns.get('choices', 'choices')}': {e}") from None
        try:
            ex["label"] = check_label(ex["label"], len(ex["choices"]))
        except ValueError as e:
            raise HarnessError(f"{where}: field '{src.columns.get('label', 'label')}': {e}") from None
        return ex

    def check_input(self, fld: str, value: Any) -> Any:
        if fld == "choices":
            try:
                return check_choices(value)
            except ValueError as e:
                raise ValueError(f"field 'choices': {e}") from None
        return super().check_input(fld, value)

    def evidence(self, task: "TaskSpec", rows: list[dict]) -> Evidence:
        """The gold choice's position against the predicted one (a position bias shows off the diagonal) and
        accuracy by the number of choices."""
        import pandas as pd

        def pos(v: Any) -> str:
            return str(v) if isinstance(v, int) and not isinstance(v, bool) else NO_CHOICE

        golds, preds = [pos(r["gold"]) for r in rows], [pos(r["prediction"]) for r in rows]
        matrix = pd.crosstab(pd.Series(golds, name="gold"), pd.Series(preds, name="prediction"))
        order = sorted(matrix.columns, key=lambda c: (c == NO_CHOICE, int(c) if c.isdigit() else 0))
        n_choices = [len((r.get("input") or {}).get("choices") or []) for r in rows]
        frame = pd.DataFrame({"choices": n_choices, "correct": [float(g == p) for g, p in zip(golds, preds)]})
        by_n = frame.groupby("choices", as_index=False).agg(n=("correct", "size"), accuracy=("correct", "mean"))
        return Evidence({"by number of choices": by_n}, matrix[order], "gold choice x predicted choice (position)")

    def error_classes(self, gold: Any) -> list[str]:
        return [str(gold)]

    def show_example(self, value: Any, inputs: dict) -> str:
        """'2: 工作': the index and the text of the choice it points at."""
        choices = inputs.get("choices") or []
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(choices):
            return f"{value}: {choices[value]}"
        return self.show(value)

    def build_input(self, *values: Optional[str]) -> dict[str, Any]:
        """Context, question, and the choices box split into one choice per non-empty line."""
        ex = super().build_input(*values)
        ex["choices"] = [line.strip() for line in ex["choices"].splitlines() if line.strip()]
        if len(ex["choices"]) < 2:
            raise InputError(f"'{CHOICES_BOX}' has one choice: type at least two, one per line")
        return ex

    def form_values(self, inputs: dict) -> list[str]:
        choices = inputs.get("choices") or []
        return [str(inputs.get("context", "")), str(inputs.get("question", "")),
                "\n".join(map(str, choices)) if isinstance(choices, list) else str(choices)]

    def format_prediction(self, example: dict, pred: dict) -> dict[str, Any]:
        """The chosen choice as text; every choice's probability (as '<index>: <text>') for the label view."""
        scores = pred.get("scores") or {}
        choices = example["choices"]
        label = {f"{i}: {c}": float(scores[str(i)]) for i, c in enumerate(choices) if str(i) in scores}
        return {"text": f"answer: {self.show_example(pred.get('prediction'), example)}",
                "label": label or None, "highlight": None}


MULTIPLE_CHOICE = register(MultipleChoice(
    name="multiple_choice", playground_views=("label",), fields=("context", "question", "choices", "label"), gold_field="label",
    metrics=("accuracy",),
    adapters={("encoder", "head"): "harness.adapters.choice:ChoiceAdapter",
              ("seq2seq", "head"): "harness.adapters.choice:Seq2SeqChoiceAdapter"},
    form=("context", "question", CHOICES_BOX), form_fields={CHOICES_BOX: "choices"}, length_field="context",
    hub_task_type="multiple-choice", pipeline_tag=None,
    carve_links=("context",),  # questions ("关于这段对话，可以知道什么？") and choices recur across passages
    description="context + question + choices -> the index of the right choice"))
