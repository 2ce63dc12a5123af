"""Leaderboard tables, built only from a harness output folder's result files."""
from .table import aggregate, leaderboard, load_results, to_markdown, write_tables

__all__ = ["aggregate", "leaderboard", "load_results", "to_markdown", "write_tables"]
