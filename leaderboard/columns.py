"""The leaderboard's columns, declared once, with the one cell formatter and the one row label.

A column says its name in the wide table, its title, the kind of value it holds, how that value is formatted,
which direction is better and the group it belongs to. Per-benchmark and per-task columns are templates
(``{bench}`` / ``{task}`` in the name) expanded for a table's benchmarks and tasks by ``table_columns``.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Optional, Sequence

import pandas as pd

from harness.methods import DEFAULT_METHOD
from harness.text import UNK_WARN

HIGHER, LOWER, MIXED = "higher", "lower", "mixed"
DIRECTIONS = (HIGHER, LOWER)
MISSING = "—"
TUNED_MARK = "⚙"  # a cell whose setting a hyperparameter search chose (on the validation split)
KINDS = ("text", "score", "count", "params", "rate", "rank", "size", "prob")


@dataclass(frozen=True)
class Column:
    """One column of the wide leaderboard table."""

    name: str  # key in the table; may hold {bench} or {task}
    title: str  # header shown to people; may hold {bench} or {task}
    kind: str  # one of KINDS
    fmt: str = ""  # format spec of the value ('.1f', '.1%'); empty: the kind's default
    direction: Optional[str] = None  # "higher" / "lower" is better; None: not a quantity to rank by
    group: str = "identity"  # identity, benchmark, task
    warn_above: Optional[float] = None  # values above this get a ' ⚠' mark
    picker: tuple[int, str] = ()  # (position, label) in the app's "extra columns" picker; (): always shown or never
    picked: bool = False  # shown before the user picks (the picker's default)
    short: str = ""  # header in leaderboard.md; empty: not in leaderboard.md

    def expand(self, bench: str = "", task: str = "", direction: Optional[str] = None) -> "Column":
        """The column for one benchmark / task; ``direction`` replaces a template's placeholder direction."""
        return replace(self, name=self.name.format(bench=bench, task=task),
                       title=self.title.format(bench=bench, task=task),
                       direction=direction if self.direction == "task" else self.direction)


def DECISION(scope: str, group: str) -> tuple[Column, ...]:  # noqa: N802 - a template of columns
    """The decision's columns of a benchmark average or a task (leaderboard.decision), over the rows it decides."""
    s = "{" + scope + "}"
    return (Column(f"{s}_p_best", f"{s} P(best)", "prob", ".2f", HIGHER, group),
            Column(f"{s}_in_set", f"{s} in the 95% set", "text", "", None, group),
            Column(f"{s}_rank_lo", f"{s} rank 2.5%", "rank", "", LOWER, group),
            Column(f"{s}_rank_hi", f"{s} rank 97.5%", "rank", "", LOWER, group),
            Column(f"{s}_regret", f"{s} expected regret", "score", ".2f", LOWER, group),
            Column(f"{s}_seeds_to_separate", f"{s} seeds to separate", "text", "", None, group))


# direction="task": the direction of the benchmark's / task's main score, filled in by expand().
IDENTITY = (
    Column("row", "model", "text", short="model"),
    Column("model", "model id", "text"),
    Column("revision", "revision", "text", picker=(4, "revision")),
    Column("method", "method", "text", picker=(3, "method")),
    Column("family", "family", "text", picker=(1, "family"), picked=True, short="family"),
    Column("parameters", "params", "params", picker=(2, "parameters"), picked=True, short="params"),
    # what a run trains and saves (like params: the row's first task; heads differ by task): LoRA beside fine-tuning
    Column("trainable_parameters", "trainable params", "params", "", LOWER, picker=(6, "trainable params"),
           short="trainable"),
    Column("checkpoint_mb", "checkpoint MB", "size", ".1f", LOWER, picker=(7, "checkpoint MB"), short="ckpt MB"),
    # median over the row's tasks of the kept checkpoints' p50 single-input latency (harness.latency: 1 CPU thread)
    Column("latency_ms", "p50 latency ms", "size", ".1f", LOWER, picker=(8, "p50 latency ms"), short="p50 ms"),
    Column("max_unk_rate", "max UNK rate", "rate", ".1%", LOWER, warn_above=UNK_WARN, picker=(5, "max UNK rate")),
)
PICKABLE = tuple(sorted((c for c in IDENTITY if c.picker), key=lambda c: c.picker[0]))  # the picker's columns, in order
IN_MARKDOWN = tuple(c for c in IDENTITY if c.short)  # leaderboard.md's identity columns, after its rank
PER_BENCHMARK = (
    Column("{bench}_rank", "{bench} rank", "rank", "", LOWER, "benchmark"),
    Column("{bench}_avg", "{bench} avg", "score", ".1f", "task", "benchmark"),
    Column("{bench}_tasks", "{bench} tasks", "text", "", None, "benchmark"),
    Column("{bench}_failed", "{bench} tasks with failed runs", "count", "", None, "benchmark"),  # average partial
    *DECISION("bench", "benchmark"),
)
PER_TASK = (
    Column("{task}", "{task}", "score", ".1f", "task", "task"),
    Column("{task}_std", "{task} std", "score", ".1f", None, "task"),
    Column("{task}_n", "{task} n", "count", "", None, "task"),
    Column("{task}_folds", "{task} folds", "count", "", None, "task"),
    Column("{task}_unk", "{task} UNK rate", "rate", ".1%", LOWER, "task", UNK_WARN),
    Column("{task}_tuned", "{task} tuned", "text", "", None, "task"),  # a search's chosen values and trial count
    # failed runs of the configuration shown that no success replaced, and why (leaderboard.failures)
    Column("{task}_failed", "{task} failed runs", "count", "", None, "task"),
    Column("{task}_failed_reason", "{task} failure", "text", "", None, "task"),
    *DECISION("task", "task"),
)
COLUMNS = IDENTITY + PER_BENCHMARK + PER_TASK


def bench_column(template: str, bench: str) -> Column:
    """The per-benchmark column declared as ``template`` (e.g. "{bench}_avg"), expanded for ``bench``."""
    return next(c for c in PER_BENCHMARK if c.name == template).expand(bench=bench)


def task_column(template: str, task: str) -> Column:
    """The per-task column declared as ``template`` (e.g. "{task}_p_best"), expanded for ``task``."""
    return next(c for c in PER_TASK if c.name == template).expand(task=task)


RANK_INTERVAL_TITLE = "{scope} rank 95%"  # the header of a scope's rank interval ({scope}_rank_lo to _rank_hi)


def decision_titles(scope: str, bench: bool) -> tuple[str, str]:
    """The headers of a benchmark average's (``bench``) or a task's P(best) and rank interval, as the app's display
    table and leaderboard.md show them: ('demo P(best)', 'demo rank 95%')."""
    p_best = bench_column("{bench}_p_best", scope) if bench else task_column("{task}_p_best", scope)
    return p_best.title, RANK_INTERVAL_TITLE.format(scope=scope)


def table_columns(benches: dict[str, list[str]], directions: Optional[dict[str, str]] = None) -> list[Column]:
    """The declared columns expanded for these benchmarks (name -> tasks), in display order.

    ``directions``: task or benchmark -> "higher" / "lower" / "mixed" (missing: "higher")."""
    directions = directions or {}
    out = list(IDENTITY)
    for b, tasks in benches.items():
        out += [c.expand(bench=b, direction=directions.get(b, HIGHER)) for c in PER_BENCHMARK]
        for t in tasks:
            out += [c.expand(task=t, direction=directions.get(t, HIGHER)) for c in PER_TASK]
    return out


def is_missing(value: Any) -> bool:
    """None, NaN, pd.NA / NaT or an empty string."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # lists and other containers
        return False


def _params(n: float) -> str:
    if n >= 1e9:
        return f"{n / 1e9:.1f}B"
    return f"{n / 1e6:.1f}M" if n >= 1e6 else f"{n / 1e3:.0f}K"


def format_cell(column_or_kind: Column | str, value: Any, *, std: Any = None, n: Any = None, folds: Any = None,
                unk: Any = None, marker: str = "") -> str:
    """Text of one cell: '—' when missing; a score '82.0', or '82.0 ± 2.0 (n=3)' / '(n=10, 5 folds)' with its
    spread ('82.0 (n=1)' for one run: no spread to show), plus ' ⚠UNK 60%' when ``unk`` is over UNK_WARN; counts
    and ranks as integers; parameters '22.7M'; rates '1.2%' (' ⚠' over the column's warn_above); sizes (MB) '12.3'
    (below 0.1: '0.04'); text as is. ``marker`` (significance) is appended."""
    col = column_or_kind if isinstance(column_or_kind, Column) else Column("", "", column_or_kind)
    if col.kind not in KINDS:
        raise ValueError(f"unknown column kind '{col.kind}' (one of {', '.join(KINDS)})")
    if is_missing(value):
        return MISSING
    if col.kind == "score":
        text = format(float(value), col.fmt or ".1f")
        if not is_missing(std) and (is_missing(n) or int(n) > 1):  # one run has no spread: "(n=1)", not "± 0.0"
            text += f" ± {format(float(std), col.fmt or '.1f')}"
        if not is_missing(n):
            many = not is_missing(folds) and int(folds) > 1
            text += f" (n={int(n)}" + (f", {int(folds)} folds)" if many else ")")
        if not is_missing(unk) and float(unk) > UNK_WARN:
            text += f" ⚠UNK {float(unk):.0%}"
    elif col.kind == "prob":
        text = format(float(value), col.fmt or ".2f")
    elif col.kind in ("count", "rank"):
        text = str(int(value))
    elif col.kind == "params":
        text = _params(float(value))
    elif col.kind == "size":
        text = format(float(value), col.fmt or ".1f") if float(value) >= 0.1 else f"{float(value):.2g}"
    elif col.kind == "rate":
        text = format(float(value), col.fmt or ".1%")
        if col.warn_above is not None and float(value) > col.warn_above:
            text += " ⚠"
    else:
        text = str(value)
    return f"{text} {marker}".rstrip() if marker else text


def rank_interval(lo: Any, hi: Any) -> str:
    """A rank interval as shown: '1–3', '2' when both ends agree, '—' when missing."""
    if is_missing(lo) or is_missing(hi):
        return MISSING
    return f"{int(lo)}" if int(lo) == int(hi) else f"{int(lo)}–{int(hi)}"


def row_label(model: str, method: str = DEFAULT_METHOD, tuning: Optional[str] = None, untrained: bool = False) -> str:
    """A leaderboard row's name everywhere (table, plots, CSV, significance, compare): the model, then in brackets
    the method when it is not plain fine-tuning and the tuning tag when there is one, then ' (untrained)'.

    'minilm', 'minilm [prompt]', 'minilm [prompt, tuned]', 'ernie-3.0 (untrained)'."""
    tags = [t for t in (None if not method or method == DEFAULT_METHOD else str(method),
                        None if is_missing(tuning) else str(tuning)) if t]
    return str(model) + (f" [{', '.join(tags)}]" if tags else "") + (" (untrained)" if bool(untrained) else "")


def row_labels(frame: pd.DataFrame) -> list[str]:
    """row_label of each row of a frame with model and method columns (tuning and untrained when present)."""
    n = len(frame)
    get = lambda col, default: list(frame[col]) if col in frame else [default] * n  # noqa: E731
    untrained = [False if is_missing(u) else bool(u) for u in get("untrained", False)]
    return [row_label(m, meth, tun, u) for m, meth, tun, u in zip(get("model", ""), get("method", DEFAULT_METHOD),
                                                                  get("tuning", None), untrained)]


def distinct_row_labels(frame: pd.DataFrame) -> list[str]:
    """row_labels, told apart where two rows would share one (same model and method under two revisions): those get
    ' @ <revision>', and ' #2', ' #3' ... if still equal. Rows with a label of their own keep it unchanged."""
    labels = row_labels(frame)
    revs = [str(r) for r in frame["revision"]] if "revision" in frame else [""] * len(labels)
    dup = pd.Series(labels).duplicated(keep=False)
    labels = [f"{lab} @ {rev}" if d and rev else lab for lab, rev, d in zip(labels, revs, dup)]
    seen: dict[str, int] = {}
    out = []
    for lab in labels:
        seen[lab] = seen.get(lab, 0) + 1
        out.append(lab if seen[lab] == 1 else f"{lab} #{seen[lab]}")
    return out


def ranking_ascending(direction: Optional[str]) -> bool:
    """Sort ascending to put the best first? True for a lower-is-better score."""
    return direction == LOWER


def common_direction(directions: Sequence[str]) -> str:
    """The one direction these scores share ("higher" when empty), or "mixed"."""
    found = {d if d in DIRECTIONS else HIGHER for d in directions}
    return found.pop() if len(found) == 1 else (HIGHER if not found else MIXED)

