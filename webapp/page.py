"""The whole page's data-dependent parts: the empty state, the URL's filter state on load, and the refresh that
redraws everything depending on the data when a page shows an older read (handlers: webapp.handlers.Handlers)."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Optional

import gradio as gr

from leaderboard.about import about_markdown
from leaderboard.url_state import PARAMS, from_query

from .board import Board
from .handlers import Handlers, header_md, problems_md, scope_choices
from .state import View
from .tabs import TaskTab

log = logging.getLogger(__name__)


def empty_md(view: View) -> str:
    """The one panel a configured source with no results shows (no empty tables or plots)."""
    where = view.label
    out = where if view.commit is None else "outputs/clue"  # a local folder: run into it
    return (f"## No results yet in `{where}`\n\nThis source holds no result files. To fill it:\n\n"
            f"```bash\npython -m harness run --models models.yaml --tasks clue --output-dir {out}\n"
            "python -m harness push --output-dir outputs/clue --results-repo ORG/NAME   # for a Hub source\n```\n\n"
            "then press **Refresh results** (or wait for the refresh interval). docs/deploy.md has the details.")


def is_empty(view: View) -> bool:
    """A configured source with 0 results (the bundled sample is never empty)."""
    return view.data.table.empty and not view.sample


@dataclass
class Page:
    """Every component a refresh may update."""

    version: Any  # gr.State: the data version this page shows
    marks_pending: Any
    checked: Any
    header: Any
    problems: Any
    notice: Any
    own: Any
    empty: Any
    body: Any
    board: Board
    compare: TaskTab
    playground: TaskTab
    detail_pickers: list[Any]  # row, task
    about: Any

    @property
    def sync_inputs(self) -> list[Any]:
        return [self.version, *self.board.inputs, *self.board.plot_in, self.compare.task, self.playground.task,
                *self.detail_pickers]

    @property
    def sync_outputs(self) -> list[Any]:
        return [self.version, self.marks_pending, self.checked, self.header, self.problems, self.notice, self.own,
                self.empty, self.body, *self.board.inputs, *self.board.outputs, *self.board.plot_in,
                *self.board.plot_out, self.compare.task, *self.compare.on_task, self.playground.task,
                *self.playground.on_task, *self.detail_pickers, self.about]


def _pick(value: Any, options: list) -> Any:
    return value if value in options else (options[0] if options else None)


class Sync:
    """Refresh and URL handlers over one page."""

    def __init__(self, h: Handlers, page: Page):
        self.h, self.page = h, page
        self._applied = h.state.view.version

    def _options(self, view: View) -> dict[str, list]:
        c = view.choices
        return {"languages": c.get("languages", []), "benchmarks": c.get("benchmarks", []),
                "families": c.get("families", []), "methods": c.get("methods", []),
                "licenses": c.get("licenses", []), "sort_by": c.get("sort_by", []),
                "columns": c.get("columns", [])}

    def _apply_choices(self, view: View) -> None:
        """Update the pickers' choices on the server too (Gradio checks an API call's values against them)."""
        if self._applied == view.version:
            return
        opts, p = self._options(view), self.page
        pairs = [(p.board.controls[k], v) for k, v in opts.items() if k != "columns"]
        tasks = view.data.tasks
        pairs += [(p.board.plot_in[0], scope_choices(view)), (p.board.plot_in[1], tasks), (p.compare.task, tasks),
                  (p.playground.task, tasks), (p.compare.pickers[0], view.labels), (p.detail_pickers[1], tasks),
                  (p.detail_pickers[0], list(view.data.table["row"]) if "row" in view.data.table else [])]
        for comp, values in pairs:
            comp.choices = [(str(v), v) for v in values]
        self._applied = view.version

    def from_url(self, request: gr.Request) -> dict:
        """On page load: the filter state a shared link carries (unknown values dropped)."""
        query = dict(request.query_params) if request is not None else {}
        values = {"min_params": None, "max_params": None}  # an update to None shows an empty box, not 0
        values.update(from_query(query, self._options(self.h.state.view)))
        return {self.page.board.controls[k]: v for k, v in values.items()}

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
        n = len(p.board.inputs)
        lb, (scope, p_task, c_task, g_task, d_row, d_task) = list(vals[:n]), vals[n:n + 6]
        opts = self._options(view)
        for i, (_, control, typ) in enumerate(PARAMS):
            if typ == "list" and control in opts and control != "columns":
                lb[i] = [v for v in (lb[i] or []) if v in opts[control]]
                out[p.board.controls[control]] = gr.CheckboxGroup(choices=opts[control], value=lb[i])
            elif typ == "choice":
                lb[i] = lb[i] if lb[i] in opts[control] else None
                out[p.board.controls[control]] = gr.Dropdown(choices=opts[control], value=lb[i])
        tasks, rows = view.data.tasks, list(view.data.table["row"]) if "row" in view.data.table else []
        scope, p_task = _pick(scope, scope_choices(view)), _pick(p_task, tasks)
        c_task, g_task, d_task = _pick(c_task, tasks), _pick(g_task, tasks), _pick(d_task, tasks)
        d_row = _pick(d_row, rows)
        empty = is_empty(view)
        out.update({p.version: view.version, p.header: header_md(view), p.problems: problems_md(view),
                    p.notice: gr.Markdown(visible=view.sample), p.own: gr.Markdown(visible=view.sample),
                    p.empty: gr.Markdown(empty_md(view) if empty else "", visible=empty),
                    p.body: gr.Column(visible=not empty),
                    p.board.plot_in[0]: gr.Dropdown(choices=scope_choices(view), value=scope),
                    p.board.plot_in[1]: gr.Dropdown(choices=tasks, value=p_task),
                    p.compare.task: gr.Dropdown(choices=tasks, value=c_task),
                    p.playground.task: gr.Dropdown(choices=tasks, value=g_task),
                    p.detail_pickers[0]: gr.Dropdown(choices=rows, value=d_row),
                    p.detail_pickers[1]: gr.Dropdown(choices=tasks, value=d_task),
                    p.about: about_markdown(view.data, view.label, view.sample)})
        out.update(zip(p.board.outputs, self.h.leaderboard_view(*lb, wait=False, view=view)))
        out.update(zip(p.board.plot_out, self.h.plots_view(scope, p_task, view)))
        out.update(zip(p.compare.on_task, self.h.compare_task(c_task, view)))
        out.update(zip(p.playground.on_task, self.h.playground_task(g_task, view)))
        out[p.marks_pending] = bool(lb[10]) and view.significance(wait=False) is None
        return out

    def marks_after(self, pending: bool, *lb_inputs: Any) -> dict:
        """After a redraw whose significance marks were still being computed: wait for them and redraw."""
        p = self.page
        if not pending:
            return {p.marks_pending: False}
        return {p.marks_pending: False, **dict(zip(p.board.outputs, self.h.leaderboard_view(*lb_inputs)))}
