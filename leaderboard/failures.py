"""Failed runs on the leaderboard: which a cell counts, the per-seed list below the table, and the CLI summary.

A cell lists a failure (`seed<k>.failed.json`) only when it belongs to the configuration the cell shows (the
config hash `aggregate` chose; where no run succeeded, the failed configuration with the most runs, then the newest)
and no success of the same configuration, fold and seed replaced it. A listed failure counts against the cell unless
it is an infrastructure failure (harness.failure_class: the machine lost the run) and a run of the same
configuration and fold succeeded: then the cell has a score of that fold and the lost run says nothing about the
model. A cell with counted failures shows "failed" (no run succeeded) or "k of n failed" beside the score, and its
row's benchmark average is partial. Every listed failure, counted or not, is in the list below the table with its
class.
"""
from __future__ import annotations

from typing import Any, Optional

import pandas as pd

from harness.failure_class import INFRASTRUCTURE, describe

from .columns import row_label

CELL = ["model", "revision", "method", "task"]
UNIT = ["config_hash", "fold", "seed"]
COLUMNS = CELL + ["failed", "reason", "benchmark", "direction"]


def _frame(failures: list[dict]) -> pd.DataFrame:
    """The failure entries (leaderboard.result_files.read_entry) as a frame, fold '' where none."""
    cols = CELL + UNIT + ["error", "kind", "cause", "step", "created_at", "benchmark", "direction", "path",
                          "untrained"]
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


NOT_COUNTED = "not counted: a run of the same fold succeeded"


def reason_text(row: Any) -> str:
    """'loss became NaN at step 37 (diverged)': the reason with its class ('infrastructure: worker lost'), unless the
    reason already starts with it (a damaged file's); an infrastructure failure the cell does not count says so."""
    get = row.get if hasattr(row, "get") else (lambda _k, _d=None: None)
    failure_kind = get("kind")  # a class of harness.failure_class, or the board's damaged / unreadable
    reason = str(get("error") or "unknown error")
    cause = get("cause")
    cause = cause if isinstance(cause, str) and cause else None
    plain = not isinstance(failure_kind, str) or failure_kind == "" or reason.startswith(failure_kind)
    what = "" if plain else describe(failure_kind, cause)
    counts = get("counts")
    if counts is not None and not pd.isna(counts) and not counts:
        what = f"{what}; {NOT_COUNTED}" if what else NOT_COUNTED
    return reason + (f" ({what})" if what else "")


def listed(runs: pd.DataFrame, agg: pd.DataFrame, failures: list[dict]) -> pd.DataFrame:
    """The failed runs the leaderboard lists (the shown configuration, not replaced), one row per run, with
    'counts': False for an infrastructure failure of a fold that has a successful run (module docstring)."""
    f = standing(runs, failures)
    if f.empty:
        return f.assign(counts=pd.Series(dtype=bool))
    f = f.merge(_shown_config(f, agg), on=CELL + ["config_hash"])
    fold_ok = _succeeded(runs)[CELL + ["config_hash", "fold"]].drop_duplicates().assign(_fold_ok=True)
    f = f.merge(fold_ok, on=CELL + ["config_hash", "fold"], how="left")
    excused = (f["kind"] == INFRASTRUCTURE) & f["_fold_ok"].notna()
    return f.assign(counts=~excused).drop(columns="_fold_ok").sort_values(CELL + ["fold", "seed"])


def counted(runs: pd.DataFrame, agg: pd.DataFrame, failures: list[dict]) -> pd.DataFrame:
    """The listed failed runs that count against their cell, one row per run."""
    f = listed(runs, agg, failures)
    return f[f["counts"]] if not f.empty else f


def per_cell(shown: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, revision, method, task) with failed runs counted (`listed` rows whose 'counts' is True;
    every row when the column is absent): 'failed' (runs), 'reason' (the distinct reasons), its benchmark and
    direction."""
    if "counts" in shown and not shown.empty:
        shown = shown[shown["counts"].astype(bool)]
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
    lines = ["", "Failures: runs of the configuration shown that failed, with the class of the failure (\"failed\": "
             "no run succeeded; \"k of n failed\": beside the mean of the runs that did). A row with failures gets "
             "a partial benchmark average, except for infrastructure failures (the machine lost the run) of a fold "
             "that has a successful run: those are listed, not counted. Rerunning the command runs them again.", "",
             "| model | task | seed | reason |", "|---|---|---|---|"]
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
    excused = listed(runs, agg, failures)
    excused = excused.loc[~excused["counts"].astype(bool), CELL + UNIT].assign(counts=False)
    f = f.merge(excused, on=CELL + UNIT, how="left")
    f["counts"] = f["counts"].astype(object).where(f["counts"].notna(), True)
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
