"""Pre-flight: what a run will do and how each model's tokenizer fits each task, known before anything trains.

`make_plan` plans the grid (or its searches) and `report` describes it as lines for the command line to print:
the jobs (model × task × method × fold × seeds, how many are already done), the searches, the (model, task,
method) combinations that do not apply and why, and per (model, task) the [UNK] and truncation rates of the
tokenizer on a sample of the training rows (`Adapter.token_stats`, the same figures a result records after
training), with a warning line where [UNK] is high.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Optional

from . import models, results, search
from .data import job_data
from .plan import Job, RunOptions, plan, plan_one
from .methods import get_method
from .specs import ModelSpec
from .catalog import TaskEntry
from .text import UNK_WARN

SAMPLE_ROWS = 200  # training rows per (model, task) the tokenizer fit is measured on


@dataclass
class Plan:
    """A planned run: its jobs (none yet where searches choose them), its searches, and what does not apply."""

    jobs: list[Job]
    skipped: list[str]
    searches: list[search.SearchPlan] = field(default_factory=list)

    def base_jobs(self, opts: RunOptions) -> list[Job]:
        """The jobs, or for a search the job of its base setting: what the tokenizer fit is measured for."""
        out = list(self.jobs)
        for p in self.searches:
            planned = plan_one(p.model, p.entry, p.method, opts)
            out += planned if isinstance(planned, list) else []
        return out


@dataclass(frozen=True)
class Fit:
    """How a model's tokenizer fits a task's inputs, on the first rows of its training split."""

    model: str
    task: str
    max_length: int
    unk_rate: float
    truncation_rate: float
    rows: int


def make_plan(model_specs: list[ModelSpec], entries: list[TaskEntry], opts: RunOptions,
              request: Optional[search.Request] = None) -> Plan:
    """Plan the grid (every check before training); with an active search request, its searches instead."""
    if request is not None and request.active:
        plans, skipped = search.plan_searches(model_specs, entries, opts, request)
        return Plan([], skipped, plans)
    jobs, skipped = plan(model_specs, entries, opts)
    return Plan(jobs, skipped)


def tokenizer_fit(job: Job, opts: RunOptions, rows: int = SAMPLE_ROWS) -> Fit:
    """[UNK] and truncation rates of the job's tokenizer at its max_length on the first `rows` training rows, as
    its adapter counts them for the result record (`Adapter.token_stats`)."""
    sample = job_data(job, opts.data_dir).splits["train"][:rows]
    adapter = get_method(job.method).make_adapter(job.family.adapter, job.spec, models.tokenizer_for(job.model),
                                                  job.cfg)
    stats = adapter.token_stats(sample)
    return Fit(job.model.name, job.spec.name, job.cfg.max_length, stats["unk_rate"], stats["truncation_rate"],
               len(sample))


def fits(jobs: list[Job], opts: RunOptions, rows: int = SAMPLE_ROWS) -> list[Fit]:
    """One fit per (model, task, max_length) of the jobs, in plan order (its first fold's training rows)."""
    seen: dict[tuple[str, str, int], Job] = {}
    for job in jobs:
        seen.setdefault((job.model.name, job.spec.name, job.cfg.max_length), job)
    return [tokenizer_fit(job, opts, rows) for job in seen.values()]


def _seeds(n: int) -> str:
    return f"{n} seed{'' if n == 1 else 's'}"


def _done(job: Job, opts: RunOptions) -> int:
    return sum(results.result_path(opts.output_dir, job.key, s).exists() for s in job.seeds)


def plan_lines(plan: Plan, opts: RunOptions) -> list[str]:
    """The jobs per (model, task, method), the totals, the searches and what does not apply."""
    groups: dict[tuple[str, str, str], list[Job]] = defaultdict(list)
    for job in plan.jobs:
        groups[(job.model.name, job.spec.name, job.method)].append(job)
    runs = sum(len(j.seeds) for j in plan.jobs)
    done = sum(_done(j, opts) for j in plan.jobs)
    lines = []
    if plan.jobs:
        lines.append(f"plan: {len(plan.jobs)} jobs (model × task × method × fold) × {_seeds(len(opts.seeds))} = "
                     f"{runs} runs, {done} already done, {runs - done} to run, under {opts.output_dir}")
    for (m, t, meth), jobs in groups.items():
        folds = f"{len(jobs)} folds × " if jobs[0].fold is not None else ""
        lines.append(f"  {m} × {t} × {meth}: {folds}{_seeds(len(jobs[0].seeds))}"
                     f" ({sum(_done(j, opts) for j in jobs)} of {sum(len(j.seeds) for j in jobs)} done)")
    for p in plan.searches:
        trials = [j for _, jobs in p.grid_jobs for j in jobs]
        done_trials = f", {sum(_done(j, opts) for j in trials)} of {len(trials)} trial runs done" if trials else ""
        lines.append(f"search {p.label}: {p.n_trials} trials ({p.strategy} over {', '.join(p.space)}) on the "
                     f"validation split with seed {opts.seeds[0]}{done_trials}; then the chosen setting on "
                     f"{_seeds(len(opts.seeds))}")
    lines += [f"not applicable: {s}" for s in plan.skipped]
    return lines


def fit_lines(fit_list: list[Fit]) -> list[str]:
    """One line per fit, then a warning line for each whose [UNK] rate is over the leaderboard's ⚠UNK mark."""
    if not fit_list:
        return []
    lines = [f"tokenizer fit (first {max(f.rows for f in fit_list)} training rows; [UNK]: share of input tokens, "
             "truncated: share of rows longer than max_length):"]
    lines += [f"  {f.model} × {f.task}: [UNK] {f.unk_rate:.1%}, truncated {f.truncation_rate:.1%} at max_length "
              f"{f.max_length} ({f.rows} rows)" for f in fit_list]
    lines += [f"warning: {f.model} × {f.task}: the tokenizer turns {f.unk_rate:.1%} of the input tokens into [UNK] "
              f"(over {UNK_WARN:.0%}); its scores on this task will say little about the model"
              for f in fit_list if f.unk_rate > UNK_WARN]
    return lines


def report(plan: Plan, opts: RunOptions, rows: int = SAMPLE_ROWS) -> list[str]:
    """Everything pre-flight says, in order: the plan, then the tokenizer fit."""
    return plan_lines(plan, opts) + fit_lines(fits(plan.base_jobs(opts), opts, rows))
