"""The Details tab: the evidence behind one cell (leaderboard.detail, drawn by webapp.detail_plots), opened from a
leaderboard cell or picked here, and where the row stands in the decision of its task and benchmark average
(leaderboard.decision: the spread of its rank and of its gap to the leader over the resamples).

Everything comes from the result files and saved predictions (no model is loaded)."""
from __future__ import annotations

from typing import Any, Optional

import gradio as gr
import pandas as pd

from leaderboard import decision
from leaderboard.detail import CellDetail, cell_detail, errors, first_task, row_summary
from leaderboard.filters import column_bench, column_task

from .detail_plots import curve_figure, decision_figure, detail_matrix_figure
from .downloads import plain_label
from .board import Board
from .handlers import Handlers
from .page import Mount, Tab, pick
from .state import View
from .wiring import bound, event


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
    name = f"[{d.label}]({d.hub_url})" if d.hub_url else d.label  # the model's Hub page at the trained revision
    head = f"### {name} × {d.task}" + (f" (revision {d.revision})" if d.revision else "")
    meta = f"{d.kind} task · main score: {d.main_score} ({d.direction} is better) · config {d.config_hash or '?'}"
    probs = "".join(f"\n- ⚠ {p}" for p in d.problems)
    if d.board_config and d.config_hash != d.board_config:
        probs += (f"\n- ⚠ Configuration {d.config_hash} is shown here, **not the one the board shows** "
                  f"({d.board_config}); the decision below is the board's")
    if d.others:
        probs += (f"\n- Also run under another configuration: {', '.join(d.others)}; pick one under *configuration* "
                  "(the board shows a search's chosen setting, else the configuration with the most runs, then the "
                  "newest)")
    return f"{head}\n{meta}" + (f"\n\nEvidence below: run **{d.run}**." if d.run else "") + probs


DECISION_PENDING = ("_The decision (P(best), rank intervals) is being computed from the saved test predictions; it "
                    "appears here when ready._")


def decision_part(view: View, label: str, task: str, wait: bool = False) -> tuple[Any, str]:
    """The row's place in the decision of ``task`` and of its benchmark average, over every row of the board (the
    Details tab has no filters): a figure (webapp.detail_plots.decision_figure) and a caption, one line per scope;
    (None, DECISION_PENDING) while the draws are being computed (``wait`` False)."""
    draws = view.draws(wait)
    if draws is None:
        return None, DECISION_PENDING
    scopes = decision.cell_decisions(draws, view.data.table, task)
    spreads = [(name, *got) for name, dec in scopes if (got := decision.row_spread(dec, label)) is not None]
    if not scopes:
        return None, "_No decision: this task has no benchmark on the board._"
    n = len(view.data.table)
    head = (f"Decision over all {n} rows of the board (the Leaderboard's filters do not apply here), "
            f"{scopes[0][1].n_resamples:,} resamples of the test examples and of each row's runs:")
    return decision_figure(label, spreads), "\n".join([head, *(f"- {decision.row_line(dec, label, name)}"
                                                                for name, dec in scopes)])


class DetailHandlers:
    """The tab's handlers over the app's state."""

    def __init__(self, h: Handlers):
        self.h = h

    def show(self, row, task, run=None, gold_class=None, config=None) -> dict[str, Any]:
        """Everything the tab shows for (row, task), evidence from ``run`` (default: the first with predictions),
        under ``config`` (one of the cell's configurations; default: the board's)."""
        view = self.h.state.view
        if not row or not task:
            raise ValueError("choose a leaderboard row and a task (or click a score on the Leaderboard tab)")
        model, revision, method = _row_keys(view, row)
        d = cell_detail(view.data, model, revision, method, task, run or None, config or None)
        classes = [""] + list(d.classes)
        cls = gold_class if gold_class in classes else ""
        ev_title, ev = next(iter(d.tables.items()), ("", pd.DataFrame()))
        cmd = "\n".join(x for x in (f"# models.yaml entry:\n{d.models_entry}" if d.models_entry else "", d.command)
                        if x)
        fig, caption = decision_part(view, row, task)
        return {"title": _title_md(d), "summary": row_summary(view.data.table, row), "decision": fig, "decision_note": caption, "runs": d.runs.round(4),
                "curve": curve_figure(d.curve),
                "curve_note": d.curve_note, "run": gr.Dropdown(choices=d.run_choices, value=d.run),
                "matrix": detail_matrix_figure(d),
                "evidence": gr.Dataframe(value=ev.round(4), label=ev_title or "evidence"),
                "evidence_note": d.evidence_note, "gold_class": gr.Dropdown(choices=classes, value=cls),
                "errors": errors(d, cls or None).round(4), "fit": d.tokenizer.round(4), "fit_note": _fit_md(d),
                "provenance": _provenance_md(d), "command": cmd, "command_note": d.command_note,
                "config": gr.Dropdown(choices=d.configs, value=d.config_hash, interactive=len(d.configs) > 1)}

    def decision_after(self, row, task, note) -> dict[str, Any]:
        """After ``show`` said the decision is being computed (``note``): wait for its draws and draw it."""
        if note != DECISION_PENDING:
            return {"decision": gr.skip(), "decision_note": gr.skip()}
        fig, caption = decision_part(self.h.state.view, row, task, wait=True)
        return {"decision": fig, "decision_note": caption}

    def errors_only(self, row, task, run, gold_class, config=None) -> dict[str, Any]:
        view = self.h.state.view
        model, revision, method = _row_keys(view, row)
        return {"errors": errors(cell_detail(view.data, model, revision, method, task, run or None, config or None),
                                 gold_class or None)}

    def from_cell(self, shown: pd.DataFrame, index: Any) -> dict[str, Any]:
        """A click on a leaderboard cell (its index): its row and, when the column is a task, that task; on a
        benchmark's column (average, rank...), the first task of that benchmark the row ran (a score or a failed
        run); on another column, the first task the row ran anywhere. Never a task the row did not run: {} then."""
        view = self.h.state.view
        row_i, col_i = index if isinstance(index, (list, tuple)) else (index, 0)
        if shown is None or len(shown) <= row_i:
            return {}
        label = plain_label(shown.iloc[row_i, 0])
        column = str(shown.columns[col_i]) if col_i < len(shown.columns) else ""
        table = view.data.table
        task = column_task(column, view.data.tasks)  # a score or its P(best) / rank interval
        if task is None:
            bench = column_bench(column, list(table.attrs.get("benchmarks", {})))
            task = first_task(table, label, bench) or first_task(table, label)
        return {"row": label, "task": task} if task else {}


def details_tab(m: Mount) -> Tab:
    """Lay out the tab (inside a gr.Tab) and wire its own events, and a click on a leaderboard score to it."""
    view = m.view
    dh = DetailHandlers(m.h)
    rows = list(view.data.table["row"]) if "row" in view.data.table else []
    tasks = view.data.tasks
    gr.Markdown("Pick a row and a task, or click a score on the Leaderboard tab. Built from the result files and "
                "saved test predictions only; no model is loaded.")
    with gr.Row():
        row = gr.Dropdown(rows, value=rows[0] if rows else None, label="leaderboard row", elem_id="d-row")
        task = gr.Dropdown(tasks, value=tasks[0] if tasks else None, label="task", elem_id="d-task")
        run = gr.Dropdown([], label="run for the evidence", elem_id="d-run", allow_custom_value=True)
        config = gr.Dropdown([], label="configuration", elem_id="d-config", allow_custom_value=True)
        go = gr.Button("Show details", elem_id="d-show", scale=0)
    out: dict[str, Any] = {}
    out["title"] = gr.Markdown(elem_id="detail-title")
    summary = gr.Dataframe(interactive=False, wrap=True, label="this row on every task, as the board shows it",
                           elem_id="detail-row-summary")
    gr.Markdown("#### Where the row stands in the decision")  # outputs last (the /details API's order)
    dec_plot = gr.Plot(label="its rank and its gap to the leader over the resamples", elem_id="detail-decision")
    dec_note = gr.Markdown(elem_id="detail-decision-note")
    out["runs"] = gr.Dataframe(interactive=False, wrap=True, label="every seed and fold (metrics 0–1, as recorded; the board shows them ×100)",
                               elem_id="detail-runs")
    gr.Markdown("#### Training curve")
    out["curve"] = gr.Plot(label="loss per logging step, validation score per evaluation", elem_id="detail-curve")
    out["curve_note"] = gr.Markdown(elem_id="detail-curve-note")
    out["run"] = run
    gr.Markdown("#### What the predictions show")
    with gr.Row():
        out["matrix"] = gr.Plot(label="confusion matrix", elem_id="detail-matrix")
        out["evidence"] = gr.Dataframe(interactive=False, wrap=True, label="evidence", elem_id="detail-evidence")
    out["evidence_note"] = gr.Markdown(elem_id="detail-evidence-note")
    gr.Markdown("#### Errors (most confident first)")
    out["gold_class"] = gold_class = gr.Dropdown([""], value="", label="gold class (empty: all)", elem_id="d-class")
    out["errors"] = gr.Dataframe(interactive=False, wrap=True, label="wrong predictions", elem_id="detail-errors")
    gr.Markdown("#### Tokenizer fit")
    out["fit"] = gr.Dataframe(interactive=False, label="[UNK] and truncation rates per run", elem_id="detail-fit")
    out["fit_note"] = gr.Markdown(elem_id="detail-fit-note")
    gr.Markdown("#### Provenance")
    out["provenance"] = gr.Markdown(elem_id="detail-provenance")
    gr.Markdown("#### Reproduce")
    out["command"] = gr.Code(language="shell", label="command", elem_id="detail-command")
    out["command_note"] = gr.Markdown(elem_id="detail-command-note")
    out["decision"], out["decision_note"] = dec_plot, dec_note
    out["summary"] = summary  # last: the /details API's earlier outputs keep their places
    out["config"] = config  # after it: newer still
    picked = {"row": row, "task": task}
    chosen = {**picked, "run": run, "gold_class": gold_class, "config": config}
    # each show is followed by the decision when its draws were still being computed
    after = bound(dh.decision_after, {**picked, "note": dec_note}, {"decision": dec_plot, "decision_note": dec_note})
    event(go.click, dh.show, chosen, out, "title", api_name="details").then(*after, api_visibility="private")
    for picker in (row, task):  # a pick here (.input: the user's, not a click on the leaderboard's, below)
        event(picker.input, dh.show, picked, out, "title", api_visibility="private").then(
            *after, api_visibility="private")
    event(run.input, dh.show, chosen, out, "title", api_visibility="private").then(*after, api_visibility="private")
    event(config.input, dh.show, {**picked, "config": config}, out, "title", api_visibility="private").then(
        *after, api_visibility="private")
    event(gold_class.input, dh.errors_only, chosen, {"errors": out["errors"]}, "errors", api_visibility="private")

    board = m.mounted.get("leaderboard")
    if isinstance(board, Board):  # a click on a score opens its details
        def from_cell(shown: pd.DataFrame, evt: gr.SelectData) -> dict:
            got = dh.from_cell(shown, evt.index)
            if not got:
                return {row: gr.skip(), task: gr.skip(), m.tabs: gr.skip()}
            return {row: got["row"], task: got["task"], m.tabs: gr.Tabs(selected="details")}

        board.table.select(from_cell, board.table, [row, task, m.tabs], api_visibility="private").then(
            *bound(dh.show, picked, out, "title"), api_visibility="private").then(*after, api_visibility="private")

    def redraw(view: View, kept: dict[str, Any]) -> dict[Any, Any]:
        rows = list(view.data.table["row"]) if "row" in view.data.table else []
        return {row: gr.Dropdown(choices=rows, value=pick(kept.get("row"), rows)),
                task: gr.Dropdown(choices=view.data.tasks, value=pick(kept.get("task"), view.data.tasks))}

    def choices(view: View) -> list[tuple[Any, list]]:
        return [(task, view.data.tasks), (row, list(view.data.table["row"]) if "row" in view.data.table else [])]

    return Tab(keep=picked, outputs=[row, task], redraw=redraw, choices=choices)
