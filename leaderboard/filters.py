"""Filter, sort and format the wide leaderboard table for display (pure pandas, no Gradio)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import pandas as pd

from .table import UNK_WARN, benchmarks, display_name, runs_note

OPTIONAL_COLUMNS = ("family", "parameters", "method", "revision", "max UNK rate")
DEFAULT_COLUMNS = ("family", "parameters")


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
    markers: dict[tuple[str, str], str] = field(default_factory=dict)  # (model, task) -> "≈" / ">"


def choices(table: pd.DataFrame, task_info: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    """The values each filter can take, from the table and the tasks' info."""
    tasks = [t for ts in benchmarks(table).values() for t in ts]
    get = lambda col: sorted({str(v) for v in table[col].dropna()}) if col in table else []  # noqa: E731
    sorts = [f"{b} avg" for b in benchmarks(table)] + tasks + ["model", "parameters"]
    return {"languages": sorted({task_info.get(t, {}).get("language", "?") for t in tasks}),
            "benchmarks": list(benchmarks(table)), "families": get("family"), "methods": get("method"),
            "columns": list(OPTIONAL_COLUMNS), "sort_by": sorts}


def visible_tasks(table: pd.DataFrame, task_info: dict[str, dict[str, Any]], f: Filters) -> dict[str, list[str]]:
    """Benchmark -> its tasks that pass the language and benchmark filters."""
    out = {}
    for b, tasks in benchmarks(table).items():
        if f.benchmarks and b not in f.benchmarks:
            continue
        keep = [t for t in tasks if not f.languages or task_info.get(t, {}).get("language") in f.languages]
        if keep:
            out[b] = keep
    return out


def _cell(row: pd.Series, task: str, marker: str) -> str:
    v = row.get(task)
    if v is None or pd.isna(v):
        return "—"
    text = f"{v:.1f} ± {row[f'{task}_std']:.1f} ({runs_note(row, task)})"
    unk = row.get(f"{task}_unk")
    if unk is not None and not pd.isna(unk) and unk > UNK_WARN:
        text += f" ⚠UNK {unk:.0%}"
    return f"{text} {marker}".rstrip()


def _sort_key(table: pd.DataFrame, sort_by: Optional[str]) -> Optional[str]:
    if not sort_by:
        return None
    if sort_by.endswith(" avg") and f"{sort_by[:-4]}_avg" in table:
        return f"{sort_by[:-4]}_avg"
    return sort_by if sort_by in table else None


def filter_rows(table: pd.DataFrame, f: Filters, tasks: list[str]) -> pd.DataFrame:
    """The rows that pass the family, method, parameter-range and text filters and have a score shown."""
    keep = pd.Series(True, index=table.index)
    if f.families:
        keep &= table["family"].astype(str).isin(list(f.families))
    if f.methods:
        keep &= table["method"].astype(str).isin(list(f.methods))
    if f.min_params_m is not None and not math.isnan(f.min_params_m):
        keep &= table["parameters"] >= f.min_params_m * 1e6
    if f.max_params_m is not None and not math.isnan(f.max_params_m) and f.max_params_m > 0:
        keep &= table["parameters"] <= f.max_params_m * 1e6
    q = (f.search or "").strip().lower()
    if q:
        hay = (table["model"].astype(str) + " " + table["family"].astype(str) + " " + table["revision"].astype(str)
               + " " + table["method"].astype(str)).str.lower()
        keep &= hay.str.contains(q, regex=False)
    if tasks:
        keep &= table[tasks].notna().any(axis=1)
    else:
        keep &= False
    return table[keep]


def filter_table(table: pd.DataFrame, task_info: dict[str, dict[str, Any]], f: Filters
                 ) -> tuple[pd.DataFrame, int]:
    """The display table (formatted cells, chosen columns, sorted) and how many rows the filters hide."""
    if table.empty or "model" not in table:
        return pd.DataFrame(columns=["model"]), 0
    vis = visible_tasks(table, task_info, f)
    tasks = [t for ts in vis.values() for t in ts]
    rows = filter_rows(table, f, tasks)
    key = _sort_key(rows, f.sort_by)
    if key:
        rows = rows.sort_values(key, ascending=not f.descending, na_position="last", kind="stable")
    out = pd.DataFrame(index=rows.index)
    out["model"] = [display_name(m, meth) + (" (untrained)" if bool(u) else "")
                    for m, meth, u in zip(rows["model"], rows["method"], rows["untrained"])]
    cols = set(f.columns)
    if "family" in cols:
        out["family"] = rows["family"]
    if "parameters" in cols:
        out["params (M)"] = (rows["parameters"] / 1e6).round(2)
    if "method" in cols:
        out["method"] = rows["method"]
    if "revision" in cols:
        out["revision"] = rows["revision"]
    if "max UNK rate" in cols:
        out["max UNK rate"] = rows["max_unk_rate"].map(lambda x: f"{x:.1%}" + (" ⚠" if x > UNK_WARN else ""))
    for b, ts in vis.items():
        all_tasks = benchmarks(table)[b]
        out[f"{b} rank"] = rows[f"{b}_rank"].map(lambda r: "—" if pd.isna(r) else str(int(r)))
        out[f"{b} avg"] = [f"{a:.1f}" if pd.notna(a) else f"partial ({n})"
                           for a, n in zip(rows[f"{b}_avg"], rows[f"{b}_tasks"])]
        if len(ts) < len(all_tasks):
            out[f"{b} avg"] = out[f"{b} avg"] + " (all tasks)"
        for t in ts:
            out[t] = [_cell(r, t, f.markers.get((display_name(r["model"], r["method"]), t), ""))
                      for _, r in rows.iterrows()]
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
