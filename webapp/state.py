"""The app's data in one swappable place: a `View` (one read of the source, never changed) held by `AppState`, whose
`refresh()` re-reads the source and swaps in a new View when something changed. Handlers take `state.view` once
per call, so each call sees one consistent read; a refresh never blocks them. No Gradio here.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from harness.errors import HarnessError
from leaderboard import sig_cache
from leaderboard.data import AppData, load_app_data
from leaderboard.filters import choices
from leaderboard.result_files import stat_results
from leaderboard.table import RUN_KEYS

from .playground import CheckpointCache, Playground
from .source import SAMPLE, ResultsSource, download_results, read_checkpoint_mapping, remote_commit

log = logging.getLogger(__name__)


@dataclass
class View:
    """One read of the results: the data, where it came from, and what depends on it only."""

    version: int
    source: ResultsSource  # what was asked for
    data: AppData
    label: str  # where the shown data came from ('hf://datasets/ORG/NAME @ abc1234', a folder, 'bundled sample')
    message: str = ""  # one line about the source ('' when all is well)
    commit: Optional[str] = None  # Hub sources: the commit shown
    pg: Playground = field(init=False)
    _sig: dict[str, Any] = field(default_factory=dict, init=False, repr=False)
    _sig_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _memo: dict[str, Any] = field(default_factory=dict, init=False, repr=False)  # derived once per view

    @property
    def sample(self) -> bool:
        """Is the bundled sample shown (the page then says so)?"""
        from .sample import is_sample

        return is_sample(self.data.root)

    @property
    def choices(self) -> dict[str, list]:
        return choices(self.data.table, self.data.task_info)

    @property
    def labels(self) -> list[str]:
        """Every listed checkpoint label (any task)."""
        return sorted({lab for by_label in self.data.checkpoints.values() for lab in by_label})

    @property
    def links(self) -> dict[str, str]:
        """Row label -> the model's Hub page at its revision (rows of models on the Hub only)."""
        if "links" not in self._memo:
            runs, table = self.data.runs, self.data.table
            out: dict[str, str] = {}
            if not runs.empty and "model_url" in runs and not table.empty:
                urls = runs.dropna(subset=["model_url"]).drop_duplicates(RUN_KEYS)[RUN_KEYS + ["model_url"]]
                merged = table[RUN_KEYS + ["row"]].merge(urls, on=RUN_KEYS)
                out = dict(zip(merged["row"], merged["model_url"]))
            self._memo["links"] = out
        return self._memo["links"]

    def draws(self, wait: bool = True) -> Optional[dict]:
        """The decision's draws (leaderboard.decision), once per view: from the cache keyed by the results'
        fingerprint (leaderboard.sig_cache), else computed (and cached); None when they would have to be computed
        and ``wait`` is False."""
        if "draws" in self._sig:
            return self._sig["draws"]
        if self.data.runs.empty:
            self._sig["draws"] = {}
            return self._sig["draws"]
        if not wait:
            hit = sig_cache.load(self._sig_key())
            if hit is not None:
                self._sig["draws"] = hit
            return hit
        with self._sig_lock:
            if "draws" not in self._sig:
                self._sig["draws"] = sig_cache.draws_of(self.data)
            return self._sig["draws"]

    def _sig_key(self) -> str:
        if "key" not in self._memo:
            self._memo["key"] = sig_cache.fingerprint(self.data.root)
        return self._memo["key"]


class AppState:
    """Holds the current View; ``refresh`` re-reads the source (a Hub repo only when its revision moved)."""

    def __init__(self, source: ResultsSource, cache: Optional[CheckpointCache] = None, message: str = ""):
        self.source = source
        self.cache = cache if cache is not None else CheckpointCache()  # shared by every view
        self._lock = threading.Lock()  # one refresh at a time
        self._checked = time.monotonic()
        self._fp: Any = None
        self.view = self._read(0, None, message)

    def _view(self, version: int, root: Path, label: str, message: str = "", commit: Optional[str] = None,
              mapping: Optional[dict] = None) -> View:
        view = View(version, self.source, load_app_data(root, mapping), label, message, commit)
        view.pg = Playground(view.data, self.cache)
        return view

    def _sample(self, version: int, message: str) -> View:
        from .sample import SAMPLE_DIR

        return self._view(version, SAMPLE_DIR, SAMPLE.label(), message)

    def _read(self, version: int, current: Optional[View], message: str = "") -> Optional[View]:
        """A new View, or None when the source has not changed since ``current``. Never raises for a source that
        cannot be read: a Hub source that fails keeps the current view (or shows the sample) with a message."""
        src = self.source
        if src.kind == "sample":
            return self._sample(version, message) if current is None else None
        if src.kind == "local":
            fp = stat_results(src.path)
            if current is not None and fp == self._fp:
                return None
            self._fp = fp
            return self._view(version, src.path, src.label(), message)
        try:
            commit = remote_commit(src)
            if current is not None and commit == current.commit:
                failed = current.message.startswith("refresh failed")
                return self._swap_message(current, version, "") if failed else None
            root = download_results(src, commit)
            try:
                mapping = read_checkpoint_mapping(root)
            except HarnessError as e:
                mapping, message = {}, f"{e} (no checkpoint can be loaded)"
            return self._view(version, root, src.label(commit), message, commit, mapping)
        except HarnessError as e:
            line = str(e)
            log.warning("%s", line)
            if current is not None and current.commit is not None:  # keep the last good read
                return self._swap_message(current, version, f"refresh failed: {line}")
            note = f"{line}; showing the bundled sample instead"
            if current is not None and current.message == note:
                return None
            return self._sample(version, note)

    @staticmethod
    def _swap_message(current: View, version: int, message: str) -> Optional[View]:
        if current.message == message:
            return None
        view = View(version, current.source, current.data, current.label, message, current.commit)
        view.pg, view._sig = current.pg, current._sig
        return view

    def refresh(self, min_age_s: float = 0.0) -> View:
        """Re-read the source unless it was checked less than ``min_age_s`` ago; swap in a new View (version + 1)
        when something changed. Returns the current View. Concurrent calls wait for the one running."""
        with self._lock:
            if time.monotonic() - self._checked >= min_age_s:
                self._checked = time.monotonic()
                try:
                    new = self._read(self.view.version + 1, self.view)
                except Exception as e:  # noqa: BLE001 - a refresh never breaks the app
                    log.exception("refresh failed")
                    new = self._swap_message(self.view, self.view.version + 1,
                                             f"refresh failed: {type(e).__name__}: {str(e)[:200]}")
                if new is not None:
                    self.view = new
            return self.view
