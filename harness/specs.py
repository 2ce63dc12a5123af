"""Validated configuration: TaskSpec and ModelSpec (strict: unknown keys are errors). The training options
(TrainConfig, TrainOverrides) live in harness.trainconfig.

A TaskSpec is plain data: it imports no registry. The checks that need the task kinds and the metrics run where
tasks are loaded (harness.catalog), which hands the registries in as the validation context (`TaskRegistries`); a
TaskSpec checked that way answers `task_kind` and `direction` from them."""
from __future__ import annotations

import re
from typing import Any, Literal, Optional, Protocol, Union

from pydantic import Field, PrivateAttr, ValidationInfo, field_validator, model_validator

from .errors import did_you_mean
from .search_space import Range, check_space
from .trainconfig import Strict, TrainOverrides

ROLES = ("train", "validation", "test")
__all__ = ["CONTEXT_KEY", "ROLES", "ModelSpec", "ModelsFile", "Source", "TaskRegistries", "TaskSpec"]


class Source(Strict):
    """Where a task's examples come from: a Hub dataset or local files."""

    type: Literal["hub", "local"]
    # hub
    path: Optional[str] = None
    name: Optional[str] = None
    revision: Optional[str] = None
    # local
    dir: Optional[str] = None
    relative_to: Literal["data_dir", "task_file"] = "data_dir"
    format: Literal["jsonl", "jsonl.gz", "csv", "tsv"] = "jsonl.gz"
    # common
    splits: dict[str, str] = Field(description="role (train/validation/test) -> split name or file stem")
    columns: dict[str, str] = Field(default_factory=dict, description="canonical field -> source column")
    label_map: dict[str, str] = Field(default_factory=dict, description="source label value -> label name")
    id_column: Optional[str] = None

    @field_validator("splits")
    @classmethod
    def _roles(cls, v: dict[str, str]) -> dict[str, str]:
        """Splits mean what they say: each named split is read as named; only a missing one is carved (see
        docs/data.md): validation from train, or train and validation from test when test alone is named."""
        for role in v:
            if role not in ROLES:
                raise ValueError(f"unknown split role '{role}'{did_you_mean(role, ROLES)}")
        if "test" not in v:
            raise ValueError(f"splits {dict(v)} name no 'test' split: expected the split scores are reported on, "
                             "e.g. {train: train, test: dev}")
        if "validation" in v and "train" not in v:
            raise ValueError(f"splits {dict(v)} name 'validation' but no 'train': expected a train split beside it "
                             f"(or only {{test: {v['test']}}}, to carve train and validation from it)")
        same = [r for r in v if r != "test" and v[r] == v["test"]] or (
            ["validation"] if "validation" in v and v["validation"] == v.get("train") else [])
        if same:
            other = "test" if v[same[0]] == v["test"] else "train"
            raise ValueError(f"splits name '{v[same[0]]}' for both {same[0]} and {other}: expected a different "
                             f"split for each role (leave {same[0]} out to carve it)")
        return v

    @field_validator("label_map", mode="before")
    @classmethod
    def _str_keys(cls, v: Any) -> Any:
        return {str(k): str(val) for k, val in v.items()} if isinstance(v, dict) else v

    @model_validator(mode="after")
    def _complete(self) -> "Source":
        if self.type == "hub" and not self.path:
            raise ValueError("a hub source needs 'path'")
        if self.type == "local" and not self.dir:
            raise ValueError("a local source needs 'dir'")
        return self


class Carve(Strict):
    """How missing splits are carved, deterministically, from the labelled data a task has."""

    validation_fraction: float = Field(0.1, gt=0, lt=0.5)
    validation_max: int = Field(2000, gt=0)
    test_fraction: float = Field(0.2, gt=0, lt=0.5)
    seed: int = 0


class TextToText(Strict):
    """How a seq2seq (T5) model sees a classification/regression task."""

    prefix: str = ""
    label_words: dict[str, str] = Field(default_factory=dict)
    regression_precision: int = 1


class LabelWordsFile(Strict):
    """A verbalizer file: JSON {label: word | [words]} or label.txt lines 'label==word' ('&' joins several)."""

    path: str
    relative_to: Literal["data_dir", "task_file"] = "task_file"


class PromptSpec(Strict):
    """PET-style prompt: a template with input placeholders and one {mask} slot, and a verbalizer."""

    template: str = Field(description="e.g. '{text} It was {mask}.'; {mask} becomes as many [MASK] as the "
                                      "longest label word has tokens")
    label_words: dict[str, Union[str, list[str]]] = Field(default_factory=dict)
    label_words_file: Optional[LabelWordsFile] = None

    @field_validator("template")
    @classmethod
    def _one_mask(cls, v: str) -> str:
        if "[MASK]" in v:
            raise ValueError("write the mask slot as {mask} (it expands to as many [MASK] tokens as the longest "
                             "label word needs), not [MASK]")
        if v.count("{mask}") != 1:
            raise ValueError(f"the template needs exactly one {{mask}}, found {v.count('{mask}')}")
        return v

    @model_validator(mode="after")
    def _one_source(self) -> "PromptSpec":
        if self.label_words and self.label_words_file:
            raise ValueError("give label_words or label_words_file, not both")
        return self

    def placeholders(self) -> list[str]:
        return [m.group(1) for m in re.finditer(r"\{(\w+)\}", self.template)]


class TaskRegistries(Protocol):
    """What a TaskSpec asks of the registries it is checked against (harness.catalog hands them in as the validation
    context under `CONTEXT_KEY`): the checks raise ValueError with the field's problem (the kind is registered; the
    kind's own checks; every metric is known and the main metrics agree on a direction; the kind takes a prompt and
    the template's placeholders are its input fields); `kind` and `direction` answer `task_kind` and `direction`."""

    def check_kind(self, name: str) -> None: ...
    def check_task(self, task: "TaskSpec") -> None: ...
    def check_metrics(self, task: "TaskSpec") -> None: ...
    def check_prompt(self, task: "TaskSpec") -> None: ...
    def kind(self, name: str) -> Any: ...
    def direction(self, metric: str) -> str: ...


CONTEXT_KEY = "registries"  # the validation context key of the TaskRegistries a TaskSpec is checked against


def _registries(info: ValidationInfo) -> Optional[TaskRegistries]:
    return (info.context or {}).get(CONTEXT_KEY)


class TaskSpec(Strict):
    """A task as validated data: sources, kind, labels, metrics, main score, caveats, defaults. Built without the
    registries (``TaskSpec(**data)``), it checks only what needs none; harness.catalog builds tasks with every check."""

    name: str
    description: str = ""
    language: Literal["en", "zh", "multi"]
    benchmark: str = Field(description="leaderboard group: GLUE, CLUE, FewCLUE, other, demo")
    groups: list[str] = Field(default_factory=list)
    kind: str = Field(description="a registered task kind (harness/kinds)")
    label_names: list[str] = Field(default_factory=list)
    positive_label: Optional[str] = None
    metrics: list[str]
    main_score: Union[str, list[str]]
    license: str = "not stated"
    caveats: list[str] = Field(default_factory=list)
    sources: list[Source]
    carve: Carve = Carve()
    train: TrainOverrides = TrainOverrides()
    text_to_text: TextToText = TextToText()
    qa_f1: Literal["char", "token"] = "token"
    # multiple choice: a question that gives one choice twice is refused at load (default), or left out and counted
    duplicate_choices: Literal["refuse", "drop"] = "refuse"
    prompt: Optional[PromptSpec] = None
    folds: list[str] = Field(default_factory=list, description="few-shot folds: split names use {fold}")
    search: dict[str, Range] = Field(default_factory=dict, description="hyperparameter ranges for --search-trials")
    _registries: Optional[TaskRegistries] = PrivateAttr(None)  # what the task was checked against

    @field_validator("search", mode="before")
    @classmethod
    def _space(cls, v: Any) -> Any:
        return check_space(v)

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, v: str, info: ValidationInfo) -> str:
        registries = _registries(info)
        if registries is not None:
            registries.check_kind(v)
        return v

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> "TaskSpec":
        registries = self._registries = _registries(info)
        if registries is not None:
            registries.check_task(self)
        if self.positive_label is not None and self.positive_label not in self.label_names:
            raise ValueError(f"positive_label '{self.positive_label}' is not in label_names "
                             f"{self.label_names}{did_you_mean(self.positive_label, self.label_names)}")
        mains = [self.main_score] if isinstance(self.main_score, str) else self.main_score
        for m in mains:
            if m not in self.metrics:
                raise ValueError(f"main_score '{m}' is not in metrics {self.metrics}{did_you_mean(m, self.metrics)}")
        if registries is not None:
            registries.check_metrics(self)
        if self.prompt is not None:
            if registries is not None:
                registries.check_prompt(self)
            for label in self.prompt.label_words:
                if label not in self.label_names:
                    raise ValueError(f"prompt.label_words names '{label}', not in label_names"
                                     f"{did_you_mean(label, self.label_names)}")
        carved = {"test": any("train" not in src.splits for src in self.sources),
                  "validation": any("validation" not in src.splits for src in self.sources)}
        for fld in ("test_fraction", "validation_fraction", "validation_max"):  # set away from its default
            if getattr(self.carve, fld) != Carve.model_fields[fld].default and not carved[fld.split("_")[0]]:
                raise ValueError(f"field 'carve.{fld}': no source carves a {fld.split('_')[0]} split (each names it under "
                                 "splits:), so it would be ignored; remove it")
        uses_fold = any("{fold}" in name for src in self.sources for name in src.splits.values())
        if bool(self.folds) != uses_fold:
            raise ValueError("folds: list the folds and name splits with {fold} (e.g. train_{fold}), or neither")
        for label in self.text_to_text.label_words:
            if label not in self.label_names:
                raise ValueError(f"text_to_text.label_words names '{label}', not in label_names"
                                 f"{did_you_mean(label, self.label_names)}")
        return self

    @property
    def main_metrics(self) -> list[str]:
        return [self.main_score] if isinstance(self.main_score, str) else list(self.main_score)

    def _checked(self) -> TaskRegistries:
        if self._registries is None:
            raise RuntimeError(f"task '{self.name}' was built without the registries' checks; build it with "
                               "harness.catalog.validate_task")
        return self._registries

    @property
    def task_kind(self) -> Any:
        """The kind object (harness/kinds) that says how this task's data, scores and inputs work."""
        return self._checked().kind(self.kind)

    @property
    def direction(self) -> str:
        """'higher' or 'lower': which way the main score is better (all main metrics agree; checked on load)."""
        return self._checked().direction(self.main_metrics[0])

    def better(self, a: float, b: Optional[float]) -> bool:
        """Whether main score a beats b (None: nothing yet) in this task's direction."""
        return b is None or (a < b if self.direction == "lower" else a > b)

    def label_word(self, label: str) -> str:
        return self.text_to_text.label_words.get(label, label.replace("_", " "))


class ModelSpec(Strict):
    """One candidate model from models.yaml."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    id: Optional[str] = None
    revision: Optional[str] = None
    family: str = Field(description="a family of harness/families.yaml (checked where the models file is loaded)")
    tokenizer: Optional[str] = None
    init: Literal["pretrained", "random"] = "pretrained"
    config: dict[str, Any] = Field(default_factory=dict)
    description: str = ""
    license: Optional[str] = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9.+\-]*$",
                                   description="the model's licence as its Hub card states it (e.g. apache-2.0): "
                                               "shown in the records and the app's licence filter; never guessed")
    hub_id: Optional[str] = Field(None, pattern=r"^[\w\-.]{1,96}/[\w\-.]{1,96}$",
                                  description="the Hub original (ORG/NAME) of weights installed another way (a python: "
                                              "package, a local copy): model cards name it as base_model; never "
                                              "loaded from, never part of the config hash")
    allow_pickle: bool = Field(False, description="load a .bin-era model's pickled weights (torch.load with "
                                                  "weights_only=True) when it has no safetensors")
    train: TrainOverrides = TrainOverrides()
    tasks: dict[str, TrainOverrides] = Field(default_factory=dict)
    search: dict[str, Range] = Field(default_factory=dict, description="hyperparameter ranges for --search-trials "
                                                                       "(override the task's per option)")

    @field_validator("search", mode="before")
    @classmethod
    def _space(cls, v: Any) -> Any:
        return check_space(v)

    @field_validator("family")
    @classmethod
    def _family(cls, v: str, info: ValidationInfo) -> str:
        known = (info.context or {}).get("families")  # the families registry's names, given by the loader
        if known is not None and v not in known:
            *rest, last = [f"'{n}'" for n in known]
            raise ValueError(f"Input should be {', '.join(rest)} or {last}" if rest else f"Input should be {last}")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> "ModelSpec":
        if self.init == "pretrained" and not self.id:
            raise ValueError("a pretrained model needs 'id' (Hub id, local dir or python:<module>)")
        if self.init == "random" and not (self.tokenizer or self.id):
            raise ValueError("init: random needs 'tokenizer' (or an 'id' to take the tokenizer and config from)")
        if self.config and self.init != "random":
            raise ValueError("'config' only applies with init: random")
        return self

    @property
    def untrained(self) -> bool:
        return self.init == "random"


class ModelsFile(Strict):
    models: list[ModelSpec]

    @field_validator("models")
    @classmethod
    def _unique(cls, v: list[ModelSpec]) -> list[ModelSpec]:
        if not v:
            raise ValueError("expected at least one model")
        names = [m.name for m in v]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"duplicate model names: {sorted(dup)}")
        return v
