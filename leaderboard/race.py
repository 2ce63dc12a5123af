"""A raced study on the board: from the runs whose records carry `execution.race` (harness.race, `run --race`), the
line "decided after N runs (a full grid: M)" — N the study's runs (successes and failures), M its cells (model ×
task × method × fold) times the race's most seeds per cell — or, where a scope is still open, which rows it left.
"""
from __future__ import annotations

from typing import Mapping, Optional, Sequence

import pandas as pd

from .decision import Decision

RACE_COLUMNS = ["model", "revision", "method", "task", "fold", "benchmark", "race_round", "race_max_seeds",
                "race_scope"]
CELL = ["model", "revision", "method", "task", "fold"]


def raced(runs: pd.DataFrame, failures: Sequence[dict] = ()) -> pd.DataFrame:
    """The raced runs and failed runs, one row each (RACE_COLUMNS); empty when nothing was raced."""
    parts = [runs.reindex(columns=RACE_COLUMNS)] if len(runs) else []
    if failures:
        parts.append(pd.DataFrame(list(failures)).reindex(columns=RACE_COLUMNS))
    if not parts:
        return pd.DataFrame(columns=RACE_COLUMNS)
    both = pd.concat(parts, ignore_index=True)
    both = both[both["race_round"].notna()]
    return both.assign(fold=both["fold"].fillna("").astype(str))


def _scopes(study: pd.DataFrame, decisions: Mapping[str, Decision], scope: str) -> list[tuple[str, Optional[Decision]]]:
    """The scopes the race decided: each benchmark's average (its tasks where it has none: mixed directions), or
    each task."""
    if scope == "task":
        return [(t, decisions.get(t)) for t in sorted(set(study["task"]))]
    out: list[tuple[str, Optional[Decision]]] = []
    for b, rows in study.groupby("benchmark", sort=True):
        if b in decisions:
            out.append((str(b), decisions[b]))
        else:
            out += [(str(t), decisions.get(str(t))) for t in sorted(set(rows["task"]))]
    return out


def summary(runs: pd.DataFrame, failures: Sequence[dict], decisions: Mapping[str, Decision]) -> Optional[str]:
    """The board's line for a raced study (None when no run was raced): "decided after N runs (a full grid: M)",
    or the scopes still open and their contenders, by the decisions over every run (leaderboard.decision)."""
    study = raced(runs, failures)
    if study.empty:
        return None
    n = len(study)
    cells = len(study.drop_duplicates(CELL))
    most = int(study["race_max_seeds"].max())
    scope = str(study["race_scope"].dropna().mode().iloc[0]) if study["race_scope"].notna().any() else "benchmark"
    grid = f"a full grid: {cells * most} = {cells} cells × {most} seeds"
    still = [(name, dec) for name, dec in _scopes(study, decisions, scope) if dec is None or not dec.decided]
    if not still:
        return f"**Race**: decided after {n} runs ({grid})."
    open_text = "; ".join(f"{name} ({', '.join(r.label for r in dec.contenders)})" if dec is not None and dec.rows
                          else f"{name} (no decision: no saved predictions)" for name, dec in still)
    return f"**Race**: not decided after {n} runs ({grid}); still open: {open_text}."
