"""Hyperparameter search: trials scored on the validation split only, then the chosen setting on every seed.

`--search K=v1,v2 [--search K2=…]` runs the grid of those values; `--search-trials N` lets Optuna (TPE, sampler
seed 0, storage `<output>/search/optuna.db`) draw N settings from the `search:` ranges of the models and task
YAML (the model's override the task's per option), or from the `--search` lists. Each trial is its own job and
record (`search.role: trial`, the first `--seeds` value, the validation split carved from train where the task has
none; no checkpoint; never a leaderboard row). The best trial in the main score's direction (first one on a tie)
is then run on every seed; those records carry `search.role: chosen`, the space, the chosen values and every
trial's score, and their config hash covers the space. A rerun reuses finished trials and results.

This module plans searches; harness.execute.search runs their trials and plans the chosen settings.
"""
from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field
from typing import Any, Optional

from . import models
from .confighash import config_hash
from .errors import HarnessError
from .record import Search
from .plan import Job, NotApplicable, RunOptions, plan_one
from .search_space import Range, check_space, dump_space
from .specs import ModelSpec
from .catalog import TaskEntry

log = logging.getLogger(__name__)
CLI_FLAGS = {"learning_rate": "--learning-rate", "batch_size": "--batch-size", "epochs": "--epochs",
             "max_steps": "--max-steps"}


@dataclass
class Request:
    """What the command line asked for: a grid of values per option (--search) and/or a trial count."""

    grid: dict[str, Range] = field(default_factory=dict)
    trials: Optional[int] = None

    @property
    def active(self) -> bool:
        return bool(self.grid) or self.trials is not None


def request_from_cli(items: list[tuple[str, list[Any]]], trials: Optional[int], cli_train: dict[str, Any],
                     set_keys: set[str]) -> Request:
    """--search items (key, values) and --search-trials, checked against the fixed options of the command line."""
    grid: dict[str, Any] = {}
    for key, values in items:
        if key in grid:
            raise HarnessError(f"--search {key}: given twice; list every value once (--search {key}=a,b,c)")
        grid[key] = {"choices": values}
    try:
        space = check_space(grid)
    except ValueError as e:
        raise HarnessError(f"--search: {e}") from None
    for key in space:
        if key in cli_train:
            flag = f"--set {key}=…" if key in set_keys else CLI_FLAGS.get(key, f"--set {key}=…")
            raise HarnessError(f"--search {key}: {key} is also fixed by {flag}; a searched option cannot be fixed "
                               "too (drop one)")
    if trials is not None and trials < 1:
        raise HarnessError(f"--search-trials: expected a positive number of trials, got {trials}")
    return Request(space, trials)


@dataclass
class SearchPlan:
    """One search: a (model, task, method), its space, strategy and number of trials."""

    model: models.ResolvedModel
    entry: TaskEntry
    method: str
    space: dict[str, Range]
    strategy: str  # grid | tpe
    n_trials: int
    direction: str
    study: str  # Optuna study name (tpe)
    grid_jobs: list[tuple[dict[str, Any], list[Job]]] = field(default_factory=list)  # grid: each point, planned

    @property
    def label(self) -> str:
        return f"{self.model.name} × {self.entry.spec.name} × {self.method}"

    def search(self, role: str, values: dict[str, Any], trials: Optional[list[dict]] = None) -> Search:
        return Search(role=role, space=dump_space(self.space), strategy=self.strategy, chosen=values,
                      n_trials=self.n_trials, trials=trials or [])

    def trial_jobs(self, values: dict[str, Any], opts: RunOptions) -> list[Job]:
        jobs = plan_one(self.model, self.entry, self.method, opts, values, self.search("trial", values))
        if isinstance(jobs, NotApplicable):  # the base job applied, so a trial of it does too
            raise HarnessError(f"search {self.label}: {jobs}")
        return jobs


def _space_for(m: ModelSpec, entry: TaskEntry, request: Request, cli_train: dict[str, Any]) -> dict[str, Range]:
    if request.grid:
        return request.grid
    space = {**entry.spec.search, **m.search}
    if not space:
        raise HarnessError(f"--search-trials: neither task '{entry.spec.name}' ({entry.path}) nor model "
                           f"'{m.name}' has a search: section; add one or give --search KEY=v1,v2")
    for key in space:
        if key in cli_train:
            raise HarnessError(f"--search-trials: {key} is searched (search: of task '{entry.spec.name}' or model "
                               f"'{m.name}') and also fixed on the command line; drop one")
    return space


def plan_searches(model_specs: list[ModelSpec], entries: list[TaskEntry], opts: RunOptions, request: Request
                  ) -> tuple[list[SearchPlan], list[NotApplicable]]:
    """Every search of the grid, checked before anything trains: the base job, every grid point (or the range
    ends for sampled options) planned as a trial job."""
    plans, skipped = [], []
    for spec in model_specs:
        m = models.resolve(spec)  # once per model: its family, revision and tokenizer serve every plan below
        for entry in entries:
            for method in opts.methods:
                plan_pair(plans, skipped, m, entry, method, opts, request)
    return plans, skipped


def plan_pair(plans: list[SearchPlan], skipped: list[NotApplicable], m: models.ResolvedModel, entry: TaskEntry,
              method: str, opts: RunOptions, request: Request) -> None:
    """Plan one (model, task, method)'s search into `plans`, or the reason it does not apply into `skipped`."""
    base = plan_one(m, entry, method, opts)
    if isinstance(base, NotApplicable):
        skipped.append(base)
        return
    space = _space_for(m.spec, entry, request, opts.cli_train)
    points = _grid(space)  # None for a continuous range (only with --search-trials: --search gives lists)
    strategy = "grid" if request.trials is None else "tpe"
    n = len(points) if strategy == "grid" else request.trials
    study = f"{m.name}/{m.revision}/{entry.spec.name}/{method}/" + config_hash(
        {"base": base[0].config, "space": dump_space(space)})
    plan = SearchPlan(m, entry, method, space, strategy, n, base[0].spec.direction, study)
    if strategy == "grid":  # every point planned now (a setting that cannot run fails here, exit 2) and run later
        plan.grid_jobs = [(values, plan.trial_jobs(values, opts)) for values in points]
    else:  # sampled: every point of a small finite space, else the ends of each range, are checked
        for values in points if points is not None and len(points) <= 64 else _ends(space):
            plan.trial_jobs(values, opts)
    plans.append(plan)


def _grid(space: dict[str, Range]) -> Optional[list[dict[str, Any]]]:
    """Every combination, in the order the options and values were given; None if a range is continuous."""
    lists = {k: r.grid() for k, r in space.items()}
    if any(v is None for v in lists.values()):
        return None
    return [dict(zip(lists, combo)) for combo in itertools.product(*lists.values())]


def _ends(space: dict[str, Range]) -> list[dict[str, Any]]:
    lows = {k: (r.choices[0] if r.choices is not None else r.low) for k, r in space.items()}
    highs = {k: (r.choices[-1] if r.choices is not None else r.high) for k, r in space.items()}
    return [lows, highs]
