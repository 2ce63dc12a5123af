"""Files the app hands out for download: one file per request, old ones removed (no Gradio here)."""
from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd

MAX_AGE_S = 600  # a download's file is removed after this (Gradio serves its own copy from its cache)


def csv_download(frame: pd.DataFrame, folder: Path, name: str = "leaderboard.csv") -> str:
    """The frame as a CSV file of its own, <folder>/<unique>/<name>, so concurrent downloads never share a file
    (the name the browser saves stays ``name``); folders here older than MAX_AGE_S are removed first."""
    now = time.time()
    for old in Path(folder).glob("*/"):
        try:
            if now - old.stat().st_mtime > MAX_AGE_S:
                shutil.rmtree(old, ignore_errors=True)
        except OSError:  # removed by a concurrent call
            pass
    path = Path(tempfile.mkdtemp(dir=folder)) / name
    frame.to_csv(path, index=False)
    return str(path)
