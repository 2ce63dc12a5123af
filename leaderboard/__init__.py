"""Leaderboard tables, built only from a harness output folder's result files."""
from .report import write_tables
from .table import aggregate, leaderboard, load_results, to_markdown

__all__ = ["aggregate", "leaderboard", "load_results", "to_markdown", "write_tables"]
