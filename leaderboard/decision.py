"""The decision over the rows shown: P(best), the 95% set for the best, rank intervals, expected regret and the
seeds that would separate the leaders, for every task and every benchmark average, from one joint resampling.

**What is resampled.** Per task, the test examples shared by the task's rows (joined by example id) are drawn with
replacement, 1,000 times with a fixed seed: the *draws* (`TaskDraws`), each run's main score on each resample,
computed once per results folder with the metrics' one implementation (harness.metrics: a per-example mean is
resampled from its per-example scores, confusion counts / entity counts / correlations are scored again on each
resample) and cached with the significance cache. The same example draws serve every row of the task, so rows are
paired. On top of them, `decide` draws each row's runs (seeds, within each fold) with replacement, independently
per row and task, with a generator seeded by the row and the task (a row's draws do not depend on which other rows
are shown): a row's task score on a resample is the mean of its fold means over the drawn runs (each fold's drawn
mean rescaled about the mean of all its k runs by sqrt(k/(k-1)), so that the seed spread it carries is s²/k, not
the plain bootstrap's (k-1)/k of it, which is too narrow with few seeds), and a benchmark
average is the mean of the row's resampled task scores. Training data and hyperparameters are not resampled (a
search's chosen setting is taken as given).

**What is reported.** Per row, in the scope's direction: P(best) (the share of resamples in which the row is best;
exact ties share), the 95% set (the fewest rows whose P(best) sums to >= 0.95, highest first), the rank interval
(2.5-97.5% of the row's rank over resamples), expected regret (the mean of best - row over resamples, in points:
the main score ×100, as the table shows it), and seeds to separate (`seeds_to_separate`: with the observed
per-seed spread s² and the test-set noise τ² of the gap, the fewest extra runs m per row such that
gap >= 1.645 · sqrt(s²_A/(k_A+m) + s²_B/(k_B+m) + τ²): one-sided 95%, the point at which the runner-up's P(best)
would fall under 0.05 under a normal approximation; "—" when gap < 1.645 τ: more runs of the same setup cannot
separate them, only more test examples can).

Only the rows given take part: a filter is a constraint ("≤ 100 M parameters" decides among those). A row without
predictions on a task, or without every task of a benchmark, is left out of that decision and listed with why.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

import numpy as np
import pandas as pd

from harness import metrics
from harness.results import read_predictions
from harness.scoring import Resamples

from .columns import HIGHER, LOWER, is_missing, rank_interval
from .data import AppData, prediction_files, task_spec
from .table import benchmarks, directions

N_RESAMPLES = 1000
SEED = 0
LEVEL = 0.95  # the set for the best holds this much P(best)
Z = 1.6448536269514722  # one-sided 95% normal quantile: "separated" = the runner-up's P(best) under 5%
MAX_MORE = 200  # seeds to separate beyond this are reported as "> 200"
RowKey = tuple[str, str, str]  # (model, revision, method)


@dataclass
class CellDraws:
    """One row's runs on one task: ``resampled`` (runs × resamples) each run's main score on each example resample,
    ``full`` each run's main score on all the shared examples, ``folds`` each run's fold ('' when none)."""

    label: str
    resampled: np.ndarray
    full: np.ndarray
    folds: tuple[str, ...]

    def by_fold(self) -> list[np.ndarray]:
        """The run indices of each fold."""
        folds = np.asarray(self.folds, dtype=object)
        return [np.flatnonzero(folds == f) for f in dict.fromkeys(self.folds)]

    def point(self) -> float:
        """The mean of the fold means of the runs' full scores (the table's mean, on the shared examples)."""
        return float(np.mean([self.full[i].mean() for i in self.by_fold()]))

    def example_only(self) -> np.ndarray:
        """The cell's score on each example resample with every run kept (test-set noise only)."""
        return np.mean([self.resampled[i].mean(axis=0) for i in self.by_fold()], axis=0)

    def seed_var(self) -> Optional[float]:
        """The variance of the cell's mean contributed by one seed per fold (mean within-fold sample variance over
        the number of folds); None when a fold has a single run (the spread is unknown)."""
        groups = self.by_fold()
        if any(len(i) < 2 for i in groups):
            return None
        return float(np.mean([self.full[i].var(ddof=1) for i in groups]) / len(groups))

    def seeds(self) -> int:
        """Runs per fold (the fewest, when folds differ)."""
        return min(len(i) for i in self.by_fold())


@dataclass
class TaskDraws:
    """A task's draws: its direction, the number of shared examples, how the main score is resampled, and each
    row's runs (``cells``, by (model, revision, method))."""

    task: str
    direction: str
    n_examples: int
    how: str
    cells: dict[RowKey, CellDraws] = field(default_factory=dict)


def example_draws(n: int, n_resamples: int = N_RESAMPLES, seed: int = SEED) -> np.ndarray:
    """The example indices of each resample (resamples × n), int32: the same for every row of a task."""
    return np.random.default_rng(seed).integers(0, n, (n_resamples, n), dtype=np.int32)


def run_scorer(rows: Sequence[dict], spec: Any) -> tuple[Callable[..., Any], str]:
    """One run's main score (the mean of the task's main metrics) from its prediction rows, in the shared example
    order, and how it is resampled: "per-example" when every main metric is a per-example mean, else the metrics'
    own way ("confusion counts", "entity counts", "correlation"; "metric" where they differ, or for a metric scored
    again from the drawn predictions on each resample). The score takes nothing (all examples: a float) or a matrix
    of drawn example indices and the same draws as `Resamples` (an array, one score per resample); the metrics' one
    implementation (harness.metrics) scores it."""
    preds, golds = [r["prediction"] for r in rows], [r["gold"] for r in rows]
    inputs = [r["input"] for r in rows] if all("input" in r for r in rows) else None
    fns: list[Callable[[Any, Any], Any]] = []  # (idx matrix or None, Resamples or None) -> score(s)
    hows = set()
    for m in spec.main_metrics:
        metric = metrics.REGISTRY.get(m)
        if metric is not None:
            stats = metric.stats(preds, golds, spec, inputs)
            one = lambda sel, metric=metric, stats=stats: metric.score(stats, sel, spec)  # noqa: E731
            fns.append((lambda idx, res, one=one: one(res)) if metric.batched else _each(one))
            hows.add(metric.resampled_as)
        else:  # a Hub metric: scored again on each resample
            def hub(idx, m=m):
                pick = range(len(preds)) if idx is None else idx
                return metrics.compute(spec, [preds[j] for j in pick], [golds[j] for j in pick])[m]
            fns.append(_each(hub))
            hows.add("metric")
    if len(hows) > 1:
        hows.discard("per-example")

    def score(idx: Optional[np.ndarray] = None, res: Optional[Resamples] = None) -> Any:
        v = np.mean([np.asarray(f(idx, res), dtype=float) for f in fns], axis=0)
        v = np.where(np.isnan(v), 0.0, v)
        return float(v) if idx is None else v
    return score, hows.pop() if len(hows) == 1 else "metric"


def _each(one: Callable[[Optional[np.ndarray]], float]) -> Callable[[Any, Any], Any]:
    """A score of one selection, called once per drawn resample (None: all examples)."""
    return lambda idx, res: one(None) if idx is None else np.array([one(i) for i in idx])


CHUNK = 4_000_000  # drawn examples scored at once (resamples x examples), to bound memory on large test sets


def chunks(idx: np.ndarray) -> list[Resamples]:
    """The example resamples ``idx`` in chunks of at most CHUNK drawn examples, as `Resamples`: made once per task
    and shared by every run of every row (their counts and the gold values' drawn ranks are computed once)."""
    n = idx.shape[1]
    step = max(1, CHUNK // max(1, n))
    return [Resamples(idx[i:i + step], n) for i in range(0, len(idx), step)]


def score_runs(runs: Sequence[Sequence[dict]], spec: Any, idx: "np.ndarray | list[Resamples]"
               ) -> tuple[np.ndarray, np.ndarray, str]:
    """Each run's (full score, scores on the example resamples ``idx``: a matrix of drawn indices or its `chunks`),
    and how they were resampled."""
    parts_of = chunks(idx) if isinstance(idx, np.ndarray) else idx
    scorers = [run_scorer(rows, spec) for rows in runs]
    full = np.array([f() for f, _ in scorers], dtype=float)
    parts = [np.array([f(res.idx, res) for f, _ in scorers], dtype=float).reshape(len(runs), len(res))
             for res in parts_of]
    resampled = np.concatenate(parts, axis=1) if parts else np.zeros((len(runs), 0))
    return full, resampled, scorers[0][1] if scorers else "per-example"


def task_seed(task: str) -> int:
    """The example draws' seed of a task (fixed: the same task draws the same examples in every folder)."""
    return zlib.crc32(f"{SEED}/{task}".encode())


def task_draws(data: AppData, task: str, keys: Optional[Sequence[RowKey]] = None,
               n_resamples: int = N_RESAMPLES) -> Optional[TaskDraws]:
    """A task's draws over its rows of the configuration the ranking shows (``keys``: only these rows), on the
    examples every run of them was evaluated on; None when no row has predictions or no example is shared."""
    agg = data.of_task(task)[0]
    wanted = set(keys) if keys is not None else None
    loaded: dict[RowKey, tuple[str, dict[Any, dict[str, dict]]]] = {}
    for r in agg.itertuples():
        key = (str(r.model), str(r.revision), str(r.method))
        if wanted is not None and key not in wanted:
            continue
        files = prediction_files(data, task, *key)
        if files:
            loaded[key] = (str(r.row), {run: {p["id"]: p for p in read_predictions(path)}
                                        for run, path in files.items()})
    if not loaded:
        return None
    ids = sorted(set.intersection(*(set(rows) for _, runs in loaded.values() for rows in runs.values())), key=str)
    if not ids:
        return None
    spec = task_spec(data, task)
    idx = chunks(example_draws(len(ids), n_resamples, task_seed(task)))
    direction = str(agg["direction"].iloc[0]) if len(agg) else "higher"
    out = TaskDraws(task, direction, len(ids), "per-example")
    for key, (label, runs) in loaded.items():
        full, resampled, how = score_runs([[rows[i] for i in ids] for rows in runs.values()], spec, idx)
        folds = tuple(str(run).split("/")[0] if isinstance(run, str) else "" for run in runs)
        out.cells[key] = CellDraws(label, resampled, full, folds)
        out.how = how
    return out


def all_draws(data: AppData, n_resamples: int = N_RESAMPLES) -> dict[str, TaskDraws]:
    """Every task's draws (tasks without predictions are absent)."""
    out = {}
    for task in sorted(set(data.agg["task"])) if len(data.agg) else []:
        got = task_draws(data, task, n_resamples=n_resamples)
        if got is not None:
            out[task] = got
    return out


# ---------------------------------------------------------------- the decision over some rows


@dataclass
class RowDecision:
    key: RowKey
    label: str
    score: float  # the point estimate on the shared examples, in points (×100)
    runs: int  # runs per fold (fewest over the scope's tasks)
    p_best: float
    in_set: bool
    rank_lo: int
    rank_hi: int
    regret: float  # points
    more_seeds: Optional[int] = None  # extra runs per leading row that would likely separate it; None: see note
    more_note: str = ""  # "—" (within test noise), "?" (one run: spread unknown), "> 200", "" (a number)

    @property
    def rank_interval(self) -> str:
        return rank_interval(self.rank_lo, self.rank_hi)

    @property
    def seeds_text(self) -> str:
        return self.more_note or str(self.more_seeds)


@dataclass
class Decision:
    """The decision of one scope (a task or a benchmark average) over some rows, best first by P(best)."""

    scope: str
    direction: str
    tasks: list[str]
    rows: list[RowDecision]
    left_out: dict[str, str]  # row label -> why it takes no part
    n_examples: int  # shared test examples, summed over the scope's tasks
    n_resamples: int
    values: np.ndarray = field(repr=False, default_factory=lambda: np.zeros((0, 0)))  # rows × resamples, points
    ranks: np.ndarray = field(repr=False, default_factory=lambda: np.zeros((0, 0), dtype=np.int16))

    @property
    def leader(self) -> Optional[RowDecision]:
        return self.rows[0] if self.rows else None

    @property
    def contenders(self) -> list[RowDecision]:
        """The 95% set for the best."""
        return [r for r in self.rows if r.in_set]

    @property
    def decided(self) -> bool:
        return len(self.contenders) == 1

    def gaps(self) -> np.ndarray:
        """Each row's gap to the leader on every resample, in points, in the scope's direction (>= 0: behind)."""
        signed = self.values if self.direction != LOWER else -self.values
        return signed[:1] - signed if len(signed) else signed

    def get(self, label: str) -> Optional[RowDecision]:
        return next((r for r in self.rows if r.label == label), None)

    def of(self, key: RowKey) -> Optional[RowDecision]:
        """The row of (model, revision, method), or None when it takes no part."""
        return next((r for r in self.rows if r.key == tuple(key)), None)


def _run_draw(cell: CellDraws, rng: np.random.Generator, n_resamples: int) -> np.ndarray:
    """The cell's score on each resample: examples as drawn, each fold's k runs drawn with replacement, the drawn
    runs' mean moved away from the mean of all k by sqrt(k/(k-1)) (the mean of k runs drawn with replacement varies
    by (k-1)/k of the true variance of a mean of k; rescaled, the spread it adds is s²/k, as the seeds-to-separate
    formula has it: with 2 or 3 seeds the plain draw would be 29% or 18% too narrow)."""
    cols = np.arange(n_resamples)
    parts = []
    for runs in cell.by_fold():
        k = len(runs)
        pick = runs[rng.integers(0, k, (n_resamples, k))]  # resamples × runs of the fold
        drawn = cell.resampled[pick, cols[:, None]].mean(axis=1)
        if k > 1:
            every = cell.resampled[runs].mean(axis=0)
            drawn = every + np.sqrt(k / (k - 1)) * (drawn - every)
        parts.append(drawn)
    return np.mean(parts, axis=0)


def row_seed(task: str, label: str) -> list[int]:
    return [SEED, zlib.crc32(task.encode()), zlib.crc32(label.encode())]


def more_seeds(gap: float, var_a: Callable[[int], float], var_b: Callable[[int], float], tau2: float
               ) -> tuple[Optional[int], str]:
    """Extra runs per row that would likely separate two rows (see the module's doc): (m, "") or (None, why)."""
    if not gap > Z * np.sqrt(tau2):
        return None, "—"
    for m in range(0, MAX_MORE + 1):
        if gap >= Z * np.sqrt(var_a(m) + var_b(m) + tau2):
            return max(m, 1), ""
    return None, f"> {MAX_MORE}"


def decide(draws: dict[str, TaskDraws], rows: Sequence[RowKey], tasks: Sequence[str], scope: str,
           direction: str = "higher", n_resamples: Optional[int] = None) -> Decision:
    """The decision of ``scope`` over ``rows`` on ``tasks`` (one task, or a benchmark's: then the average of the
    row's task scores). A row missing any of the tasks' draws is left out."""
    tasks = list(tasks)
    left_out: dict[str, str] = {}
    keep: list[RowKey] = []
    for key in dict.fromkeys(rows):
        missing = [t for t in tasks if t not in draws or key not in draws[t].cells]
        if missing:
            left_out[_label(draws, key)] = ("no saved test predictions on " + ", ".join(missing)) if len(tasks) == 1 \
                else f"not every task has predictions (missing: {', '.join(missing)})"
        else:
            keep.append(key)
    nb = n_resamples or next((d.cells[k].resampled.shape[1] for d in draws.values() for k in d.cells), N_RESAMPLES)
    n_ex = sum(draws[t].n_examples for t in tasks if t in draws)
    if not keep:
        return Decision(scope, direction, tasks, [], left_out, n_ex, nb)
    cells = {k: [draws[t].cells[k] for t in tasks] for k in keep}
    labels = {k: cells[k][0].label for k in keep}
    values = np.array([np.mean([_run_draw(c, np.random.default_rng(row_seed(t, labels[k])), nb)
                                for t, c in zip(tasks, cells[k])], axis=0) for k in keep]) * 100
    points = np.array([np.mean([c.point() for c in cells[k]]) for k in keep]) * 100
    signed = -values if direction == LOWER else values
    best = signed.max(axis=0)
    is_best = np.isclose(signed, best[None, :], rtol=0, atol=1e-9)
    p_best = (is_best / is_best.sum(axis=0)).mean(axis=1)
    ranks = 1 + (signed[None, :, :] > signed[:, None, :] + 1e-9).sum(axis=1)
    lo = np.percentile(ranks, 100 * (1 - LEVEL) / 2, axis=1, method="inverted_cdf").astype(int)
    hi = np.percentile(ranks, 100 * (1 + LEVEL) / 2, axis=1, method="inverted_cdf").astype(int)
    regret = (best[None, :] - signed).mean(axis=1)
    sgn_points = -points if direction == LOWER else points
    order = sorted(range(len(keep)), key=lambda i: (-p_best[i], -sgn_points[i], labels[keep[i]]))
    in_set, total = set(), 0.0
    for i in order:
        if total >= LEVEL - 1e-9:
            break
        in_set.add(i)
        total += p_best[i]
    out = [RowDecision(keep[i], labels[keep[i]], float(points[i]), min(c.seeds() for c in cells[keep[i]]),
                       float(p_best[i]), i in in_set, int(lo[i]), int(hi[i]), float(regret[i])) for i in order]
    _separate(out, [cells[r.key] for r in out], sgn_points[order], direction)
    return Decision(scope, direction, tasks, out, left_out, n_ex, nb, values[order], ranks[order].astype(np.int16))


def _label(draws: dict[str, TaskDraws], key: RowKey) -> str:
    for d in draws.values():
        if key in d.cells:
            return d.cells[key].label
    return key[0] if key[2] == "finetune" else f"{key[0]} [{key[2]}]"


def _separate(rows: list[RowDecision], cells: list[list[CellDraws]], signed_points: np.ndarray, direction: str) -> None:
    """Fill each row's seeds to separate: a contender's against the leader; the leader's, the most any contender
    needs; rows outside the set are already separated (0)."""
    if not rows:
        return
    t = len(cells[0])

    def var_fn(cs: list[CellDraws]) -> Optional[Callable[[int], float]]:
        parts = [(c.seed_var(), c.seeds()) for c in cs]
        if any(v is None for v, _ in parts):
            return None
        return lambda m: sum(v / (k + m) for v, k in parts) / t**2 * 1e4  # seed_var: of one seed per fold

    def example_mean(cs: list[CellDraws]) -> np.ndarray:
        return np.mean([c.example_only() for c in cs], axis=0) * 100

    lead = rows[0]
    lead_var, lead_ex = var_fn(cells[0]), example_mean(cells[0])
    needs: list[tuple[Optional[int], str]] = []
    for r, cs, p in zip(rows[1:], cells[1:], signed_points[1:]):
        if not r.in_set:
            r.more_seeds = 0
            continue
        var_b = var_fn(cs)
        if lead_var is None or var_b is None:
            r.more_seeds, r.more_note = None, "?"
        else:
            diff = lead_ex - example_mean(cs)
            r.more_seeds, r.more_note = more_seeds(float(signed_points[0] - p), lead_var, var_b, float(diff.var()))
        needs.append((r.more_seeds, r.more_note))
    if not needs:
        lead.more_seeds = 0
    elif any(n == "?" for _, n in needs):
        lead.more_note = "?"
    elif all(m is None for m, _ in needs):
        lead.more_note = "—" if all(n == "—" for _, n in needs) else f"> {MAX_MORE}"
    else:
        lead.more_seeds = max(m for m, _ in needs if m is not None)
        lead.more_note = f"> {MAX_MORE}" if any(n.startswith(">") for _, n in needs) else ""


# ---------------------------------------------------------------- in words


def _pt(x: float) -> str:
    return f"{x:.2f}" if abs(x) < 1 else f"{x:.1f}"


def paragraph(dec: Decision, name: Optional[str] = None) -> str:
    """The decision in one paragraph: whom to pick, how sure, what the runner-up would cost, what would settle it."""
    name = name or dec.scope
    if not dec.rows:
        return (f"**{name}**: no decision: no row shown has saved test predictions"
                + (" on every task" if len(dec.tasks) > 1 else "") + " (the table's scores stand; P(best) and rank "
                "intervals need the predictions files).")
    lead, others = dec.leader, [r for r in dec.contenders if r is not dec.leader]
    text = f"**{name}**: pick **{lead.label}** — P(best) {lead.p_best:.2f}"
    if len(dec.rows) == 1:
        text += " (the only row with predictions)"
    elif not others:
        runner = dec.rows[1]
        text += (f"; every other row is ruled out (the 95% set holds {lead.label} alone; runner-up {runner.label}, "
                 f"P(best) {runner.p_best:.2f}, would cost {_pt(runner.regret)} pt of expected regret)")
    else:
        text += "; still possible: " + ", ".join(f"{r.label} ({r.p_best:.2f})" for r in others)
        text += "; expected regret of " + ", ".join(f"{r.label}: {_pt(r.regret)} pt" for r in others)
        sep = [r for r in others if r.more_seeds]
        noise = [r for r in others if r.more_note == "—"]
        if sep:
            m = max(r.more_seeds for r in sep)
            text += (f"; about {m} more seed(s) of {lead.label} and {', '.join(r.label for r in sep)} would likely "
                     "separate them")
        if noise:
            text += (f"; more seeds cannot separate {lead.label} from {', '.join(r.label for r in noise)}: the gap is "
                     "within the test-set noise (a larger test set could)")
        if any(r.more_note == "?" for r in others + [lead]):
            text += "; with one run per cell the seed spread is unknown: run at least 2 seeds to estimate what would separate them"
        if any(r.more_note.startswith(">") for r in others):
            text += f"; others would need over {MAX_MORE} more seeds"
    text += f". Rank interval of {lead.label}: {lead.rank_interval}"
    text += f" ({dec.n_resamples:,} resamples of {dec.n_examples:,} test examples and of each row's runs)."
    if dec.left_out:
        text += " Left out: " + "; ".join(f"{k} ({v})" for k, v in dec.left_out.items()) + "."
    return text


def row_line(dec: Decision, label: str, name: Optional[str] = None) -> str:
    """One row's part of a decision in one line: P(best), rank interval, expected regret, seeds to separate (or
    why the row takes no part)."""
    name = name or dec.scope
    r = dec.get(label)
    if r is None:
        why = dec.left_out.get(label) or ("no row has saved test predictions" if not dec.rows else "not shown")
        return f"**{name}**: {label} takes no part in the decision ({why})."
    seeds = {"—": "— (within the test-set noise: more seeds cannot separate it)",
             "?": "? (one run per cell: the seed spread is unknown)"}.get(r.more_note, r.seeds_text)
    if r.more_seeds == 0 and not r.more_note:
        seeds = "0 (already separated)"
    return (f"**{name}**: P(best) {r.p_best:.2f}" + (" (in the 95% set for the best)" if r.in_set else "")
            + f" · rank 95%: {r.rank_interval} of {len(dec.rows)} · expected regret {_pt(r.regret)} pt"
            + f" · seeds to separate: {seeds}.")


def row_spread(dec: Decision, label: str) -> Optional[tuple[np.ndarray, np.ndarray, str]]:
    """A row's rank on every resample, its gap on every resample and what the gap is: in points, in the scope's
    direction, the leader's score minus the row's ("behind LEADER"), or for the leader its lead over the runner-up
    ("lead over RUNNER-UP"); None when the row takes no part."""
    i = next((j for j, r in enumerate(dec.rows) if r.label == label), None)
    if i is None:
        return None
    gaps = dec.gaps()
    if i == 0:
        if len(dec.rows) == 1:
            return dec.ranks[0], np.zeros(dec.ranks.shape[1]), "the only row"
        return dec.ranks[0], gaps[1], f"lead over {dec.rows[1].label}"
    return dec.ranks[i], gaps[i], f"behind {dec.rows[0].label}"


def table_cells(decisions: dict[str, Decision]) -> dict[str, dict[str, tuple[float, str]]]:
    """scope -> row label -> (P(best), rank interval): what the display table's decision columns show
    (leaderboard.filters.Filters.decision); rows that take no part are absent."""
    return {scope: {r.label: (r.p_best, r.rank_interval) for r in dec.rows} for scope, dec in decisions.items()}


def frame(dec: Decision) -> pd.DataFrame:
    """The decision as a table: a row per row label (best first)."""
    return pd.DataFrame([{"scope": dec.scope, "row": r.label, "model": r.key[0], "revision": r.key[1],
                          "method": r.key[2], "score": round(r.score, 4), "runs": r.runs,
                          "p_best": round(r.p_best, 4), "in_set": r.in_set, "rank_lo": r.rank_lo,
                          "rank_hi": r.rank_hi, "regret": round(r.regret, 4), "seeds_to_separate": r.seeds_text}
                         for r in dec.rows],
                        columns=["scope", "row", "model", "revision", "method", "score", "runs", "p_best", "in_set",
                                 "rank_lo", "rank_hi", "regret", "seeds_to_separate"])


# ---------------------------------------------------------------- the board's decisions


def row_keys(rows: pd.DataFrame) -> list[RowKey]:
    """The (model, revision, method) of each row of a leaderboard table."""
    return [(str(m), str(r), str(me)) for m, r, me in zip(rows["model"], rows["revision"], rows["method"])]


def _why_partial(row: Any, bench: str) -> str:
    failed = row.get(f"{bench}_failed")
    if not is_missing(failed) and failed:
        return f"{int(failed)} task(s) with failed runs"
    return f"partial: {row.get(f'{bench}_tasks')} tasks"


def view_decisions(draws: dict[str, TaskDraws], table: pd.DataFrame, rows: Optional[pd.DataFrame] = None,
                   shown: Optional[dict[str, list[str]]] = None) -> dict[str, Decision]:
    """The decisions of the rows shown (``rows``, a subset of ``table``; default all) for every benchmark average
    (over all its tasks) and every task shown (``shown``: benchmark -> tasks; default all): scope -> Decision. A
    benchmark whose tasks mix directions has none. Rows without the benchmark's average (a task missing or failed)
    or without a task's score are left out of that decision, with why."""
    rows = table if rows is None else rows
    benches, dirs = benchmarks(table), directions(table)
    out: dict[str, Decision] = {}
    if rows.empty:
        return out
    labels = list(rows["row"])
    keys = row_keys(rows)
    for b, ts in (shown if shown is not None else benches).items():
        if dirs.get(b) in (HIGHER, LOWER) and f"{b}_avg" in rows:
            complete = rows[f"{b}_avg"].notna().tolist()
            dec = decide(draws, [k for k, c in zip(keys, complete) if c], benches[b], b, dirs[b])
            dec.left_out.update({lab: _why_partial(r, b) for lab, c, (_, r) in zip(labels, complete, rows.iterrows())
                                 if not c})
            out[b] = dec
        for t in ts:
            if t not in rows:
                continue
            have = rows[t].notna().tolist()
            dec = decide(draws, [k for k, h in zip(keys, have) if h], [t], t, dirs.get(t, HIGHER))
            dec.left_out.update({lab: "every run failed" if not is_missing(r.get(f"{t}_failed")) and r.get(f"{t}_failed")
                                 else "not run" for lab, h, (_, r) in zip(labels, have, rows.iterrows()) if not h})
            out[t] = dec
    return out


def cell_decisions(draws: dict[str, TaskDraws], table: pd.DataFrame, task: str) -> list[tuple[str, Decision]]:
    """A task's decision over every row of ``table`` and its benchmark average's (when decided), named as the
    board names them: [(task, Decision), ("<bench> average", Decision)]."""
    bench = next((b for b, ts in benchmarks(table).items() if task in ts), None)
    if bench is None or table.empty:
        return []
    got = view_decisions(draws, table, shown={bench: [task]})
    return [(name, got[scope]) for name, scope in ((task, task), (f"{bench} average", bench)) if scope in got]


DECISION_FIELDS = ("p_best", "in_set", "rank_lo", "rank_hi", "regret", "seeds_to_separate")


def with_decisions(table: pd.DataFrame, decisions: dict[str, Decision]) -> pd.DataFrame:
    """The table with each scope's decision columns ({scope}_p_best, _in_set, _rank_lo, _rank_hi, _regret,
    _seeds_to_separate; declared in leaderboard.columns), empty for rows that take no part."""
    out = table.copy()
    for scope, dec in decisions.items():
        by_label = {r.label: r for r in dec.rows}
        got = [by_label.get(lab) for lab in out["row"]]
        out[f"{scope}_p_best"] = [r.p_best if r else np.nan for r in got]
        out[f"{scope}_in_set"] = pd.array([r.in_set if r else pd.NA for r in got], dtype="boolean")
        out[f"{scope}_rank_lo"] = pd.array([r.rank_lo if r else pd.NA for r in got], dtype="Int64")
        out[f"{scope}_rank_hi"] = pd.array([r.rank_hi if r else pd.NA for r in got], dtype="Int64")
        out[f"{scope}_regret"] = [r.regret if r else np.nan for r in got]
        out[f"{scope}_seeds_to_separate"] = [r.seeds_text if r else None for r in got]
    out.attrs = dict(table.attrs)
    return out


@dataclass
class Pair:
    """One row against the next one in the scope's ranking (by point score, or the board's order), from the
    decision's resamples: the difference ``diff`` (better by, in the scope's direction, points), its 95% interval,
    and a two-sided p (0 when no resample crossed 0: below 1/``resamples``)."""

    scope: str
    model: str
    next_model: str
    diff: float
    ci_low: float
    ci_high: float
    p_value: float
    n_examples: int
    tie: bool
    method: str
    runs: str
    resamples: int = N_RESAMPLES


def board_order(table: pd.DataFrame, task: str, direction: str) -> list[str]:
    """Row labels ranked on ``task`` as the board sorts them by that column: its score in the task's direction, ties
    in the board's own order (a stable sort, as leaderboard.filters sorts); rows without a score left out."""
    if task not in table or "row" not in table:
        return []
    have = table[table[task].notna()]
    return [str(x) for x in have.sort_values(task, ascending=direction == LOWER, kind="stable")["row"]]


def adjacent_pairs(dec: Decision, how: str = "", order: Optional[Sequence[str]] = None) -> list[Pair]:
    """Each row against the next-ranked one: in ``order`` (row labels, e.g. board_order: the order the board shows,
    so a mark sits above the row it compares with) where given, else by point score in the scope's direction (ties
    by label); rows of the decision that ``order`` lacks follow, by point score."""
    if len(dec.rows) < 2:
        return []
    sign = -1.0 if dec.direction == LOWER else 1.0
    by_score = sorted(range(len(dec.rows)), key=lambda i: (-sign * dec.rows[i].score, dec.rows[i].label))
    index = {r.label: i for i, r in enumerate(dec.rows)}
    ranked = [index[lab] for lab in dict.fromkeys(order or []) if lab in index]
    ranked += [i for i in by_score if i not in set(ranked)]
    out = []
    for i, j in zip(ranked, ranked[1:]):
        a, b = dec.rows[i], dec.rows[j]
        d = sign * (dec.values[i] - dec.values[j])
        low, high = np.percentile(d, [100 * (1 - LEVEL) / 2, 100 * (1 + LEVEL) / 2])
        p = min(1.0, 2 * min(float(np.mean(d <= 0)), float(np.mean(d >= 0))))
        out.append(Pair(dec.scope, a.label, b.label, sign * (a.score - b.score), float(low), float(high), p,
                        dec.n_examples, bool(low <= 0 <= high), how, f"{a.runs} vs {b.runs}", int(dec.n_resamples)))
    return out
