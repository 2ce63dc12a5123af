"""The Details tab: the evidence behind one cell (leaderboard.detail, drawn by webapp.detail_plots), opened from a
leaderboard cell or picked here.

Everything comes from the result files and saved predictions (no model is loaded)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

import gradio as gr
import pandas as pd

from leaderboard.detail import CellDetail, cell_detail, errors

from .detail_plots import curve_figure, detail_matrix_figure
from .downloads import plain_label
from .handlers import Handlers, safe
from .state import View


@dataclass
class Details:
    row: Any
    task: Any
    run: Any
    gold_class: Any
    outputs: list[Any]
    show: Callable[[Any, Any], tuple]  # (row, task) -> outputs: what a click on a leaderboard score chains to


def _row_keys(view: View, label: Optional[str]) -> tuple[str, str, str]:
    """A row label -> (model, revision, method); ValueError when the table has no such row."""
    table = view.data.table
    hit = table[table["row"] == label] if "row" in table else table
    if not label or hit.empty:
        raise ValueError(f"no leaderboard row '{label}'")
    r = hit.iloc[0]
    return str(r["model"]), str(r["revision"]), str(r["method"])


def _provenance_md(d: CellDetail) -> str:
    lines = [f"- **{k}**: {v}" for k, v in d.provenance.items()]
    if d.hub_url:
        lines.insert(0, f"- **model page**: [{d.hub_url}]({d.hub_url})")
    return "\n".join(lines) or "_not recorded_"


def _fit_md(d: CellDetail) -> str:
    return d.tokenizer_note or "_not recorded_"


def _title_md(d: CellDetail) -> str:
    head = f"### {d.label} × {d.task}" + (f" (revision {d.revision})" if d.revision else "")
    meta = f"{d.kind} task · main score: {d.main_score} ({d.direction} is better) · config {d.config_hash or '?'}"
    probs = "".join(f"\n- ⚠ {p}" for p in d.problems)
    return f"{head}\n{meta}" + (f"\n\nEvidence below: run **{d.run}**." if d.run else "") + probs


class DetailHandlers:
    """The tab's handlers over the app's state."""

    def __init__(self, h: Handlers):
        self.h = h

    def show(self, label, task, run=None, gold_class=None):
        """Everything the tab shows for (row, task), evidence from ``run`` (default: the first with predictions)."""
        view = self.h.state.view
        if not label or not task:
            raise ValueError("choose a leaderboard row and a task (or click a score on the Leaderboard tab)")
        model, revision, method = _row_keys(view, label)
        d = cell_detail(view.data, model, revision, method, task, run or None)
        classes = [""] + list(d.classes)
        cls = gold_class if gold_class in classes else ""
        ev_title, ev = next(iter(d.tables.items()), ("", pd.DataFrame()))
        cmd = "\n".join(x for x in (f"# models.yaml entry:\n{d.models_entry}" if d.models_entry else "", d.command)
                        if x)
        return (_title_md(d), d.runs.round(4), curve_figure(d.curve), d.curve_note,
                gr.Dropdown(choices=d.run_choices, value=d.run), detail_matrix_figure(d),
                gr.Dataframe(value=ev.round(4), label=ev_title or "evidence"), d.evidence_note,
                gr.Dropdown(choices=classes, value=cls), errors(d, cls or None).round(4), d.tokenizer.round(4),
                _fit_md(d),
                _provenance_md(d), cmd, d.command_note)

    def errors_only(self, label, task, run, gold_class):
        view = self.h.state.view
        model, revision, method = _row_keys(view, label)
        return errors(cell_detail(view.data, model, revision, method, task, run or None), gold_class or None)

    def from_cell(self, shown: pd.DataFrame, evt: gr.SelectData):
        """A click on a leaderboard cell: its row and, when the column is a task, that task; opens the tab."""
        view = self.h.state.view
        row_i, col_i = evt.index if isinstance(evt.index, (list, tuple)) else (evt.index, 0)
        if shown is None or len(shown) <= row_i:
            return gr.skip(), gr.skip(), gr.skip()
        label = plain_label(shown.iloc[row_i, 0])
        column = str(shown.columns[col_i]) if col_i < len(shown.columns) else ""
        tasks = view.data.tasks
        if column in tasks:
            task = column
        else:  # another column: the first task the row has a score on
            r = view.data.table[view.data.table["row"] == label]
            task = next((t for t in tasks if not r.empty and t in r and pd.notna(r.iloc[0][t])), tasks[0] if tasks
                        else None)
        return label, task, gr.Tabs(selected="details")


def details_tab(h: Handlers, view: View) -> tuple[Details, DetailHandlers]:
    """Lay out the tab (inside a gr.Tab) and wire its own events."""
    dh = DetailHandlers(h)
    rows = list(view.data.table["row"]) if "row" in view.data.table else []
    tasks = view.data.tasks
    gr.Markdown("Pick a row and a task, or click a score on the Leaderboard tab. Built from the result files and "
                "saved test predictions only; no model is loaded.")
    with gr.Row():
        row = gr.Dropdown(rows, value=rows[0] if rows else None, label="leaderboard row", elem_id="d-row")
        task = gr.Dropdown(tasks, value=tasks[0] if tasks else None, label="task", elem_id="d-task")
        run = gr.Dropdown([], label="run for the evidence", elem_id="d-run", allow_custom_value=True)
        go = gr.Button("Show details", elem_id="d-show", scale=0)
    title = gr.Markdown(elem_id="detail-title")
    runs = gr.Dataframe(interactive=False, wrap=True, label="every seed and fold", elem_id="detail-runs")
    gr.Markdown("#### Training curve")
    curve = gr.Plot(label="loss per logging step, validation score per evaluation", elem_id="detail-curve")
    curve_note = gr.Markdown(elem_id="detail-curve-note")
    gr.Markdown("#### What the predictions show")
    with gr.Row():
        matrix = gr.Plot(label="confusion matrix", elem_id="detail-matrix")
        evidence = gr.Dataframe(interactive=False, wrap=True, label="evidence", elem_id="detail-evidence")
    evidence_note = gr.Markdown(elem_id="detail-evidence-note")
    gr.Markdown("#### Errors (most confident first)")
    gold_class = gr.Dropdown([""], value="", label="gold class (empty: all)", elem_id="d-class")
    errs = gr.Dataframe(interactive=False, wrap=True, label="wrong predictions", elem_id="detail-errors")
    gr.Markdown("#### Tokenizer fit")
    fit = gr.Dataframe(interactive=False, label="[UNK] and truncation rates per run", elem_id="detail-fit")
    fit_note = gr.Markdown(elem_id="detail-fit-note")
    gr.Markdown("#### Provenance")
    prov = gr.Markdown(elem_id="detail-provenance")
    gr.Markdown("#### Reproduce")
    cmd = gr.Code(language="shell", label="command", elem_id="detail-command")
    cmd_note = gr.Markdown(elem_id="detail-command-note")
    outputs = [title, runs, curve, curve_note, run, matrix, evidence, evidence_note, gold_class, errs, fit, fit_note,
               prov, cmd, cmd_note]
    show = safe(dh.show, len(outputs), 0)
    go.click(show, [row, task, run, gold_class], outputs, api_name="details")
    for picker in (row, task):  # a pick here (.input: the user's, not a click on the leaderboard's, see webapp.build)
        picker.input(lambda *a: show(a[0], a[1], None, None), [row, task], outputs, api_visibility="private")
    run.input(show, [row, task, run, gold_class], outputs, api_visibility="private")
    gold_class.input(safe(dh.errors_only, 1, 0), [row, task, run, gold_class], [errs], api_visibility="private")
    return Details(row, task, run, gold_class, outputs, lambda label, t: show(label, t, None, None)), dh
