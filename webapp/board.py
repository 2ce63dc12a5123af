"""The Leaderboard tab's layout and events: controls at the top (applied on change, kept in the page URL), the table
(a cell opens its details), downloads, significance, caveats and plots with their scope. Handlers: webapp.handlers."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from leaderboard.filters import DEFAULT_COLUMNS, OPTIONAL_COLUMNS
from leaderboard.url_state import PARAMS, WRITE_JS

from .handlers import Handlers, safe, scope_choices
from .state import View


@dataclass
class Board:
    """The tab's components (``controls``: by url_state control name, in PARAMS order = the API's arguments)."""

    controls: dict[str, Any]
    outputs: list[Any]  # table, note, csv, significance, caveats
    table: Any
    plot_in: list[Any]  # scope, task
    plot_out: list[Any]  # params, latency, bars, and their scope notes
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def inputs(self) -> list[Any]:
        return [self.controls[c] for _, c, _ in PARAMS]


def _first_view(h: Handlers, view: View) -> list[dict[str, Any]]:
    """The tab's five outputs (table, note, CSV, significance, caveats) for the default view, as component
    arguments, without waiting for the significance marks (they come with it when the cache has them)."""
    defaults = {"columns": list(DEFAULT_COLUMNS), "descending": True, "markers": True, "search": ""}
    args = [defaults.get(c, [] if t == "list" else (False if t == "bool" else None)) for _, c, t in PARAMS]
    try:
        table, note, csv, sig, cav = h.leaderboard_view(*args, wait=False, view=view)
    except Exception:  # noqa: BLE001 - the page load draws it (and reports a problem) instead
        return [{}] * 5
    first = {"value": table.value, "datatype": table.datatype} if isinstance(table, gr.Dataframe) else {"value": table}
    return [first, {"value": note}, {"value": csv}, {"value": sig}, {"value": cav}]


def leaderboard_tab(h: Handlers, view: View) -> Board:
    """Lay out the tab (inside a gr.Tab) and wire its own events; returns its components."""
    c = view.choices
    scopes, tasks = scope_choices(view), view.data.tasks
    ctl: dict[str, Any] = {}
    with gr.Row():
        ctl["languages"] = gr.CheckboxGroup(c.get("languages", []), label="language")
        ctl["benchmarks"] = gr.CheckboxGroup(c.get("benchmarks", []), label="benchmark")
        ctl["families"] = gr.CheckboxGroup(c.get("families", []), label="family")
        ctl["methods"] = gr.CheckboxGroup(c.get("methods", []), label="method")
        ctl["licenses"] = gr.CheckboxGroup(c.get("licenses", []), label="licence (data, and model where given)",
                                           elem_id="f-license")
    with gr.Row():
        # Gradio 6 draws an initial None as 0 (gradio-app/gradio#6728); the page load sets None (empty) or the URL's
        ctl["min_params"] = gr.Number(label="min params (M)", value=None, placeholder="any", elem_id="f-min")
        ctl["max_params"] = gr.Number(label="max params (M)", value=None, placeholder="any", elem_id="f-max")
        ctl["search"] = gr.Textbox(label="search", placeholder="model, family, revision", elem_id="search")
        ctl["sort_by"] = gr.Dropdown(c.get("sort_by", []), label="sort by", value=None, elem_id="f-sort")
        ctl["descending"] = gr.Checkbox(label="descending", value=True)
    with gr.Row():
        ctl["columns"] = gr.CheckboxGroup(list(OPTIONAL_COLUMNS), value=list(DEFAULT_COLUMNS), label="extra columns")
        with gr.Column():
            ctl["hide_untrained"] = gr.Checkbox(label="hide untrained baselines", value=False, elem_id="f-untrained")
            ctl["hide_partial"] = gr.Checkbox(label="hide partial rows (a benchmark task missing or failed)",
                                              value=False, elem_id="f-partial")
            ctl["markers"] = gr.Checkbox(label="significance markers (paired bootstrap)", value=True)
        apply = gr.Button("Apply filters", elem_id="apply", size="sm", scale=0)
    # painted with the page itself (no round trip): the default view, marks if the significance cache has them; the
    # page load then applies a shared link's filters and the marks
    first = _first_view(h, view)
    note = gr.Markdown(**first[1], elem_id="lb-note")
    table = gr.Dataframe(**first[0], interactive=False, wrap=True, elem_id="lb-table",
                         label="leaderboard (click a score for its details)")
    csv = gr.DownloadButton("Download CSV (filtered view, numbers)", **first[2], elem_id="lb-csv")
    with gr.Accordion("Significance details", open=False):
        sig = gr.Dataframe(**first[3], interactive=False, label="adjacent pairs per task")
    gr.Markdown("### Task licences and caveats")
    cav = gr.Markdown(**first[4], elem_id="lb-caveats")
    gr.Markdown("### Plots")
    with gr.Row():
        scope = gr.Dropdown(scopes, value=scopes[0] if scopes else None, label="score scope (benchmark or task)")
        p_task = gr.Dropdown(tasks, value=tasks[0] if tasks else None, label="task for bars")
    with gr.Row():
        with gr.Column():
            p_params = gr.Plot(label="score vs parameters", elem_id="plot-params")
            n_params = gr.Markdown(elem_id="plot-params-scope")
        with gr.Column():
            p_lat = gr.Plot(label="score vs latency", elem_id="plot-latency")
            n_lat = gr.Markdown(elem_id="plot-latency-scope")
    p_bars = gr.Plot(label="per-task bars", elem_id="plot-bars")
    n_bars = gr.Markdown(elem_id="plot-bars-scope")

    board = Board(ctl, [table, note, csv, sig, cav], table, [scope, p_task],
                  [p_params, p_lat, p_bars, n_params, n_lat, n_bars], {"apply": apply})
    lb_fn = safe(h.leaderboard_view, 5, 1)
    # applied on the user's change (.input: a value set by the page load or a refresh redraws once, there); typing
    # in a box waits for the last keystroke's answer; the URL follows in the browser
    for comp in board.inputs:
        comp.input(lb_fn, board.inputs, board.outputs, api_visibility="private", trigger_mode="always_last")
        comp.input(None, board.inputs, None, js=WRITE_JS, api_visibility="private")
    apply.click(lb_fn, board.inputs, board.outputs, api_name="leaderboard")
    pl_fn = safe(h.plots_view, 6, 3)
    scope.change(pl_fn, board.plot_in, board.plot_out, api_name="plots")
    p_task.change(pl_fn, board.plot_in, board.plot_out, api_visibility="private")
    return board
