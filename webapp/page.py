"""The whole page's data-dependent parts: the empty state, what a mounted tab gives the page (`Tab`), and the refresh
that redraws everything depending on the data when a page shows an older read (handlers: webapp.handlers.Handlers).
The page knows no tab's components: each tab's module says what a refresh keeps, updates and redraws."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import gradio as gr

from .handlers import Handlers, header_md, problems_md
from .state import View

log = logging.getLogger(__name__)


def empty_md(view: View) -> str:
    """The one panel a configured source with no results shows (no empty tables or plots)."""
    where = view.label
    out = where if view.commit is None else "outputs/clue"  # a local folder: run into it
    return (f"## No results yet in `{where}`\n\nThis source holds no result files. To fill it:\n\n"
            f"```bash\npython -m harness run --models models.yaml --tasks clue --output-dir {out}\n"
            "python -m harness push --output-dir outputs/clue --results-repo ORG/NAME   # for a Hub source\n```\n\n"
            "then press **Refresh results** (or wait for the refresh interval). The harness's `docs/deploy.md` has the "
            "details (in its repository, beside this app's code).")


def is_empty(view: View) -> bool:
    """A configured source with 0 results (the bundled sample is never empty)."""
    return view.data.table.empty and not view.sample


def pick(value: Any, options: list) -> Any:
    """The user's pick when the new data still offers it, else the first option (None when there is none)."""
    return value if value in options else (options[0] if options else None)


def _no_redraw(view: View, kept: dict[str, Any]) -> dict[Any, Any]:
    return {}


def _no_choices(view: View) -> list[tuple[Any, list]]:
    return []


@dataclass
class Tab:
    """What a mounted tab gives the page's refresh (each tab's module builds its own)."""

    keep: dict[str, Any] = field(default_factory=dict)  # name -> component whose value a redraw gets (kept by name)
    outputs: list[Any] = field(default_factory=list)  # every component ``redraw`` may update
    redraw: Callable[[View, dict[str, Any]], dict[Any, Any]] = _no_redraw  # newer view, kept values -> {comp: update}
    choices: Callable[[View], list[tuple[Any, list]]] = _no_choices  # (picker, values) to check API calls against
    after: Optional[tuple[Callable[..., Any], list[Any], list[Any]]] = None  # an event chained after each refresh


@dataclass
class Mount:
    """What a tab's module gets to lay itself out (inside its gr.Tab) and wire its own events."""

    h: Handlers
    view: View
    demo: Any  # the gr.Blocks (page-load events)
    tabs: Any  # the gr.Tabs (a tab may open another)
    mounted: dict[str, Tab] = field(default_factory=dict)  # tab id -> the tabs mounted before this one


@dataclass
class Page:
    """The page-wide components a refresh may update (the tabs' own are in their Tab)."""

    version: Any  # gr.State: the data version this page shows
    checked: Any
    header: Any
    problems: Any
    notice: Any
    own: Any
    empty: Any
    body: Any


class Sync:
    """Refresh handlers over one page and its mounted tabs."""

    def __init__(self, h: Handlers, page: Page, tabs: dict[str, Tab]):
        self.h, self.page, self.tabs = h, page, tabs
        self._applied = h.state.view.version
        self._kept = [(tab_id, name, comp) for tab_id, tab in tabs.items() for name, comp in tab.keep.items()]

    @property
    def inputs(self) -> list[Any]:
        return [self.page.version, *(comp for _, _, comp in self._kept)]

    @property
    def outputs(self) -> list[Any]:
        p = self.page
        return [p.version, p.checked, p.header, p.problems, p.notice, p.own, p.empty, p.body,
                *(comp for tab in self.tabs.values() for comp in tab.outputs)]

    def _apply_choices(self, view: View) -> None:
        """Update the pickers' choices on the server too (Gradio checks an API call's values against them)."""
        if self._applied == view.version:
            return
        for tab in self.tabs.values():
            for comp, values in tab.choices(view):
                comp.choices = [(str(v), v) for v in values]
        self._applied = view.version

    def refresh(self, min_age: Optional[float], shown: int, *vals: Any) -> dict:
        """Re-read the source (``min_age`` None: only compare) and, when this page shows an older view, redraw
        everything that depends on the data, keeping the user's picks that still exist."""
        p = self.page
        try:
            view = self.h.state.refresh(min_age) if min_age is not None else self.h.state.view
        except Exception as e:  # noqa: BLE001 - a refresh never breaks the page
            log.exception("refresh failed")
            return {p.checked: f"⚠ refresh failed: {type(e).__name__}"}
        out: dict = {p.checked: gr.skip()}  # never empty (Gradio wants a non-empty dict)
        if min_age is not None:
            out[p.checked] = (f"_Results checked {time.strftime('%H:%M:%S', time.gmtime())} UTC: `{view.label}`, "
                              f"{len(view.data.runs)} result file(s)._")
        if shown == view.version:
            return out
        self._apply_choices(view)
        kept: dict[str, dict[str, Any]] = {tab_id: {} for tab_id in self.tabs}
        for (tab_id, name, _), value in zip(self._kept, vals):
            kept[tab_id][name] = value
        empty = is_empty(view)
        out.update({p.version: view.version, p.header: header_md(view), p.problems: problems_md(view),
                    p.notice: gr.Markdown(visible=view.sample), p.own: gr.Accordion(visible=view.sample),
                    p.empty: gr.Markdown(empty_md(view) if empty else "", visible=empty),
                    p.body: gr.Column(visible=not empty)})
        for tab_id, tab in self.tabs.items():
            out.update(tab.redraw(view, kept[tab_id]))
        return out
