"""The board's significance marks, derived from the decision's resamples (leaderboard.decision), so the board never
says two different things: per task, each row (ranked by its score on the shared test examples, in the task's
direction) against the next-ranked one, the difference of their scores over the same joint resamples (the shared
test examples drawn with replacement, paired; each row's seeds, within folds, drawn with replacement) that give
P(best) and the rank intervals. ≈: the 95% interval of the difference includes 0; > / <: clearly better / worse.
"""
from __future__ import annotations

from dataclasses import asdict
from typing import Any, Optional

import pandas as pd

from harness.kinds import get_kind

from . import decision
from .data import AppData

NOTE = ("Significance marks (≈ > <) compare each row with the next-ranked one on that task over the same 1,000 "
        "joint resamples that give P(best) and the rank intervals (the shared test examples and each row's seeds, "
        "and folds, drawn with replacement; a row with one run: test sampling only): **≈** tie within noise (95% "
        "interval of the difference includes 0), **>** clearly better, **<** clearly worse.")
COLUMNS = ["task", "model", "next_model", "diff", "ci_low", "ci_high", "p_value", "n_examples", "tie", "method", "runs"]


def example_correct(kind: str, prediction: Any, gold: Any, task: Any = None) -> float:
    """1.0 when one prediction is right, as its task kind judges it (label equal, tag sequence equal, exact match
    with the task's normalisation, |error| <= 0.5 for regression)."""
    return get_kind(kind).example_correct(prediction, gold, task)


def pairs_table(decisions: dict[str, "decision.Decision"], draws: dict[str, "decision.TaskDraws"]) -> pd.DataFrame:
    """The adjacent pairs of every task's decision (benchmark averages are not marked), differences in points."""
    rows = []
    for scope, dec in decisions.items():
        if scope in draws and dec.tasks == [scope]:
            for p in decision.adjacent_pairs(dec, draws[scope].how):
                rows.append({**asdict(p), "task": p.scope})
    return pd.DataFrame(rows, columns=COLUMNS)


def significance_table(data: AppData, draws: Optional[dict[str, "decision.TaskDraws"]] = None) -> pd.DataFrame:
    """Every task's adjacent pairs over all rows (``draws``: already computed ones, else computed now)."""
    draws = decision.all_draws(data) if draws is None else draws
    return pairs_table(decision.view_decisions(draws, data.table), draws)


def tie_markers(sig: pd.DataFrame) -> dict[tuple[str, str], str]:
    """(row label, task) -> a mark against the next-ranked row, in the task's direction: '≈' within noise (the
    95% interval of the difference includes 0), '>' clearly better, '<' clearly worse."""
    return {(r.model, r.task): "≈" if r.tie else (">" if r.diff > 0 else "<") for r in sig.itertuples()}
