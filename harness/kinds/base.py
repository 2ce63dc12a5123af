"""What a task kind is: one object per kind says everything the rest of the harness asks about it.

A kind module (harness/kinds/<kind>.py) builds one `TaskKind` (or subclass) and registers it. Nothing outside the
kind modules branches on a kind's name: data loading, scoring, adapters, predict, the playground, the comparison
view and the significance tests ask the kind object.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from ..errors import did_you_mean
from ..registry import Registry
from ..specs import Source, TaskSpec
from ..text import join_tokens, split_tokens

if TYPE_CHECKING:  # pandas is heavy: imported where evidence is built
    import pandas as pd

MAX_CHARS = 2000  # longest playground input


class InputError(ValueError):
    """A problem with what a user typed (playground, compare); shown as one line, the app keeps serving."""


def check_text(name: str, value: Optional[str]) -> str:
    """A stripped, non-empty, bounded text from a form box, else InputError naming the box."""
    value = (value or "").strip()
    if not value:
        raise InputError(f"'{name}' is empty: type some text (or pick an example)")
    if len(value) > MAX_CHARS:
        raise InputError(f"'{name}' is {len(value):,} characters; the playground takes at most {MAX_CHARS:,}")
    return value


@dataclass
class Evidence:
    """What a cell's detail view shows of one run's saved predictions beyond its scores, particular to the kind
    (`TaskKind.evidence`): tables by title, and optionally a count matrix (gold in rows, prediction in columns) that
    the view draws as a heatmap."""

    tables: dict[str, "pd.DataFrame"] = field(default_factory=dict)
    matrix: Optional["pd.DataFrame"] = None
    matrix_title: str = ""


@dataclass(frozen=True)
class TaskKind:
    """One task kind: its data record, gold, metrics, adapters, display and playground form.

    fields: canonical fields of an example after the column map (inputs first, then the gold field).
    adapters: (family adapter kind, adapter role) -> "module:Class" of the adapter that serves the kind
    (roles are what methods ask for: "head" = a task head on the model, "mlm" = the masked-LM head).
    """

    name: str
    fields: tuple[str, ...]
    gold_field: str
    metrics: tuple[str, ...]  # built-in metrics that apply
    adapters: dict[tuple[str, str], str]
    form: tuple[str, ...]  # playground boxes, one label each (a box fills the field form_fields names, else its own)
    length_field: str  # the input field that grows when a long input is built (export verification)
    word_fields: tuple[str, ...] = ()  # inputs that are lists of words (a string is split into words)
    needs_label_names: bool = False
    label_set: bool = False  # a finite set of label names: verbalizers and confusion counts apply
    text_input: bool = False  # one line of plain text is one input (predict on a .txt file)
    # what format_prediction fills besides its text: "label" (a probability per class), "highlight" (spans of the
    # input); the playground shows only those views
    playground_views: tuple[str, ...] = ()
    description: str = ""
    form_fields: dict[str, str] = field(default_factory=dict)  # form box -> input field, where they differ
    # inputs whose equal values link examples in a carve (empty: every input field); see `link_fields`
    carve_links: tuple[str, ...] = ()
    # how the Hub names this kind (model cards, harness/publish/cards.py): the model-index `task.type` and the
    # model's `pipeline_tag` (None: no Hub pipeline serves it, e.g. multiple choice)
    hub_task_type: str = "text-classification"
    pipeline_tag: Optional[str] = None

    # ------------------------------------------------------------------ data record
    @property
    def input_fields(self) -> tuple[str, ...]:
        return tuple(f for f in self.fields if f != self.gold_field)

    @property
    def link_fields(self) -> tuple[str, ...]:
        """The input fields that make two examples share a text: a carve keeps examples linked through any of them
        (connected components) on one side, and the record's `shared_text` counts them. Every input field unless the
        kind names fewer in `carve_links` (e.g. multiple choice: generic questions and choices link nothing)."""
        return self.carve_links or self.input_fields

    def canonical(self, ex: dict, task: "TaskSpec", src: "Source", where: str) -> dict:
        """Validate and normalise one example's gold value (labels mapped); HarnessError naming `where`."""
        return ex

    def gold(self, ex: dict) -> Any:
        """The reference an example is scored against."""
        return ex[self.gold_field]

    def check_task(self, task: "TaskSpec") -> None:
        """Kind-specific checks of a task YAML (ValueError with the field)."""
        if self.needs_label_names and not task.label_names:
            raise ValueError(f"kind {self.name} needs label_names")
        if task.duplicate_choices != "refuse" and "choices" not in self.fields:
            raise ValueError(f"field 'duplicate_choices': kind {self.name} has no choices; remove it")
        claimed = {m for kind in REGISTRY.values() for m in kind.metrics}  # built-in metrics of some kind
        for m in task.metrics:
            if m in claimed and m not in self.metrics:
                raise ValueError(f"metric '{m}' does not apply to kind {self.name}{did_you_mean(m, self.metrics)}")

    def output_names(self, task: "TaskSpec") -> list[str]:
        """The names of the model's output classes (label names; BIO tags for NER)."""
        return list(task.label_names)

    # ------------------------------------------------------------------ scoring
    def prepare_predictions(self, task: "TaskSpec", predictions: list) -> list:
        """Predictions as the metrics take them (e.g. unparseable regression outputs filled); logs once."""
        return predictions

    def breakdown(self, task: "TaskSpec", predictions: list, references: list,
                  inputs: Optional[list[dict]] = None) -> dict[str, dict[str, float]]:
        """Scores per class or entity type ({name: {precision, recall, f1, support, ...}}), or {} where none apply.
        ``inputs``: each example's input fields (Adapter.inputs), for scores that need them (NER by entity text)."""
        return {}

    def example_correct(self, prediction: Any, gold: Any, task: "TaskSpec") -> float:
        """1.0 when one prediction is right (the comparison view's ✓)."""
        return float(prediction == gold)

    # ------------------------------------------------------------------ evidence (the app's detail view)
    def evidence(self, task: "TaskSpec", rows: list[dict]) -> Evidence:
        """What one run's prediction rows ({id, input, gold, prediction, scores}, as the predictions file holds them)
        show beyond the scores: per class tables, a confusion matrix... By default nothing."""
        return Evidence()

    def error_classes(self, gold: Any) -> list[str]:
        """The classes an example belongs to by its gold value, for filtering errors (a label; NER: its entity
        types); none by default."""
        return []

    def confidence(self, row: dict) -> Optional[float]:
        """How sure the model was of a saved prediction: the probability its scores give the predicted value, or
        None where the row has none."""
        scores = row.get("scores")
        value = scores.get(str(row.get("prediction"))) if isinstance(scores, dict) else None
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None

    # ------------------------------------------------------------------ display and inputs
    def show(self, value: Any) -> str:
        """A prediction or gold value as short text."""
        if value is None:
            return "∅"
        if isinstance(value, float):
            return f"{value:.2f}"
        return str(value)

    def show_example(self, value: Any, inputs: dict) -> str:
        """A prediction or gold value as short text next to its example's inputs (the comparison view); by default
        `show(value)`. A kind whose values point into the inputs (a choice index) says what they point at."""
        return self.show(value)

    def from_text(self, text: str) -> Optional[dict]:
        """An input example from one line of plain text, or None when a line cannot hold one."""
        return None

    def check_input(self, fld: str, value: Any) -> Any:
        """One input field's value from a user file; ValueError with what was expected."""
        if fld in self.word_fields:
            if isinstance(value, str):
                return split_tokens(value)
            if isinstance(value, list) and all(isinstance(t, str) for t in value):
                return value
            raise ValueError(f"field '{fld}' must be a list of words or a string, got {type(value).__name__}")
        if not isinstance(value, str):
            raise ValueError(f"field '{fld}' must be a string, got {type(value).__name__}")
        return value

    def build_input(self, *values: Optional[str]) -> dict[str, Any]:
        """The example an adapter predicts on, from the playground's boxes (one value per box of `form`, in order;
        values past the last box are ignored); InputError naming the box when one is empty or too long."""
        ex: dict[str, Any] = {"id": "playground"}
        for i, box in enumerate(self.form):
            text = check_text(box, values[i] if i < len(values) else None)
            fld = self._form_field(box)
            ex[fld] = split_tokens(text) if fld in self.word_fields else text
        return ex

    def form_values(self, inputs: dict) -> list[str]:
        """One text per box of `form` from a saved example's inputs (the playground's examples)."""
        out = []
        for name in self.form:
            v = inputs.get(self._form_field(name), "")
            out.append(join_tokens(v) if isinstance(v, list) else str(v))
        return out

    def _form_field(self, box: str) -> str:
        return self.form_fields.get(box, box)

    def format_prediction(self, example: dict, pred: dict) -> dict[str, Any]:
        """{'text': one-line summary, 'label': {name: prob} or None, 'highlight': segments or None}."""
        return {"text": f"prediction: {self.show(pred.get('prediction'))}", "label": None, "highlight": None}

    def adapter_path(self, family_adapter: str, role: str) -> Optional[str]:
        return self.adapters.get((family_adapter, role))

    def adapter_class(self, family_adapter: str, role: str) -> Optional[type]:
        """The adapter class serving this kind for a family's adapter kind and a role, or None."""
        ref = self.adapter_path(family_adapter, role)
        if ref is None:
            return None
        module, _, cls = ref.partition(":")
        return getattr(importlib.import_module(module), cls)


REGISTRY: Registry[TaskKind] = Registry("task kind")
register = REGISTRY.register


_LOADED: list[str] = []


def load_all() -> Registry[TaskKind]:
    """Import every kind module of this package but this one (each registers its kinds); idempotent."""
    if not _LOADED:
        package = __name__.rpartition(".")[0]
        for mod in sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if m.name != "base"):
            importlib.import_module(f"{package}.{mod}")
            _LOADED.append(mod)
    return REGISTRY


def get_kind(name: str, where: str = "kind") -> TaskKind:
    """The registered kind called `name`; HarnessError with a did-you-mean otherwise."""
    load_all()
    return REGISTRY.lookup(name, where)
