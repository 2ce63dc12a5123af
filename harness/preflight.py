"""Pre-flight: what a run will do and how each model's tokenizer fits each task, known before anything trains.

`make_plan` plans the grid (or its searches) and `report` describes it for the command line to print, as one
models × tasks matrix: a line of totals, then one line per model and one column per task (wrapped into blocks of
columns at `WIDTH`), each cell the runs it still has to do, "done", or "—" where nothing applies; marks fold the
warnings into the cells: the [UNK] share of the tokenizer (over the leaderboard's ⚠UNK mark) and the share of rows
truncated at max_length, measured on a sample of the training rows of each cell with runs to do
(`Adapter.token_stats`, the same figures a result records after training: a cell with nothing to do loads no
tokenizer), and a footnote per reason a (model, task, method) does not apply; then a legend of the marks shown and
one line per kind of search.
"""
from __future__ import annotations

import re
import textwrap
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Optional

from . import models, results, search
from .data import job_data
from .plan import Job, NotApplicable, RunOptions, plan, plan_one
from .methods import get_method
from .specs import ModelSpec
from .catalog import TaskEntry
from .text import TRUNCATION_MARK, UNK_WARN

SAMPLE_ROWS = 200  # training rows per (model, task) the tokenizer fit is measured on
WIDTH = 120  # the matrix wraps its task columns into blocks no wider than this


@dataclass
class Plan:
    """A planned run: its jobs (none yet where searches choose them), its searches, and what does not apply."""

    jobs: list[Job]
    skipped: list[NotApplicable]
    searches: list[search.SearchPlan] = field(default_factory=list)
    models: list[str] = field(default_factory=list)  # the matrix's rows and columns, in the order asked
    tasks: list[str] = field(default_factory=list)

    def base_jobs(self, opts: RunOptions) -> list[Job]:
        """The jobs, or for a search the job of its base setting."""
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
    names = ([m.name for m in model_specs], [e.spec.name for e in entries])
    if request is not None and request.active:
        plans, skipped = search.plan_searches(model_specs, entries, opts, request)
        return Plan([], skipped, plans, *names)
    jobs, skipped = plan(model_specs, entries, opts)
    return Plan(jobs, skipped, [], *names)


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
    """One fit per (model, task, max_length) of the jobs that have runs to do, in plan order (its first fold's
    training rows); a job whose every run is done needs none (and loads no tokenizer)."""
    seen: dict[tuple[str, str, int], Job] = {}
    for job in jobs:
        if _done(job, opts) < len(job.seeds):
            seen.setdefault((job.model.name, job.spec.name, job.cfg.max_length), job)
    return [tokenizer_fit(job, opts, rows) for job in seen.values()]


def _seeds(n: int) -> str:
    return f"{n} seed{'' if n == 1 else 's'}"


def _done(job: Job, opts: RunOptions) -> int:
    return sum(results.result_path(opts.output_dir, job.key, s).exists() for s in job.seeds)


_SUP = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


@dataclass
class _Cell:
    """What the matrix shows of one (model, task): its runs over methods, folds and seeds, and its marks."""

    runs: int = 0
    todo: int = 0
    trials: int = 0  # search trial runs (grid: planned; tpe: asked)
    trials_todo: int = 0
    searches: int = 0
    sampled: bool = False  # a sampled (tpe) search: which trials are done is known only as they are drawn
    notes: list[int] = field(default_factory=list)  # footnotes: why a method does not apply
    unk: float = 0.0
    truncated: float = 0.0

    def text(self) -> str:
        if self.searches:
            body = "⚙" + (str(self.trials) if self.sampled else f"{self.trials_todo}/{self.trials}"
                          if self.trials_todo else "done")
        elif self.runs:
            body = f"{self.todo}/{self.runs}" if self.todo else "done"
        else:
            body = "—"
        marks = (f" ⚠{self.unk:.0%}" if self.unk > UNK_WARN else "") + \
            (f" ✂{self.truncated:.0%}" if self.truncated > TRUNCATION_MARK else "")
        notes = ",".join(str(n) for n in self.notes).translate(_SUP)
        return body + notes + marks


def _order(named: list[str], seen: list[str]) -> list[str]:
    return list(dict.fromkeys([*named, *seen]))


def _cells(plan: Plan, opts: RunOptions, fit_list: list[Fit]) -> tuple[dict[tuple[str, str], _Cell], list[str]]:
    """The cells, and the footnotes (one per distinct reason, its (model, task, method)s named)."""
    cells: dict[tuple[str, str], _Cell] = defaultdict(_Cell)
    for job in plan.jobs:
        cell = cells[(job.model.name, job.spec.name)]
        cell.runs += len(job.seeds)
        cell.todo += len(job.seeds) - _done(job, opts)
    for p in plan.searches:
        cell = cells[(p.model.name, p.entry.spec.name)]
        cell.searches += 1
        trials = [j for _, jobs in p.grid_jobs for j in jobs]
        cell.sampled |= p.strategy != "grid"
        cell.trials += len(trials) if p.strategy == "grid" else p.n_trials
        cell.trials_todo += sum(len(j.seeds) - _done(j, opts) for j in trials)
    for f in fit_list:
        cell = cells[(f.model, f.task)]
        cell.unk, cell.truncated = max(cell.unk, f.unk_rate), max(cell.truncated, f.truncation_rate)
    reasons: dict[str, list[NotApplicable]] = defaultdict(list)
    for na in plan.skipped:  # one footnote per reason, its model, task and method names made placeholders
        reasons[_template(na)].append(na)
    notes = []
    for n, (reason, where) in enumerate(reasons.items(), 1):
        for na in where:
            if n not in cells[(na.model, na.task)].notes:
                cells[(na.model, na.task)].notes.append(n)
        notes.append(f"{str(n).translate(_SUP)} not applicable: {_where(where, plan.models)}: "
                     f"{_fill(reason, where)}")
    return cells, notes


_PLACES = ("model", "task", "method")


def _template(na: NotApplicable) -> str:
    """The reason with its (model, task, method)'s names as <model>, <task>, <method> (whole names only)."""
    text = na.reason
    for place in _PLACES:
        name = getattr(na, place)
        text = re.sub(rf"(?<![\w.-]){re.escape(name)}(?![\w-])", f"<{place}>", text)
    return text


def _fill(template: str, where: list[NotApplicable]) -> str:
    """The template with each placeholder shared by all its (model, task, method)s filled back in."""
    for place in _PLACES:
        names = {getattr(na, place) for na in where}
        if len(names) == 1:
            template = template.replace(f"<{place}>", names.pop())
    return template


def _where(where: list[NotApplicable], all_models: list[str]) -> str:
    """The (model, task, method)s of a footnote: as methods × tasks (models) where they are that product, else
    each one."""
    ms, ts, hs = (list(dict.fromkeys(getattr(na, p) for na in where)) for p in _PLACES)
    if len(where) == len(ms) * len(ts) * len(hs):  # a full product: say it once
        models_ = "every model" if len(ms) > 1 and set(ms) == set(all_models) else ", ".join(ms)
        return f"{', '.join(hs)} × {', '.join(ts)} ({models_})"
    return ", ".join(f"{na.model} × {na.task} × {na.method}" for na in where)


def _matrix(models_: list[str], tasks: list[str], cells: dict[tuple[str, str], _Cell], width: int) -> list[str]:
    """A header and one line per model, the task columns wrapped into blocks of at most `width` characters."""
    name_w = max(len("model"), *(len(m) for m in models_))
    cols = [(t, max(len(t), *(len(cells[(m, t)].text()) if (m, t) in cells else 1 for m in models_)))
            for t in tasks]
    blocks: list[list[tuple[str, int]]] = [[]]
    used = name_w
    for t, w in cols:
        if blocks[-1] and used + 2 + w > width:
            blocks.append([])
            used = name_w
        blocks[-1].append((t, w))
        used += 2 + w
    lines = []
    for block in blocks:
        lines.append(("  ".join([f"{'model':<{name_w}}", *(f"{t:<{w}}" for t, w in block)])).rstrip())
        for m in models_:
            row = [f"{m:<{name_w}}", *(f"{cells[(m, t)].text() if (m, t) in cells else '·':<{w}}" for t, w in block)]
            lines.append("  ".join(row).rstrip())
    return lines


def _legend(cells: list[_Cell], rows: int, seeds: int) -> list[str]:
    """What the marks shown mean (only those shown), wrapped at WIDTH."""
    parts = ["n/N: runs to do/runs (methods × folds × seeds)", "done: none to do"]
    if any(c.searches for c in cells):
        parts.append(f"⚙: a search's trial runs (⚙N: N sampled trials), then the chosen setting on {_seeds(seeds)}")
    if any(not c.runs and not c.searches for c in cells):
        parts.append("—: nothing applies")
    if any(c.notes for c in cells):
        parts.append("¹ ² …: what does not apply, and why (below)")
    fit = [f"⚠N%: N% of the input tokens are [UNK] (over {UNK_WARN:.0%}): scores there say little about the model"
           ] if any(c.unk > UNK_WARN for c in cells) else []
    if any(c.truncated > TRUNCATION_MARK for c in cells):
        fit.append(f"✂N%: N% of the rows are longer than max_length (over {TRUNCATION_MARK:.0%})")
    if fit:
        fit[-1] += f" (tokenizer fit on the first {rows} training rows)"
    return textwrap.wrap("; ".join(parts + fit), WIDTH, subsequent_indent="  ")


def _search_lines(plan: Plan, opts: RunOptions) -> list[str]:
    """One line per kind of search (strategy, space, trials): how many cells, where they are scored, then what."""
    kinds: dict[tuple[str, str, int], int] = defaultdict(int)
    for p in plan.searches:
        kinds[(p.strategy, ", ".join(p.space), p.n_trials)] += 1
    return [f"searches: {n} × {trials} trials ({strategy} over {space}) on the validation split with seed "
            f"{opts.seeds[0]}; then the chosen setting on {_seeds(len(opts.seeds))}"
            for (strategy, space, trials), n in kinds.items()]


def plan_lines(plan: Plan, opts: RunOptions, fit_list: Optional[list[Fit]] = None,
               rows: int = SAMPLE_ROWS) -> list[str]:
    """The totals, the models × tasks matrix, its legend, the searches and the footnotes of what does not apply."""
    runs = sum(len(j.seeds) for j in plan.jobs)
    done = sum(_done(j, opts) for j in plan.jobs)
    lines = []
    if plan.jobs:
        lines.append(f"plan: {len(plan.jobs)} jobs (model × task × method × fold) × {_seeds(len(opts.seeds))} = "
                     f"{runs} runs, {done} already done, {runs - done} to run, under {opts.output_dir}")
    elif plan.searches:
        lines.append(f"plan: {len(plan.searches)} searches (model × task × method), under {opts.output_dir}")
    cells, notes = _cells(plan, opts, fit_list or [])
    seen = list(cells)
    models_ = _order(plan.models, [m for m, _ in seen])
    tasks = _order(plan.tasks, [t for _, t in seen])
    models_ = [m for m in models_ if any((m, t) in cells for t in tasks)]
    tasks = [t for t in tasks if any((m, t) in cells for m in models_)]
    if not cells:
        return lines
    lines += _matrix(models_, tasks, cells, WIDTH)
    lines += _legend(list(cells.values()), rows, len(opts.seeds))
    lines += _search_lines(plan, opts)
    return lines + [ln for note in notes for ln in textwrap.wrap(note, WIDTH, subsequent_indent="  ")]


def report(plan: Plan, opts: RunOptions, rows: int = SAMPLE_ROWS) -> list[str]:
    """Everything pre-flight says: the plan as a matrix with each cell's tokenizer fit folded in (measured for
    the cells with runs to do)."""
    return plan_lines(plan, opts, fits(plan.base_jobs(opts), opts, rows), rows)
