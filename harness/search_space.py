"""A hyperparameter search space as validated data: the `search:` section of a task or models YAML, or `--search`.

    search:
      learning_rate: {low: 1.0e-5, high: 1.0e-4, log: true}   # a range (Optuna samples it)
      batch_size: {choices: [16, 32]}                          # a list of values
      epochs: {low: 2, high: 4, step: 1}                       # integers when low, high and step are

Keys are training options (TrainConfig fields); every value a range can take must be a valid value of that option,
so a bad space fails when the YAML is loaded, not after the first trial. `--search K=v1,v2` gives a list.
"""
from __future__ import annotations

from typing import Any, Optional, Union

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from .errors import did_you_mean
from .trainconfig import TRAIN_FIELDS, TrainConfig

Value = Union[bool, int, float, str]


class Range(BaseModel):
    """One option's values: `choices` (a list), or a numeric range `low`..`high` (`log` scale, optional `step`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    choices: Optional[list[Value]] = None
    low: Optional[Union[int, float]] = None
    high: Optional[Union[int, float]] = None
    log: bool = False
    step: Optional[Union[int, float]] = None

    @model_validator(mode="after")
    def _shape(self) -> "Range":
        if self.choices is not None:
            if self.low is not None or self.high is not None or self.log or self.step is not None:
                raise ValueError("give either choices or low/high (with log, step), not both")
            if not self.choices:
                raise ValueError("choices is empty")
            return self
        if self.low is None or self.high is None:
            raise ValueError("a range needs low and high (or give choices: [...])")
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        if self.log and self.low <= 0:
            raise ValueError(f"log: true needs low > 0, got {self.low}")
        if self.log and self.step is not None:
            raise ValueError("give log or step, not both")
        if self.step is not None and self.step <= 0:
            raise ValueError(f"step must be positive, got {self.step}")
        return self

    @property
    def integer(self) -> bool:
        return (self.choices is None and isinstance(self.low, int) and isinstance(self.high, int)
                and (self.step is None or isinstance(self.step, int)))

    def grid(self) -> Optional[list[Value]]:
        """Every value, when the set is finite (choices, or a range with a step), else None."""
        if self.choices is not None:
            return list(self.choices)
        if self.step is None and not self.integer:
            return None
        step = self.step or 1
        n = int((self.high - self.low) / step + 1e-9) + 1
        return [self.low + i * step if self.integer else round(self.low + i * step, 12) for i in range(n)]

    def suggest(self, trial: Any, name: str) -> Value:
        """The value an Optuna trial draws for this option."""
        if self.choices is not None:
            return trial.suggest_categorical(name, self.choices)
        if self.integer:
            return trial.suggest_int(name, self.low, self.high, step=self.step or 1, log=self.log)
        return trial.suggest_float(name, float(self.low), float(self.high), step=self.step, log=self.log)


def check_space(space: Any, where: str = "") -> dict[str, Range]:
    """A validated space: known training options, well-formed ranges, values the option accepts. ValueError
    naming the option (after the prefix `where`) otherwise; the callers make it a one-line error."""
    out: dict[str, Range] = {}
    if not isinstance(space, dict):
        raise ValueError(f"{where}expected a mapping of training option -> range, got {type(space).__name__}")
    for key, raw in space.items():
        if key not in TRAIN_FIELDS:
            raise ValueError(f"{where}{key}: unknown training option '{key}'{did_you_mean(key, TRAIN_FIELDS)}")
        try:
            rng = raw if isinstance(raw, Range) else Range.model_validate(raw)
        except ValidationError as e:
            err = e.errors()[0]
            loc = ".".join(str(p) for p in err["loc"] if p in Range.model_fields or isinstance(p, int))
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] in ("int_parsing", "float_parsing", "int_type", "float_type"):
                msg = f"expected a number, got {err['input']!r}"
            raise ValueError(f"{where}{key}{'.' + loc if loc else ''}: {msg}") from None
        def typed(v: Any) -> Any:  # the option's own type ('1e-4' from YAML or the command line is a float)
            try:
                return getattr(TrainConfig(**{key: v}), key)
            except ValidationError as e:
                msg = e.errors()[0]["msg"].removeprefix("Value error, ")
                raise ValueError(f"{where}{key}: value {v!r} is not a valid {key} ({msg})") from None

        if rng.choices is not None:
            rng = rng.model_copy(update={"choices": [typed(v) for v in rng.choices]})
            if len(set(map(repr, rng.choices))) < len(rng.choices):
                raise ValueError(f"{where}{key}: a value is listed twice in {rng.choices}")
        else:
            rng = rng.model_copy(update={"low": typed(rng.low), "high": typed(rng.high)})
            for v in (rng.grid() or [])[:50]:
                typed(v)
        out[key] = rng
    grids = [r.grid() for r in out.values()]
    if out and all(g is not None and len(g) == 1 for g in grids):
        point = ", ".join(f"{k}={g[0]}" for k, g in zip(out, grids))
        raise ValueError(f"{where}the space holds one setting ({point}): there is nothing to search; give it as a "
                         "training option (--set, or train: in the task or models file) instead")
    return out


def dump_space(space: dict[str, Range]) -> dict[str, Any]:
    """The space as plain data (sorted keys), as records and the config hash hold it."""
    return {k: space[k].model_dump(mode="json", exclude_defaults=True) for k in sorted(space)}
