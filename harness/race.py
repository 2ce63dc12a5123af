"""Racing (`run --race MIN:MAX`): seeds are spent only where the choice is still open.

**Seeds** come from one fixed sequence (`seed_sequence`): the first MAX of `--seeds` when it gives at least MAX,
else 42, 43, …, 42+MAX-1. A cell (a job: model × task × method × fold) that has k seeds has the sequence's first k,
so a raced study is reproducible.

**Rounds.** Round 1 gives every cell the sequence's first MIN seeds. After each round the decision
(leaderboard.decision: the 95% set for the best) is recomputed from the result files of the seeds allotted so far —
only those, so the files of a later round left half-done by Ctrl-C never change an earlier round's decision — for
every benchmark average (scope "benchmark", the default; a benchmark whose tasks mix directions is decided per task)
or for every task (scope "task"). Each row inside the 95% set of a scope that is not decided gets the sequence's next
seed on every cell of that scope (in benchmark scope: every task of the benchmark), up to MAX. The race stops when
every scope is decided, when no contender can get another seed (they have MAX), or when the next round would take
the study past the budget (runs in all, those already done included), and says why.

**Execution.** A round is one call of ``run_round`` (the CLI's: the grid driver, `run_grid`, with the run's
executor) with the jobs that get a seed, each carrying every seed allotted to it so far: the driver runs only the
missing ones, and `--keep-checkpoints best` compares all of the cell's seeds. A rerun of the same command replays
the rounds (their files exist: nothing runs) and goes on: each decision depends only on the seeds allotted before
it, so the replay takes the same path. Every record's `execution.race` (harness.record.Race) names the round that
allotted its seed. The runner is injectable: tests race with a stand-in that trains nothing.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Optional, Sequence

from leaderboard.data import app_data, only_files
from leaderboard.decision import Decision, view_decisions
from leaderboard.sig_cache import draws_of
from leaderboard.table import load_results

from . import results
from .errors import HarnessError
from .execute.driver import new_counts
from .plan import Job, RunOptions
from .record import Race

log = logging.getLogger(__name__)
FIRST_SEED = 42  # the sequence without --seeds: 42, 43, …
SCOPES = ("benchmark", "task")
RowKey = tuple[str, str, str]  # (model, revision, method): a leaderboard row


@dataclass(frozen=True)
class RaceOptions:
    """`--race MIN:MAX`, `--race-budget`, `--race-scope` (checked by harness.cli_args)."""

    min_seeds: int
    max_seeds: int
    budget: Optional[int] = None  # runs in the whole study, those already done included
    scope: str = "benchmark"  # benchmark | task


@dataclass
class RaceResult:
    """How a race ended: its rounds, the runs it allotted (the study), a full grid's runs, why it stopped, the
    runner's counts (done, skipped = allotted runs whose files already existed, failed), the last decisions (by
    scope) and each cell's seeds (by job key)."""

    rounds: int
    runs: int
    full_grid: int
    reason: str
    counts: dict[str, int]  # harness.execute.driver.new_counts
    decisions: dict[str, Decision] = field(default_factory=dict)
    seeds: dict[Path, tuple[int, ...]] = field(default_factory=dict)


def seed_sequence(given: Optional[Sequence[int]], max_seeds: int) -> tuple[int, ...]:
    """The race's fixed seed sequence: the first ``max_seeds`` of --seeds, else 42, 43, …; a --seeds list shorter
    than that is a one-line error (exit 2)."""
    if given is None:
        return tuple(range(FIRST_SEED, FIRST_SEED + max_seeds))
    if len(given) < max_seeds:
        raise HarnessError(f"--seeds: --race needs at least {max_seeds} seeds (its MAX), in the order they are "
                           f"raced; got {len(given)} ({','.join(map(str, given))}); leave --seeds out for "
                           f"{FIRST_SEED}, {FIRST_SEED + 1}, …")
    return tuple(given[:max_seeds])


def check_budget(jobs: Sequence[Job], race: RaceOptions) -> None:
    """The first round (every cell × MIN seeds) must fit the budget: a one-line error (exit 2) before anything
    trains otherwise."""
    first = len(jobs) * race.min_seeds
    if race.budget is not None and first > race.budget:
        raise HarnessError(f"--race-budget: {race.budget} is fewer runs than the first round ({len(jobs)} cells × "
                           f"{race.min_seeds} seeds = {first} runs); raise it or lower --race's MIN")


def describe(jobs: Sequence[Job], race: RaceOptions, seeds: Sequence[int]) -> str:
    """One line for the plan: what the race will do."""
    budget = f", at most {race.budget} runs in all" if race.budget is not None else ""
    what = "benchmark average" if race.scope == "benchmark" else "task"
    return (f"race: round 1 runs seeds {','.join(map(str, seeds[:race.min_seeds]))} on each of {len(jobs)} cells; "
            f"then the next seed of {','.join(map(str, seeds[race.min_seeds:]))} (up to {race.max_seeds} per cell) "
            f"goes to the rows still inside the 95% set for the best of each {what} not yet decided{budget} (a full "
            f"grid: {len(jobs) * race.max_seeds} runs)")


def row_of(job: Job) -> RowKey:
    return (job.model.name, job.revision, job.method)


class _Study:
    """The race's state: each cell's allotted seeds, as the round that allotted each (``rounds[i][p]``: the round
    that gave cell i the sequence's seed p+1)."""

    def __init__(self, jobs: Sequence[Job], race: RaceOptions, seeds: Sequence[int], root: Path):
        self.jobs, self.race, self.seeds, self.root = list(jobs), race, tuple(seeds), root
        self.rounds: list[list[int]] = [[1] * race.min_seeds for _ in self.jobs]

    @property
    def runs(self) -> int:
        return sum(len(r) for r in self.rounds)

    def job(self, i: int) -> Job:
        """Cell i as the runner gets it: every seed allotted so far, each with its record's race block."""
        r = self.rounds[i]
        return replace(self.jobs[i], seeds=self.seeds[:len(r)],
                       race={self.seeds[p]: Race(round=r[p], min_seeds=self.race.min_seeds,
                                                 max_seeds=self.race.max_seeds, scope=self.race.scope,
                                                 position=p + 1) for p in range(len(r))})

    def _rel(self, i: int, p: int) -> str:
        return str(results.result_path(self.root, self.jobs[i].key, self.seeds[p]).relative_to(self.root))

    def existing(self, runs: Sequence[tuple[int, int]]) -> int:
        """How many of these runs (cell, sequence position from 0) have a result file already."""
        return sum((self.root / self._rel(i, p)).exists() for i, p in runs)

    def decide(self) -> dict[str, Decision]:
        """The decisions over the result files of the seeds allotted so far (and no other file of the folder)."""
        paths = {self._rel(i, p) for i in range(len(self.jobs)) for p in range(len(self.rounds[i]))}
        data = app_data(self.root, only_files(load_results(self.root), paths))
        draws = draws_of(data, paths) if not data.runs.empty else {}
        return view_decisions(draws, data.table)

    def scope_of(self, i: int, decisions: dict[str, Decision]) -> str:
        """The scope cell i is decided in: its task, or its benchmark's average (its task where the benchmark has
        no average decision: tasks of mixed directions)."""
        spec = self.jobs[i].spec
        if self.race.scope == "benchmark" and spec.benchmark in decisions:
            return spec.benchmark
        return spec.name


def _open(decisions: dict[str, Decision], scopes: Sequence[str]) -> dict[str, Decision]:
    """The scopes (in order) whose 95% set holds more than one row."""
    return {s: decisions[s] for s in dict.fromkeys(scopes)
            if s in decisions and decisions[s].rows and not decisions[s].decided}


def _contenders(open_scopes: dict[str, Decision]) -> str:
    return "; ".join(f"{s}: {', '.join(r.label for r in d.contenders)}" for s, d in open_scopes.items())


@dataclass
class Step:
    """What the race does after a round: ``more``, the cells that get the sequence's next seed, or ``stop``, why it
    ends ("decided", "max", "budget", "none": no decision can be made); ``still``: the scopes still open."""

    more: list[int]
    stop: str = ""
    still: dict[str, Decision] = field(default_factory=dict)


def next_step(decisions: dict[str, Decision], scope_by_cell: Sequence[str], row_by_cell: Sequence[RowKey],
              seeds_by_cell: Sequence[int], race: RaceOptions, runs: int) -> Step:
    """The race's rule, pure: after a round whose decisions are ``decisions`` (by scope), with cell i decided in
    ``scope_by_cell[i]``, of row ``row_by_cell[i]``, holding ``seeds_by_cell[i]`` seeds, and ``runs`` runs in the
    study: each row inside the 95% set of a scope not yet decided gets the next seed on its cells of that scope, up to
    MAX; stop when every scope is decided (or none can be), when no contender can get another seed, or when the next
    round would go over the budget. bench/decision/replay.py replays races with this same rule."""
    still = _open(decisions, scope_by_cell)
    if not still:
        decided = any(s in decisions and decisions[s].rows for s in scope_by_cell)
        return Step([], "decided" if decided else "none")
    more = [i for i, (scope, row, k) in enumerate(zip(scope_by_cell, row_by_cell, seeds_by_cell))
            if scope in still and k < race.max_seeds and row in {r.key for r in still[scope].contenders}]
    if not more:
        return Step([], "max", still)
    if race.budget is not None and runs + len(more) > race.budget:
        return Step(more, "budget", still)
    return Step(more, "", still)


def run_race(jobs: Sequence[Job], opts: RunOptions, race: RaceOptions, seeds: Sequence[int],
             run_round: Callable[[list[Job]], dict[str, int]], say: Callable[[str], None] = log.info) -> RaceResult:
    """Race ``jobs`` (planned with any seeds; the race gives them theirs from ``seeds``, the fixed sequence) under
    ``opts.output_dir``: round by round through ``run_round`` (the jobs that get a seed, each with all its seeds so
    far; returns counts of done, skipped, failed), saying one line per round and why it stopped."""
    counts = new_counts()
    if not jobs:
        return RaceResult(0, 0, 0, "race: no job to race", counts)
    study = _Study(jobs, race, seeds, Path(opts.output_dir))
    full = len(jobs) * race.max_seeds
    what = "benchmark average" if race.scope == "benchmark" else "task"
    number, cells = 1, list(range(len(jobs)))
    new = [(i, p) for i in cells for p in range(race.min_seeds)]  # the round's runs: (cell, sequence position)
    head = (f"{study.runs} runs ({len(jobs)} cells × {race.min_seeds} seeds: "
            f"{','.join(map(str, seeds[:race.min_seeds]))})")
    while True:
        done_before = study.existing(new)
        say(f"race round {number}: {head}; {study.runs} runs so far" + (f"; {done_before} already done"
                                                                        if done_before else ""))
        counts["skipped"] += done_before
        got = run_round([study.job(i) for i in cells])
        counts.update({k: v for k, v in got.items() if k not in ("skipped", "newer")})  # skipped: done_before
        decisions = study.decide()
        scope_by_cell = [study.scope_of(i, decisions) for i in range(len(jobs))]
        step = next_step(decisions, scope_by_cell, [row_of(j) for j in jobs], [len(r) for r in study.rounds], race,
                         study.runs)
        still, nxt = step.still, step.more
        if step.stop in ("decided", "none"):
            closed = [s for s in dict.fromkeys(scope_by_cell) if s in decisions and decisions[s].rows]
            none = [s for s in dict.fromkeys(scope_by_cell) if s not in closed]
            reason = f"race stopped after round {number}: " + (
                f"every {what} is decided (" + "; ".join(f"{s}: {decisions[s].leader.label}" for s in closed) + ")"
                if closed else "no decision can be made")
            reason += f"; no decision (no saved test predictions): {', '.join(none)}" if none else ""
            break
        if step.stop == "max":
            reason = (f"race stopped after round {number}: the contenders have {race.max_seeds} seeds (--race's MAX) "
                      f"and the choice is still open ({_contenders(still)})")
            break
        if step.stop == "budget":
            reason = (f"race stopped after round {number}: round {number + 1} would need {len(nxt)} more runs, over "
                      f"the budget of {race.budget} (--race-budget; {study.runs} runs so far); still open: "
                      f"{_contenders(still)}")
            break
        number += 1
        for i in nxt:
            study.rounds[i].append(number)
        cells, new = nxt, [(i, len(study.rounds[i]) - 1) for i in nxt]
        rows = {row_of(jobs[i]) for i in nxt}
        head = f"{len(nxt)} runs for {len(rows)} contender{'s' if len(rows) != 1 else ''} ({_contenders(still)})"
    reason += f"; {study.runs} runs (a full grid: {full})"
    say(reason)
    return RaceResult(number, study.runs, full, reason, counts, decisions,
                      {jobs[i].key: study.seeds[:len(study.rounds[i])] for i in range(len(jobs))})
