"""The Leaderboard tab's layout and events: controls at the top (applied on change, kept in the page URL), the decision
for the view above the table (a cell opens its details), downloads, significance, caveats and plots with their scope;
its page load and what a refresh redraws. Handlers: webapp.handlers (leaderboard_view takes the controls by name).

A control is declared once in CONTROLS (its name, URL parameter, type and default) and laid out in leaderboard_tab;
the /leaderboard API takes the controls in CONTROLS order (clients call it by position: a new control goes last)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from leaderboard.filters import DEFAULT_COLUMNS, OPTIONAL_COLUMNS
from leaderboard.url_state import from_query, write_js

from .handlers import scope_choices
from .page import Mount, Tab, pick
from .state import View
from .wiring import bound, by_name, event, flat


@dataclass(frozen=True)
class Control:
    name: str  # the handler's argument and the filter it sets
    param: str  # its URL query parameter
    type: str  # "list" (comma-separated picks) | "num" | "text" | "bool" | "choice"
    default: Any = None


CONTROLS: tuple[Control, ...] = (  # the /leaderboard API's arguments, in order
    Control("languages", "lang", "list", []),
    Control("benchmarks", "bench", "list", []),
    Control("families", "family", "list", []),
    Control("methods", "method", "list", []),
    Control("min_params", "min", "num"),
    Control("max_params", "max", "num"),
    Control("search", "q", "text", ""),
    Control("columns", "cols", "list", list(DEFAULT_COLUMNS)),
    Control("sort_by", "sort", "choice"),
    Control("descending", "desc", "bool", True),
    Control("markers", "marks", "bool", True),
    Control("licenses", "license", "list", []),
    Control("hide_untrained", "hide_untrained", "bool", False),
    Control("hide_partial", "hide_partial", "bool", False),
    Control("decision", "decision", "bool", True),  # P(best) and rank interval columns
    Control("tasks", "task", "list", []),  # the tasks shown (a benchmark's average still over all of its tasks)
    Control("task_decision", "task_decision", "bool", False),  # per-task P(best) and rank columns too
)
PARAMS = tuple((c.param, c.name, c.type) for c in CONTROLS)
# the browser writes the non-default values to the URL (defaults of lists and booleans; an empty list is none)
WRITE_JS = write_js(PARAMS, {c.name: c.default for c in CONTROLS if c.type in ("list", "bool") and c.default != []})
OUTPUTS = ("table", "note", "csv", "significance", "caveats", "decision")  # the /leaderboard API's outputs, in order
PLOTS = ("params", "latency", "bars", "params_scope", "latency_scope", "bars_scope")  # the /plots API's, in order


@dataclass
class Board(Tab):
    """The tab's components by name (``controls`` in CONTROLS order = the API's arguments)."""

    controls: dict[str, Any] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)  # OUTPUTS name -> component
    plot_in: dict[str, Any] = field(default_factory=dict)  # scope, task
    plots: dict[str, Any] = field(default_factory=dict)  # PLOTS name -> component
    table: Any = None

    @property
    def inputs(self) -> list[Any]:
        return flat(self.controls)


def options(view: View) -> dict[str, list]:
    """What each list or choice control offers for this view's data."""
    c = view.choices
    return {ctl.name: c.get(ctl.name, []) for ctl in CONTROLS if ctl.type in ("list", "choice")}


def _first_view(m: Mount) -> dict[str, dict[str, Any]]:
    """The tab's outputs (OUTPUTS) for the default view, as component arguments, without waiting for the decision's
    draws (the decision and the marks come with it when the cache has them)."""
    try:
        got = m.h.leaderboard_view(wait=False, view=m.view, **{c.name: c.default for c in CONTROLS})
    except Exception:  # noqa: BLE001 - the page load draws it (and reports a problem) instead
        return {name: {} for name in OUTPUTS}
    table = got["table"]  # an update (webapp.handlers.linked): its value, datatype and column widths
    first = {k: table[k] for k in ("value", "datatype", "column_widths")}
    return {"table": first, **{name: {"value": got[name]} for name in OUTPUTS[1:]}}


def _controls(c: dict[str, list]) -> tuple[dict[str, Any], Any]:
    """Lay out the controls (keys: CONTROLS names) and the apply button."""
    ctl: dict[str, Any] = {}
    with gr.Row():
        ctl["languages"] = gr.CheckboxGroup(c.get("languages", []), label="language")
        ctl["benchmarks"] = gr.CheckboxGroup(c.get("benchmarks", []), label="benchmark")
        ctl["families"] = gr.CheckboxGroup(c.get("families", []), label="family")
        ctl["methods"] = gr.CheckboxGroup(c.get("methods", []), label="method")
        ctl["licenses"] = gr.CheckboxGroup(c.get("licenses", []), label="licence (data, and model where given)",
                                           elem_id="f-license")
        ctl["tasks"] = gr.CheckboxGroup(c.get("tasks", []), label="task", elem_id="f-task")
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
            ctl["decision"] = gr.Checkbox(label="P(best) and rank intervals", value=True, elem_id="f-decision")
            ctl["task_decision"] = gr.Checkbox(label="… for each task too (wide)", value=False,
                                               elem_id="f-task-decision")
        apply = gr.Button("Apply filters", elem_id="apply", size="sm", scale=0)
    return {c.name: ctl[c.name] for c in CONTROLS}, apply


def leaderboard_tab(m: Mount) -> Board:
    """Lay out the tab (inside a gr.Tab) and wire its own events; returns its components."""
    view = m.view
    scopes, tasks = scope_choices(view), view.data.tasks
    # painted with the page itself (no round trip): the default view, the decision and marks if the cache has the
    # draws; the page load then applies a shared link's filters, the decision and the marks. The scores come first
    # on the screen: the table, then what it says and the decision, then the filters (collapsed)
    first = _first_view(m)
    table = gr.Dataframe(**first["table"], interactive=False, wrap=True, elem_id="lb-table",
                         label="leaderboard (click a score for its details)")
    note = gr.Markdown(**first["note"], elem_id="lb-note")
    dec = gr.Markdown(**first["decision"], elem_id="lb-decision")
    with gr.Accordion("Filters, sort and columns", open=False, elem_id="lb-filters"):
        controls, apply = _controls(view.choices)
    csv = gr.DownloadButton("Download CSV (filtered view, numbers)", **first["csv"], elem_id="lb-csv")
    with gr.Accordion("Significance details", open=False):
        sig = gr.Dataframe(**first["significance"], interactive=False, label="adjacent pairs per task",
                           elem_id="lb-sig")
    gr.Markdown("### Task licences and caveats")
    cav = gr.Markdown(**first["caveats"], elem_id="lb-caveats")
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
    pending = gr.State(False)  # a redraw's decision (and marks) were still being computed

    outputs = {"table": table, "note": note, "csv": csv, "significance": sig, "caveats": cav, "decision": dec}
    plot_in = {"scope": scope, "task": p_task}
    plots = {"params": p_params, "latency": p_lat, "bars": p_bars, "params_scope": n_params,
             "latency_scope": n_lat, "bars_scope": n_bars}
    board = Board(controls=controls, results=outputs, plot_in=plot_in, plots=plots, table=table)
    _wire(m, board, apply, pending)
    return board


def _wire(m: Mount, board: Board, apply: Any, pending: Any) -> None:
    """The tab's events, its page load, and what a refresh keeps, redraws and chains after."""
    h, ctl, outputs = m.h, board.controls, board.results
    # applied on the user's change (.input: a value set by the page load or a refresh redraws once, there); typing
    # in a box waits for the last keystroke's answer; the URL follows in the browser
    for comp in board.inputs:
        event(comp.input, h.leaderboard_view, ctl, outputs, "note", api_visibility="private",
              trigger_mode="always_last")
        comp.input(None, board.inputs, None, js=WRITE_JS, api_visibility="private")
    event(apply.click, h.leaderboard_view, ctl, outputs, "note", api_name="leaderboard")
    event(board.plot_in["scope"].change, h.plots_view, board.plot_in, board.plots, "params_scope", api_name="plots")
    event(board.plot_in["task"].change, h.plots_view, board.plot_in, board.plots, "params_scope",
          api_visibility="private")

    def from_url(request: gr.Request) -> dict:
        """On page load: the filter state a shared link carries (unknown values dropped)."""
        query = dict(request.query_params) if request is not None else {}
        values = {"min_params": None, "max_params": None}  # an update to None shows an empty box, not 0
        values.update(from_query(query, options(h.state.view), PARAMS))
        return {ctl[k]: v for k, v in values.items()}

    # page load: the filters a shared link carries, the table (the decision and marks next: their draws computed with
    # no outputs, then a redraw with the filters as they are by then), the plots
    m.demo.load(from_url, None, board.inputs, api_visibility="private").then(
        *bound(h.first_paint, ctl, outputs, "note"), api_visibility="private").then(
        h.warm_decision, None, None, api_visibility="private").then(
        *bound(h.leaderboard_view, ctl, outputs, "note"), api_visibility="private")
    event(m.demo.load, h.plots_view, board.plot_in, board.plots, "params_scope", api_visibility="private")

    def redraw(view: View, kept: dict[str, Any]) -> dict[Any, Any]:
        opts, out, values = options(view), {}, dict(kept)
        for c in CONTROLS:
            if c.type == "list" and c.name in opts and c.name != "columns":
                values[c.name] = [v for v in (values.get(c.name) or []) if v in opts[c.name]]
                out[ctl[c.name]] = gr.CheckboxGroup(choices=opts[c.name], value=values[c.name])
            elif c.type == "choice":
                values[c.name] = values.get(c.name) if values.get(c.name) in opts[c.name] else None
                out[ctl[c.name]] = gr.Dropdown(choices=opts[c.name], value=values[c.name])
        scope, task = pick(kept.get("scope"), scope_choices(view)), pick(kept.get("task"), view.data.tasks)
        out[board.plot_in["scope"]] = gr.Dropdown(choices=scope_choices(view), value=scope)
        out[board.plot_in["task"]] = gr.Dropdown(choices=view.data.tasks, value=task)
        lb = {c.name: values.get(c.name) for c in CONTROLS}
        out.update({outputs[k]: v for k, v in h.leaderboard_view(wait=False, view=view, **lb).items()})
        out.update({board.plots[k]: v for k, v in h.plots_view(scope, task, view).items()})
        out[pending] = view.draws(wait=False) is None
        return out

    def choices(view: View) -> list[tuple[Any, list]]:
        return [*((ctl[k], v) for k, v in options(view).items() if k != "columns"),
                (board.plot_in["scope"], scope_choices(view)), (board.plot_in["task"], view.data.tasks)]

    def decision_after(was_pending: bool, *values: Any) -> dict:
        """After a redraw whose decision (and marks) were still being computed: wait for them and redraw."""
        if not was_pending:
            return {pending: False}
        got = h.leaderboard_view(**by_name(ctl, values))
        return {pending: False, **{outputs[k]: v for k, v in got.items()}}

    board.keep = {**ctl, **board.plot_in}
    board.outputs = [pending, *board.inputs, *flat(outputs), *flat(board.plot_in), *flat(board.plots)]
    board.redraw, board.choices = redraw, choices
    board.after = (decision_after, [pending, *board.inputs], [pending, *flat(outputs)])

