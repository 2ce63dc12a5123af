"""Hyperparameter search: trials scored on the validation split only, then the chosen setting on every seed.

`--search K=v1,v2 [--search K2=…]` runs the grid of those values; `--search-trials N` lets Optuna (TPE, sampler
seed 0, storage `<output>/search/optuna.db`) draw N settings from the `search:` ranges of the models and task
YAML (the model's override the task's per option), or from the `--search` lists. Each trial is its own job and
record (`search.role: trial`, the first `--seeds` value, the validation split carved from train where the task has
none; no checkpoint; never a leaderboard row). The best trial in the main score's direction (first one on a tie)
is then run on every seed; those records carry `search.role: chosen`, the space, the chosen values and every
trial's score, and their config hash covers the space. A rerun reuses finished trials and results.
"""
from __future__ import annotations

import itertools
import logging
import math
from dataclasses import dataclass, field
from typing import Any, Optional

from . import models, results
from .confighash import config_hash
from .errors import HarnessError
from .record import RecordError, ResultRecord, Search
from .plan import Job, RunOptions, plan_one
from .search_space import Range, check_space, dump_space
from .specs import ModelSpec
from .tasks import TaskEntry

log = logging.getLogger(__name__)
CLI_FLAGS = {"learning_rate": "--learning-rate", "batch_size": "--batch-size", "epochs": "--epochs",
             "max_steps": "--max-steps"}
SAMPLER_SEED = 0


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

    model: ModelSpec
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
        if isinstance(jobs, str):  # the base job applied, so a trial of it does too
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
                  ) -> tuple[list[SearchPlan], list[str]]:
    """Every search of the grid, checked before anything trains: the base job, every grid point (or the range
    ends for sampled options) planned as a trial job."""
    plans, skipped = [], []
    for m in model_specs:
        models.tokenizer_for(m)
        for entry in entries:
            for method in opts.methods:
                plan_pair(plans, skipped, m, entry, method, opts, request)
    return plans, skipped


def plan_pair(plans: list[SearchPlan], skipped: list[str], m: ModelSpec, entry: TaskEntry, method: str,
              opts: RunOptions, request: Request) -> None:
    """Plan one (model, task, method)'s search into `plans`, or the reason it does not apply into `skipped`."""
    base = plan_one(m, entry, method, opts)
    if isinstance(base, str):
        skipped.append(base)
        return
    space = _space_for(m, entry, request, opts.cli_train)
    points = _grid(space)  # None for a continuous range (only with --search-trials: --search gives lists)
    strategy = "grid" if request.trials is None else "tpe"
    n = len(points) if strategy == "grid" else request.trials
    study = f"{m.name}/{models.revision_label(m)}/{entry.spec.name}/{method}/" + config_hash(
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


def trial_value(jobs: list[Job], opts: RunOptions) -> Optional[float]:
    """A trial's validation main score (mean over its folds), or None when a fold failed or left no record."""
    scores = []
    for job in jobs:
        path = results.result_path(opts.output_dir, job.key, job.seeds[0])
        try:
            rec = ResultRecord.read(path) if path.exists() else None
        except RecordError:
            rec = None
        if rec is None or rec.status != "ok":
            return None
        scores.append(rec.main)
    value = sum(scores) / len(scores) if scores else None
    return value if value is not None and math.isfinite(value) else None


def _best(plan: SearchPlan, trials: list[dict]) -> Optional[dict]:
    ok = [t for t in trials if t["validation"] is not None]
    if not ok:
        return None
    sign = -1.0 if plan.direction == "lower" else 1.0
    return max(ok, key=lambda t: (sign * t["validation"], -t["number"]))


def _run(jobs: list[Job], opts: RunOptions, eopts: Any, counts: dict[str, int]) -> None:
    from .execute import run_grid

    unique = list({j.key: j for j in jobs}.values())  # TPE may ask one setting twice in a round: run it once
    for k, v in run_grid(unique, opts, eopts).items():
        counts[k] += v


def _grid_trials(plans: list[SearchPlan], opts: RunOptions, eopts: Any, counts: dict[str, int]
                 ) -> dict[str, list[dict]]:
    pending = {p.study: [(i, v, jobs) for i, (v, jobs) in enumerate(p.grid_jobs)] for p in plans}
    _run([j for trials in pending.values() for _, _, jobs in trials for j in jobs], opts, eopts, counts)
    return {study: [_trial_row(i, v, jobs, opts) for i, v, jobs in trials] for study, trials in pending.items()}


def _trial_row(number: int, values: dict[str, Any], jobs: list[Job], opts: RunOptions) -> dict[str, Any]:
    value = trial_value(jobs, opts)
    return {"number": number, "values": values, "validation": value, "status": "ok" if value is not None else
            "failed", "config_hash": jobs[0].config_hash}


def _tpe_trials(plans: list[SearchPlan], opts: RunOptions, eopts: Any, counts: dict[str, int]
                ) -> dict[str, list[dict]]:
    """Optuna TPE, asked and told in rounds of as many trials as the executor runs at once."""
    import optuna

    from .execute import concurrency

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    folder = opts.output_dir / "search"
    folder.mkdir(parents=True, exist_ok=True)
    storage = f"sqlite:///{folder / 'optuna.db'}"
    studies = {}
    for p in plans:
        study = optuna.create_study(study_name=p.study, storage=storage, load_if_exists=True,
                                    direction="minimize" if p.direction == "lower" else "maximize",
                                    sampler=optuna.samplers.TPESampler(seed=SAMPLER_SEED, constant_liar=True))
        for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
            study.tell(t.number, state=optuna.trial.TrialState.FAIL)  # an interrupted run: ask its setting again
            study.enqueue_trial(t.params, skip_if_exists=True)
        studies[p.study] = study
    batch = concurrency(eopts, opts)
    rows: dict[str, list[dict]] = {p.study: [] for p in plans}
    while True:
        asked = []
        for p in plans:
            study = studies[p.study]
            done = [t for t in study.get_trials(deepcopy=False) if t.state.is_finished()
                    and t.state != optuna.trial.TrialState.FAIL or t.user_attrs.get("harness_failed")]
            for _ in range(min(batch, p.n_trials - len(done))):
                trial = study.ask()
                values = {k: r.suggest(trial, k) for k, r in p.space.items()}
                asked.append((p, trial, values, p.trial_jobs(values, opts)))
        if not asked:
            break
        _run([j for *_, jobs in asked for j in jobs], opts, eopts, counts)
        for p, trial, values, jobs in asked:
            value = trial_value(jobs, opts)
            if value is None:
                trial.set_user_attr("harness_failed", True)
                studies[p.study].tell(trial, state=optuna.trial.TrialState.FAIL)
            else:
                studies[p.study].tell(trial, value)
    for p in plans:
        for t in sorted(studies[p.study].get_trials(deepcopy=False), key=lambda t: t.number):
            if t.state == optuna.trial.TrialState.COMPLETE or t.user_attrs.get("harness_failed"):
                values = {k: t.params[k] for k in p.space}
                rows[p.study].append({"number": len(rows[p.study]), "values": values,
                                      "validation": t.value if t.state == optuna.trial.TrialState.COMPLETE else None,
                                      "status": "ok" if t.state == optuna.trial.TrialState.COMPLETE else "failed",
                                      "config_hash": p.trial_jobs(values, opts)[0].config_hash})
    return rows


def run_searches(plans: list[SearchPlan], opts: RunOptions, eopts: Any) -> tuple[list[Job], dict[str, int], list[str]]:
    """Run every search's trials, then plan the chosen settings on every seed. Returns those jobs (for the caller
    to run), the trials' run counts and one line per search saying what it chose (or that every trial failed)."""
    counts = {"done": 0, "skipped": 0, "failed": 0}
    rows = {}
    for strategy, runner in (("grid", _grid_trials), ("tpe", _tpe_trials)):
        chosen = [p for p in plans if p.strategy == strategy]
        if chosen:
            rows.update(runner(chosen, opts, eopts, counts))
    jobs, lines = [], []
    for p in plans:
        trials = rows[p.study]
        best = _best(p, trials)
        if best is None:
            lines.append(f"search {p.label}: every one of {len(trials)} trials failed; nothing chosen")
            continue
        shown = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in best["values"].items())
        lines.append(f"search {p.label}: chose {shown} (validation {best['validation']:.4f}, best of "
                     f"{sum(t['status'] == 'ok' for t in trials)}/{len(trials)} trials, {p.strategy})")
        planned = plan_one(p.model, p.entry, p.method, opts, best["values"],
                           p.search("chosen", best["values"], trials))
        jobs += planned if isinstance(planned, list) else []
    return jobs, counts, lines
