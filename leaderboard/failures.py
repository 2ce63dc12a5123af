"""Failed runs on the leaderboard: which a cell counts, the per-seed list below the table, and the CLI summary.

A cell counts a failure (`seed<k>.failed.json`) only when it belongs to the configuration the cell shows (the
config hash `aggregate` chose; where no run succeeded, the failed configuration with the most runs, then the newest)
and no success of the same configuration, fold and seed replaced it. Such a cell shows "failed" (no run succeeded)
or "k of n failed" beside the score, and its row's benchmark average is partial.
"""
from __future__ import annotations

from typing import Any, Optional

import pandas as pd

from .columns import row_label

CELL = ["model", "revision", "method", "task"]
UNIT = ["config_hash", "fold", "seed"]
COLUMNS = CELL + ["failed", "reason", "benchmark", "direction"]


def _frame(failures: list[dict]) -> pd.DataFrame:
    """The failure entries (leaderboard.result_files.read_entry) as a frame, fold '' where none."""
    cols = CELL + UNIT + ["error", "kind", "step", "created_at", "benchmark", "direction", "path"]
    f = pd.DataFrame(failures, columns=cols) if failures else pd.DataFrame(columns=cols)
    return f.assign(fold=f["fold"].fillna("").astype(str), revision=f["revision"].fillna("").astype(str),
                    created_at=f["created_at"].fillna("").astype(str))


def _succeeded(runs: pd.DataFrame) -> pd.DataFrame:
    """(cell, config, fold, seed) of every successful run."""
    if runs.empty:
        return pd.DataFrame(columns=CELL + UNIT)
    folds = runs["fold"].fillna("").astype(str) if "fold" in runs else ""
    return runs.assign(fold=folds)[CELL + UNIT].drop_duplicates()


def standing(runs: pd.DataFrame, failures: list[dict]) -> pd.DataFrame:
    """Failures that no success of the same configuration, fold and seed replaced (one row per failed run), with
    'benchmark' filled from the task's successful runs where the failed record lacks it."""
    f = _frame(failures)
    if f.empty:
        return f
    ok = _succeeded(runs)
    f = f.merge(ok.assign(_ok=True), on=CELL + UNIT, how="left")
    f = f[f["_ok"].isna()].drop(columns="_ok")
    if not runs.empty and "benchmark" in runs:
        known = runs.groupby("task")["benchmark"].first()
        f = f.assign(benchmark=f["benchmark"].fillna(f["task"].map(known)))
    return f.reset_index(drop=True)


def _shown_config(f: pd.DataFrame, agg: pd.DataFrame) -> pd.DataFrame:
    """Per cell, the configuration it shows: aggregate's where a run succeeded, else the failed one with the most
    runs, then the newest."""
    shown = agg[CELL + ["config_hash"]] if not agg.empty else pd.DataFrame(columns=CELL + ["config_hash"])
    by_cfg = (f.assign(run=f["fold"] + "/" + f["seed"].astype(str))
              .groupby(CELL + ["config_hash"], as_index=False).agg(n=("run", "nunique"), newest=("created_at", "max")))
    only_failed = (by_cfg.sort_values(["n", "newest"], ascending=False).drop_duplicates(CELL)[CELL + ["config_hash"]]
                   .merge(shown[CELL].assign(_has=True), on=CELL, how="left"))
    only_failed = only_failed[only_failed["_has"].isna()].drop(columns="_has")
    return pd.concat([shown, only_failed], ignore_index=True)


def reason_text(row: Any) -> str:
    """'loss became NaN at step 37 (diverged)': the reason, with the kind when it is not a plain error."""
    failure_kind = row.get("kind") if hasattr(row, "get") else None  # diverged, oom, error (not a task kind)
    reason = str(row.get("error") or "unknown error")
    plain = not isinstance(failure_kind, str) or failure_kind in ("", "error") or reason.startswith(failure_kind)
    return reason + ("" if plain else f" ({failure_kind})")


def counted(runs: pd.DataFrame, agg: pd.DataFrame, failures: list[dict]) -> pd.DataFrame:
    """The failed runs the leaderboard counts (the shown configuration, not replaced), one row per run."""
    f = standing(runs, failures)
    if f.empty:
        return f
    return f.merge(_shown_config(f, agg), on=CELL + ["config_hash"]).sort_values(CELL + ["fold", "seed"])


def per_cell(shown: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, revision, method, task) with failed runs counted: 'failed' (runs), 'reason' (the
    distinct reasons), its benchmark and direction."""
    if shown.empty:
        return pd.DataFrame(columns=COLUMNS)
    shown = shown.assign(run=shown["fold"] + "/" + shown["seed"].astype(str),
                         why=[reason_text(r) for _, r in shown.iterrows()])
    return shown.groupby(CELL, as_index=False).agg(
        failed=("run", "nunique"), reason=("why", lambda s: _join(list(dict.fromkeys(s)))),
        benchmark=("benchmark", "first"), direction=("direction", "first"))[COLUMNS]


def _join(reasons: list[str], most: int = 3) -> str:
    return "; ".join(reasons[:most]) + (f"; ... ({len(reasons) - most} more)" if len(reasons) > most else "")


def run_label(fold: str, seed: Any) -> str:
    """'1' or '1 (fold 0)': which run of a cell failed."""
    return f"{seed}" + (f" (fold {fold})" if fold else "")


def markdown_section(shown: list[dict]) -> list[str]:
    """Below the Markdown table: one line per failed run the table counts (model, task, seed, reason)."""
    if not shown:
        return []
    lines = ["", "Failures: runs of the configuration shown that failed (\"failed\": no run succeeded; \"k of n "
             "failed\": beside the mean of the runs that did). A row with failures gets a partial benchmark average. "
             "Rerunning the command runs them again.", "", "| model | task | seed | reason |", "|---|---|---|---|"]
    for r in shown:
        lines.append(f"| {row_label(r['model'], r['method'])} | {r['task']} | {run_label(r['fold'], r['seed'])} "
                     f"| {reason_text(r)} |")
    return lines


def summary(runs: pd.DataFrame, agg: pd.DataFrame, failures: list[dict]) -> list[str]:
    """One line per failed (model, task, method, configuration): its failed seeds of all runs, and why; failures of
    a configuration the table does not show say so. For `leaderboard` and the end of `run`."""
    f = standing(runs, failures)
    if f.empty:
        return []
    shown = _shown_config(f, agg).assign(_shown=True)
    f = f.merge(shown, on=CELL + ["config_hash"], how="left")
    ok = _succeeded(runs)
    lines = []
    for key, g in f.groupby(CELL + ["config_hash"], sort=True):
        model, _rev, method, task, chash = key
        succeeded = len(ok.merge(pd.DataFrame([key], columns=CELL + ["config_hash"]), on=CELL + ["config_hash"]))
        runs_failed = [run_label(fo, s) for fo, s in g[["fold", "seed"]].drop_duplicates().itertuples(index=False)]
        total = succeeded + len(runs_failed)
        reasons = _join(list(dict.fromkeys(reason_text(r) for _, r in g.iterrows())))
        which = "seed" if len(runs_failed) == 1 else "seeds"
        note = "" if g["_shown"].notna().any() else f" [configuration {chash}, not the one shown]"
        lines.append(f"failed: {row_label(model, method)} × {task}: {which} {', '.join(runs_failed)} of {total} — "
                     f"{reasons}{note}")
    return lines


def cell_text(score_text: Optional[str], failed: Any, succeeded: Any) -> Optional[str]:
    """A task cell with its failures: 'failed' (no run succeeded), '82.0 (n=2) · 1 of 3 failed', or None when the
    cell has no counted failure."""
    try:
        k = int(failed)
    except (TypeError, ValueError):
        return None
    if k <= 0:
        return None
    if score_text is None:
        return "failed"
    n = int(succeeded) if not pd.isna(succeeded) else 0
    return f"{score_text} · {k} of {k + n} failed"
