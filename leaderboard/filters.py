"""Filter, sort and format the wide leaderboard table for display (pure pandas, no Gradio)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import pandas as pd

from harness.kinds import InputError

from .columns import IDENTITY, MISSING, PER_BENCHMARK, PICKABLE, bench_column, decision_titles, format_cell, task_column
from .table import avg_cell, benchmarks, task_cell

OPTIONAL_COLUMNS = tuple(c.picker[1] for c in PICKABLE)  # the labels of the app's "extra columns" picker
DEFAULT_COLUMNS = tuple(c.picker[1] for c in PICKABLE if c.picked)
ROW = IDENTITY[0]  # the row label's column


@dataclass
class Filters:
    """What the user chose. Empty lists mean 'everything'."""

    languages: Sequence[str] = ()
    benchmarks: Sequence[str] = ()
    families: Sequence[str] = ()
    methods: Sequence[str] = ()
    min_params_m: Optional[float] = None
    max_params_m: Optional[float] = None
    search: str = ""
    columns: Sequence[str] = DEFAULT_COLUMNS
    sort_by: Optional[str] = None  # a benchmark ("<b> avg"), a task name, "model" or "parameters"
    descending: bool = True
    markers: dict[tuple[str, str], str] = field(default_factory=dict)  # (row label, task) -> "≈" / ">" / "<"
    licenses: Sequence[str] = ()  # data licences of the tasks shown (and models' licences, where given)
    hide_untrained: bool = False  # untrained baselines (random init)
    hide_partial: bool = False  # rows without an average in a shown benchmark (tasks missing or failed)
    # scope (a benchmark average or a task) -> row label -> (P(best), rank interval '1–3'): the decision of the rows
    # shown (leaderboard.decision.table_cells); each scope given adds its two columns after its score, '—' for a
    # row that takes no part
    decision: dict[str, dict[str, tuple[float, str]]] = field(default_factory=dict)
    tasks: Sequence[str] = ()  # the tasks shown; a benchmark average stays the average over all its tasks
    task_decision: bool = False  # each task's P(best) and rank interval columns too (the averages' always, when given)


def choices(table: pd.DataFrame, task_info: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    """The values each filter can take, from the table and the tasks' info."""
    tasks = [t for ts in benchmarks(table).values() for t in ts]
    get = lambda col: sorted({str(v) for v in table[col].dropna()}) if col in table else []  # noqa: E731
    sorts = [bench_column("{bench}_avg", b).title for b in benchmarks(table)] + tasks + ["model", "parameters"]
    licenses = {str(task_info.get(t, {}).get("license", "not stated")) for t in tasks}
    licenses |= {str(v) for v in table.get("model_license", pd.Series(dtype=object)).dropna()}
    return {"languages": sorted({task_info.get(t, {}).get("language", "?") for t in tasks}),
            "benchmarks": list(benchmarks(table)), "families": get("family"), "methods": get("method"),
            "columns": list(OPTIONAL_COLUMNS), "sort_by": sorts, "licenses": sorted(licenses), "tasks": tasks}


def visible_tasks(table: pd.DataFrame, task_info: dict[str, dict[str, Any]], f: Filters) -> dict[str, list[str]]:
    """Benchmark -> its tasks that pass the language and benchmark filters."""
    out = {}
    for b, tasks in benchmarks(table).items():
        if f.benchmarks and b not in f.benchmarks:
            continue
        keep = [t for t in tasks if (not f.tasks or t in f.tasks)
                and (not f.languages or task_info.get(t, {}).get("language") in f.languages)
                and (not f.licenses or str(task_info.get(t, {}).get("license", "not stated")) in f.licenses)]
        if keep:
            out[b] = keep
    return out


def _sort_key(table: pd.DataFrame, sort_by: Optional[str]) -> Optional[str]:
    if not sort_by:
        return None
    averages = {c.title: c.name for c in (bench_column("{bench}_avg", b) for b in benchmarks(table))}
    if sort_by in averages:
        return averages[sort_by]
    return sort_by if sort_by in table else None


def _param_range(f: Filters) -> tuple[Optional[float], Optional[float]]:
    """The parameter range in millions (None: unbounded; an empty box or 0 as max means unset); a range that
    selects nothing by construction is an InputError, not an empty table."""
    lo = f.min_params_m if f.min_params_m is not None and not math.isnan(f.min_params_m) else None
    hi = f.max_params_m if f.max_params_m is not None and not math.isnan(f.max_params_m) and f.max_params_m > 0 \
        else None
    if lo is not None and lo < 0:
        raise InputError(f"parameters: min {lo:g} M is negative; expected a size in millions, or empty")
    if lo is not None and hi is not None and lo > hi:
        raise InputError(f"parameters: min {lo:g} M is above max {hi:g} M; nothing can match")
    return lo, hi


def filter_rows(table: pd.DataFrame, f: Filters, tasks: list[str], benches: Sequence[str] = ()) -> pd.DataFrame:
    """The rows that pass the family, method, licence, parameter-range, baseline, partial and text filters and have
    a score (or a failed cell) shown; ``benches``: the benchmarks shown (for hide_partial)."""
    keep = pd.Series(True, index=table.index)
    if f.hide_untrained and "untrained" in table:
        keep &= ~table["untrained"].fillna(False).astype(bool)
    if f.hide_partial:
        for b in benches:
            keep &= table[f"{b}_avg"].notna() if f"{b}_avg" in table else False
    if f.licenses and "model_license" in table:  # a model's own licence, where the models file gives one
        lic = table["model_license"]
        keep &= lic.isna() | lic.astype(str).isin(list(f.licenses))
    if f.families:
        keep &= table["family"].astype(str).isin(list(f.families))
    if f.methods:
        keep &= table["method"].astype(str).isin(list(f.methods))
    lo, hi = _param_range(f)
    if lo is not None:
        keep &= table["parameters"] >= lo * 1e6
    if hi is not None:
        keep &= table["parameters"] <= hi * 1e6
    q = (f.search or "").strip().lower()
    if q:
        hay = (table["model"].astype(str) + " " + table["family"].astype(str) + " " + table["revision"].astype(str)
               + " " + table["method"].astype(str)).str.lower()
        keep &= hay.str.contains(q, regex=False)
    if tasks:  # a cell whose runs all failed is shown too ("failed")
        failed = [f"{t}_failed" for t in tasks if f"{t}_failed" in table]
        keep &= table[tasks].notna().any(axis=1) | (table[failed].fillna(0) > 0).any(axis=1)
    else:
        keep &= False
    return table[keep]


def shown_rows(table: pd.DataFrame, task_info: dict[str, dict[str, Any]], f: Filters
               ) -> tuple[dict[str, list[str]], pd.DataFrame]:
    """What the filters show: benchmark -> its tasks shown (visible_tasks), and the rows (filter_rows, unsorted)."""
    vis = visible_tasks(table, task_info, f)
    return vis, filter_rows(table, f, [t for ts in vis.values() for t in ts], list(vis))


def _decision_columns(out: pd.DataFrame, f: Filters, scope: str, labels: list[str], bench: bool) -> None:
    """A scope's P(best) and rank interval columns, when ``f.decision`` has the scope."""
    if scope not in f.decision:
        return
    got = f.decision[scope]
    p_title, r_title = decision_titles(scope, bench)
    p_col = bench_column("{bench}_p_best", scope) if bench else task_column("{task}_p_best", scope)
    out[p_title] = [format_cell(p_col, got[lab][0]) if lab in got else MISSING for lab in labels]
    out[r_title] = [got[lab][1] if lab in got else MISSING for lab in labels]


def column_task(column: str, tasks: Sequence[str]) -> Optional[str]:
    """The task a display column belongs to: its score column or its P(best) / rank interval; None for others."""
    return next((t for t in tasks if column == t or column in decision_titles(t, bench=False)), None)


def column_bench(column: str, benches: Sequence[str]) -> Optional[str]:
    """The benchmark a display column belongs to: its rank, average, tasks or decision columns; None for others."""
    return next((b for b in benches if column in {c.expand(bench=b).title for c in PER_BENCHMARK}
                 or column in decision_titles(b, bench=True)), None)


def model_groups(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows in their order, except that a model's rows (one per method) follow its first row: its LoRA or
    prompt row sits under its fine-tuned one, not unranked at the bottom. The table's default order; a sort the
    user picks is applied as it is."""
    if rows.empty:
        return rows
    key = list(zip(rows["model"].astype(str), rows["revision"].astype(str)))
    first = {}
    for i, k in enumerate(key):
        first.setdefault(k, i)
    return rows.iloc[sorted(range(len(rows)), key=lambda i: (first[key[i]], i))]


def filter_table(table: pd.DataFrame, task_info: dict[str, dict[str, Any]], f: Filters
                 ) -> tuple[pd.DataFrame, int]:
    """The display table (formatted cells, chosen columns, sorted) and how many rows the filters hide."""
    if table.empty or "model" not in table:
        return pd.DataFrame(columns=["model"]), 0
    vis, rows = shown_rows(table, task_info, f)
    key = _sort_key(rows, f.sort_by)
    if key:
        rows = rows.sort_values(key, ascending=not f.descending, na_position="last", kind="stable")
    else:
        rows = model_groups(rows)
    out = pd.DataFrame(index=rows.index)
    labels = list(rows["row"])
    out[ROW.title] = labels
    chosen = set(f.columns)
    # the scores first (each benchmark's rank, average and decision beside the row's name: what a narrow screen
    # shows), then the chosen descriptive columns, then every task's cells
    for b, ts in vis.items():
        all_tasks = benchmarks(table)[b]
        rank, avg = bench_column("{bench}_rank", b), bench_column("{bench}_avg", b)
        out[rank.title] = [format_cell(rank, r) for r in rows[rank.name]]
        out[avg.title] = [avg_cell(table, r, b) for _, r in rows.iterrows()]
        if len(ts) < len(all_tasks):
            out[avg.title] = out[avg.title] + " (all tasks)"
        _decision_columns(out, f, b, labels, bench=True)
    for col in PICKABLE:
        if col.picker[1] in chosen:
            out[col.title] = [format_cell(col, v) for v in rows[col.name]]
    for b, ts in vis.items():
        for t in ts:
            out[t] = [task_cell(r, t, f.markers.get((lab, t), "")) for lab, (_, r) in zip(labels, rows.iterrows())]
            if f.task_decision:
                _decision_columns(out, f, t, labels, bench=False)
    return out.reset_index(drop=True), int(len(table) - len(rows))


def caveats_markdown(task_info: dict[str, dict[str, Any]], tasks: Optional[Sequence[str]] = None) -> str:
    """License and caveats per task, as Markdown shown beside the scores."""
    lines = ["| task | benchmark | language | license | caveats |", "|---|---|---|---|---|"]
    for t in tasks if tasks is not None else sorted(task_info):
        i = task_info.get(t, {})
        cav = "; ".join(i.get("caveats") or []) or "—"
        lines.append(f"| {t} | {i.get('benchmark', '?')} | {i.get('language', '?')} | {i.get('license', '?')} "
                     f"| {cav} |")
    return "\n".join(lines) + "\n"
