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

# the marks in code spans: bold `**≈**` before text rendered as a stray bold run in the app's note
NOTE = ("Significance marks (≈ > <) compare each row with the next one below it when the board is sorted by that task "
        "(ties in the board's order; rows the filters hide take no part) over the same 1,000 "
        "joint resamples that give P(best) and the rank intervals (the shared test examples and each row's seeds, "
        "and folds, drawn with replacement; a row with one run: test sampling only): `≈` tie within noise (95% "
        "interval of the difference includes 0), `>` clearly better, `<` clearly worse.")
COLUMNS = ["task", "model", "next_model", "diff", "ci_low", "ci_high", "p_value", "n_examples", "tie", "method", "runs",
           "resamples"]


def example_correct(kind: str, prediction: Any, gold: Any, task: Any = None) -> float:
    """1.0 when one prediction is right, as its task kind judges it (label equal, tag sequence equal, exact match
    with the task's normalisation, |error| <= 0.5 for regression)."""
    return get_kind(kind).example_correct(prediction, gold, task)


def pairs_table(decisions: dict[str, "decision.Decision"], draws: dict[str, "decision.TaskDraws"],
                table: Optional[pd.DataFrame] = None) -> pd.DataFrame:
    """The adjacent pairs of every task's decision (benchmark averages are not marked), differences in points; in
    the order the board shows when sorted by the task (decision.board_order over ``table``), else by point score."""
    rows = []
    for scope, dec in decisions.items():
        if scope in draws and dec.tasks == [scope]:
            order = decision.board_order(table, scope, dec.direction) if table is not None else None
            for p in decision.adjacent_pairs(dec, draws[scope].how, order):
                rows.append({**asdict(p), "task": p.scope})
    return pd.DataFrame(rows, columns=COLUMNS)


def p_text(p: float, resamples: int) -> str:
    """A resampled p-value as people read it: '< 0.001' below one resample in ``resamples`` (none crossed 0: the
    p-value is not 0, only smaller than the resamples can show), else three decimals."""
    floor = 1 / max(int(resamples), 1)
    return f"< {floor:g}" if p < floor else f"{p:.3f}"


def display_pairs(sig: pd.DataFrame) -> pd.DataFrame:
    """The pairs table as the app shows it: numbers rounded, p-values as text (p_text)."""
    out = sig.round(4)
    out["p_value"] = [p_text(p, n) for p, n in zip(sig["p_value"], sig["resamples"])]
    return out.drop(columns=["resamples"])


def significance_table(data: AppData, draws: Optional[dict[str, "decision.TaskDraws"]] = None) -> pd.DataFrame:
    """Every task's adjacent pairs over all rows (``draws``: already computed ones, else computed now)."""
    draws = decision.all_draws(data) if draws is None else draws
    return pairs_table(decision.view_decisions(draws, data.table), draws, data.table)


def tie_markers(sig: pd.DataFrame) -> dict[tuple[str, str], str]:
    """(row label, task) -> a mark against the next-ranked row, in the task's direction: '≈' within noise (the
    95% interval of the difference includes 0), '>' clearly better, '<' clearly worse."""
    return {(r.model, r.task): "≈" if r.tie else (">" if r.diff > 0 else "<") for r in sig.itertuples()}
