"""Running hyperparameter searches (planned by harness.search): each round of trials through the grid driver, the
best trial in the main score's direction (first one on a tie), then the chosen setting planned on every seed.

Grid searches run every point at once; TPE (Optuna, sampler seed 0, storage `<output>/search/optuna.db`) asks and
tells in rounds of as many trials as the executor runs at once.
"""
from __future__ import annotations

import math
from collections import Counter
from typing import Any, Optional

from .. import results
from ..plan import Job, RunOptions, plan_one
from ..record import RecordError, ResultRecord
from ..search import SearchPlan
from .driver import new_counts, run_grid
from .executors import concurrency

SAMPLER_SEED = 0


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


def _run(jobs: list[Job], opts: RunOptions, eopts: Any, counts: Counter) -> None:
    unique = list({j.key: j for j in jobs}.values())  # TPE may ask one setting twice in a round: run it once
    counts.update(run_grid(unique, opts, eopts))


def _grid_trials(plans: list[SearchPlan], opts: RunOptions, eopts: Any, counts: Counter
                 ) -> dict[str, list[dict]]:
    pending = {p.study: [(i, v, jobs) for i, (v, jobs) in enumerate(p.grid_jobs)] for p in plans}
    _run([j for trials in pending.values() for _, _, jobs in trials for j in jobs], opts, eopts, counts)
    return {study: [_trial_row(i, v, jobs, opts) for i, v, jobs in trials] for study, trials in pending.items()}


def _trial_row(number: int, values: dict[str, Any], jobs: list[Job], opts: RunOptions) -> dict[str, Any]:
    value = trial_value(jobs, opts)
    return {"number": number, "values": values, "validation": value, "status": "ok" if value is not None else
            "failed", "config_hash": jobs[0].config_hash}


def _tpe_trials(plans: list[SearchPlan], opts: RunOptions, eopts: Any, counts: Counter
                ) -> dict[str, list[dict]]:
    """Optuna TPE, asked and told in rounds of as many trials as the executor runs at once."""
    import optuna

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


def run_searches(plans: list[SearchPlan], opts: RunOptions, eopts: Any) -> tuple[list[Job], Counter, list[str]]:
    """Run every search's trials, then plan the chosen settings on every seed. Returns those jobs (for the caller
    to run), the trials' run counts and one line per search saying what it chose (or that every trial failed)."""
    counts = new_counts()
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
