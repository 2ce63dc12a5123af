"""What `run` and `leaderboard` write and print, and what a push publishes: the leaderboard tables with the decision
(leaderboard.decision over every row, its draws through the cache) and, per benchmark average, its paragraph."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import decision, race, sig_cache
from .data import AppData, load_app_data
from .table import Loaded, benchmarks, csv_frame, to_markdown

FLOAT_FORMAT = "%.4f"


@dataclass
class Report:
    table: pd.DataFrame  # the wide table with every scope's decision columns
    loaded: Loaded
    decisions: dict[str, decision.Decision]

    def paragraphs(self) -> list[str]:
        """One paragraph per benchmark average decided (per task where a benchmark has no average decided); for a
        raced study, then its line ("decided after N runs (a full grid: M)", leaderboard.race)."""
        out = []
        for b, tasks in benchmarks(self.table).items():
            if b in self.decisions:
                out.append(decision.paragraph(self.decisions[b], f"{b} average"))
            else:
                out += [decision.paragraph(self.decisions[t]) for t in tasks if t in self.decisions]
        raced = race.summary(self.loaded.runs, self.loaded.failures, self.decisions)  # results of `run --race`
        return out + ([raced] if raced else [])

    def markdown(self) -> str:
        return to_markdown(self.table, self.paragraphs())

    def csv(self) -> str:
        return csv_frame(self.table).to_csv(index=False, float_format=FLOAT_FORMAT)


def report(data: AppData) -> Report:
    """The tables of a results folder read into ``data``, with the decision over every row."""
    draws = sig_cache.draws_of(data) if not data.runs.empty else {}
    decisions = decision.view_decisions(draws, data.table)
    return Report(decision.with_decisions(data.table, decisions), data.loaded, decisions)


def write_tables(output_dir: Path | str) -> Report:
    """Rebuild leaderboard.csv and leaderboard.md from the result files (and saved predictions) alone."""
    out = Path(output_dir)
    rep = report(load_app_data(out))
    (out / "leaderboard.csv").write_text(rep.csv(), encoding="utf-8")
    (out / "leaderboard.md").write_text(rep.markdown(), encoding="utf-8")
    return rep
