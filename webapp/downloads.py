"""Files the app hands out for download: one file per request, old ones removed (no Gradio here); the filtered
view as numbers (the columns of leaderboard.csv), not as the display table's text."""
from __future__ import annotations

import html
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Optional, Sequence

import pandas as pd

from leaderboard.columns import IDENTITY
from leaderboard.table import csv_frame

MAX_AGE_S = 600  # a download's file is removed after this (Gradio serves its own copy from its cache)
FLOAT_FORMAT = "%.4f"  # as leaderboard.csv is written (table.write_tables)
ROW_TITLE = next(c.title for c in IDENTITY if c.name == "row")  # the display table's row-label column
LINK = re.compile(r"^\[(?P<md>.*)\]\([^()\s]*\)$|^<a\s[^>]*>(?P<html>.*)</a>$", re.S)


def plain_label(cell: object) -> str:
    """A display cell's row label without the link around it ('[minilm [prompt]](https://…)' or an HTML anchor)."""
    text = str(cell).strip()
    m = LINK.match(text)
    return text if m is None else (m["md"] if m["md"] is not None else html.unescape(m["html"]))


def numeric_rows(shown: pd.DataFrame, table: pd.DataFrame, labels: Optional[Sequence[str]] = None) -> pd.DataFrame:
    """The rows the display table ``shown`` holds (leaderboard.filters.filter_table), in its order, as numbers:
    the columns of leaderboard.csv (table.csv_frame of ``table``: per task its mean ×100, ``_std``, ``_n`` ...).

    Rows are matched by row label (``labels`` in shown order, else the display's row column with any link around
    it removed) and by revision too where ``shown`` has a revision column; a label held by several rows of the
    table (one model and method under two revisions, no revision column shown) gives each such row once, in the
    table's order. A label the table lacks is skipped."""
    frame = csv_frame(table)
    if labels is None:
        labels = [plain_label(c) for c in shown[ROW_TITLE]] if ROW_TITLE in shown else []
    if not len(labels) or frame.empty:
        return frame.iloc[0:0]
    by_rev = "revision" in shown and "revision" in frame
    keys = list(zip(frame["row"], frame["revision"] if by_rev else [None] * len(frame)))
    free: dict[tuple, list[int]] = {}
    for pos, key in enumerate(keys):
        free.setdefault(key, []).append(pos)
    picked = []
    for key in zip(labels, shown["revision"] if by_rev else [None] * len(labels)):
        if free.get(key):
            picked.append(free[key].pop(0))
    return frame.iloc[picked].reset_index(drop=True)


def csv_download(frame: pd.DataFrame, folder: Path, name: str = "leaderboard.csv",
                 float_format: Optional[str] = None) -> str:
    """The frame as a CSV file of its own, <folder>/<unique>/<name>, so concurrent downloads never share a file
    (the name the browser saves stays ``name``); folders here older than MAX_AGE_S are removed first.
    ``float_format``: as pandas' to_csv (FLOAT_FORMAT writes numbers as leaderboard.csv does)."""
    now = time.time()
    for old in Path(folder).glob("*/"):
        try:
            if now - old.stat().st_mtime > MAX_AGE_S:
                shutil.rmtree(old, ignore_errors=True)
        except OSError:  # removed by a concurrent call
            pass
    path = Path(tempfile.mkdtemp(dir=folder)) / name
    frame.to_csv(path, index=False, float_format=float_format)
    return str(path)


def numeric_csv_download(shown: pd.DataFrame, table: pd.DataFrame, folder: Path, name: str = "leaderboard.csv",
                         labels: Optional[Sequence[str]] = None) -> str:
    """csv_download of numeric_rows(shown, table, labels), numbers written as in leaderboard.csv."""
    return csv_download(numeric_rows(shown, table, labels), folder, name, FLOAT_FORMAT)
