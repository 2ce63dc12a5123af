"""The app's handlers and page texts (webapp.build and each tab's module lay out the page and wire these to it).

Handlers take their inputs by name and return a dict by output name (webapp.wiring binds them to the components).
Every handler reads ``state.view`` once per call (webapp.state), so a refresh that swaps the data in the middle of
a call never mixes two reads; webapp.page redraws whatever depends on the data when a page shows an older view.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import gradio as gr
import pandas as pd

from leaderboard import decision
from leaderboard.columns import MISSING, UNK_WARN
from leaderboard.compare import disagreements, right_choices
from leaderboard.failures import summary as failure_summary
from leaderboard.filters import Filters, caveats_markdown, filter_table, shown_rows, visible_tasks
from leaderboard.significance import COLUMNS as SIG_COLUMNS, NOTE as SIG_NOTE, display_pairs, pairs_table, tie_markers

from .downloads import numeric_csv_download
from .playground import example_inputs, form, playground_views, run_compare
from .plots import model_points, plot_scope, score_vs_latency, score_vs_params, task_bars
from .state import AppState, View

TITLE = "model-chooser leaderboard"


def header_md(view: View) -> str:
    d = view.data
    where = "Results: bundled sample" if view.sample else f"Results: `{view.label}`"
    return (f"# {TITLE}\n{where} · {len(d.runs)} result file(s), {len(d.table)} model row(s), "
            f"{len(d.tasks)} task(s).")


def problems_md(view: View) -> str:
    data = view.data
    lines = [f"**⚠ {view.message}**"] if view.message else []
    for p in data.loaded.problems[:20]:
        lines.append(f"- skipped: {p}")
    if len(data.loaded.problems) > 20:
        lines.append(f"- ... and {len(data.loaded.problems) - 20} more")
    failed = failure_summary(data.runs, data.agg, data.loaded.failures)
    if failed:  # the table's cells say "failed" / "k of n failed"; here is why
        lines += ["**Failed runs**, with the class of each failure (a row with failures gets a partial benchmark "
                  "average; infrastructure failures of a fold with a successful run are listed, not counted):"]
        lines += [f"- {line.removeprefix('failed: ')}" for line in failed[:50]]
        lines += [f"- ... and {len(failed) - 50} more (leaderboard.md lists every one)"] if len(failed) > 50 else []
    return "\n".join(lines)


# the table's column widths (Gradio sizes a column by its cells, so a header over short numbers broke per letter
# pair): a column is as wide as its header's longest word and its cells up to CELL_CHARS (the row label's up to
# LABEL_CHARS), longer cells wrap inside it; in px of the table's 14 px monospace font
CHAR_PX, CELL_PAD_PX, HEAD_PAD_PX = 8.4, 18, 36  # a header cell also holds its sort menu button
LABEL_SLACK_PX = 8  # the row label (a link, when the model has a Hub page) never wraps a name of LABEL_CHARS
CELL_CHARS, LABEL_CHARS = 10, 14


def column_widths(shown: pd.DataFrame, caps: Optional[dict[str, int]] = None) -> list[str]:
    """Each display column's width: its header never breaks inside a word; its cells wrap past CELL_CHARS (the first
    column's past LABEL_CHARS; ``caps``: column -> characters, for other tables' wide text columns)."""
    out = []
    for i, col in enumerate(shown.columns):
        head = max((len(w) for w in str(col).split()), default=1) * CHAR_PX + HEAD_PAD_PX
        cells = max((len(str(v)) for v in shown[col]), default=1)
        cap = (caps or {}).get(col, LABEL_CHARS if i == 0 else CELL_CHARS)
        body = min(cells, cap) * CHAR_PX + CELL_PAD_PX + (LABEL_SLACK_PX if i == 0 else 0)
        out.append(f"{round(max(head, body))}px")
    return out


def linked(shown: pd.DataFrame, links: dict[str, str]) -> dict[str, Any]:
    """The table's update: the display table (``value``), sized by column_widths, with each row label that has a Hub
    page as a Markdown link to it (that column then rendered as Markdown). A plain update (gr.update), never a
    component: the page's first draw calls this while the page is being built."""
    out, datatype = shown, ["str"] * len(shown.columns)
    if not shown.empty and links and any(v in links for v in shown.iloc[:, 0]):
        out = shown.copy()
        col = out.columns[0]
        out[col] = [f"[{v}]({links[v]})" if v in links else v for v in out[col]]
        datatype[0] = "markdown"
    return gr.update(value=out, datatype=datatype, column_widths=column_widths(shown) if len(shown.columns) else [])


def _flat(vis: dict[str, list[str]]) -> list[str]:
    return [t for ts in vis.values() for t in ts]


def decision_md(decisions: dict[str, Any], vis: dict[str, list[str]], n_rows: int, pending: bool = False) -> str:
    """The decision above the table: one paragraph per shown benchmark average, or per shown task where its
    benchmark has no average decided (leaderboard.decision.paragraph); '—' when nothing is shown."""
    if pending:
        return ("_The decision for this view (P(best), the 95% set for the best, rank intervals): being computed "
                "from the saved test predictions; it appears in a moment._")
    parts = []
    for b, tasks in vis.items():
        if b in decisions:
            parts.append(decision.paragraph(decisions[b], f"{b} average"))
        else:
            parts += [decision.paragraph(decisions[t]) for t in tasks if t in decisions]
    if not parts or not n_rows:
        return MISSING
    head = (f"_The decision over the {n_rows} row(s) shown (a filter is a constraint: it decides among those; "
            "the About tab says how)._")
    return "\n\n".join([head, *parts])


NO_CHECKPOINTS = ("\n\n_No checkpoint of this task to run here: these results hold none (the bundled sample ships "
                  "none; `run` keeps each configuration's best one unless `--keep-checkpoints none`, and `push` "
                  "publishes them)._")


def trained_first(table: pd.DataFrame, labels: list[str]) -> list[str]:
    """Checkpoint labels with the untrained baselines' last (what Compare and the Playground preselect is trained)."""
    untrained = set(table.loc[table["untrained"].fillna(False).astype(bool), "row"]) if "untrained" in table else set()
    return sorted(labels, key=lambda lab: lab in untrained)


def scope_choices(view: View) -> list[str]:
    return list(view.choices.get("benchmarks", [])) + view.data.tasks


class Handlers:
    """The app's event handlers over one AppState; ``n_boxes`` input boxes per form, CSVs written under csv_dir."""

    def __init__(self, state: AppState, csv_dir: Path, n_boxes: int):
        self.state, self.csv_dir, self.n_boxes = state, csv_dir, n_boxes

    # ---------------------------------------------------------------- leaderboard and plots
    def leaderboard_view(self, wait: bool = True, view: Optional[View] = None, **values: Any) -> dict[str, Any]:
        """The /leaderboard API, the controls by name (webapp.board.CONTROLS): the filtered table (model names linked
        to their Hub pages), a note, the numeric CSV, the significance rows, the caveats and the decision.

        The decision (leaderboard.decision) is over the rows and tasks the filters show: its paragraph, the table's
        P(best) and rank interval columns (the "decision" toggle), the marks and the significance rows all come from
        it, so a filter that hides the leader changes them. ``wait`` False: when the draws are not cached yet, the
        view says they are being computed (the page's chain then waits for them and redraws)."""
        v = values.get
        view = view or self.state.view
        data = view.data
        f = Filters(languages=v("languages") or [], benchmarks=v("benchmarks") or [],
                    families=v("families") or [], methods=v("methods") or [], min_params_m=v("min_params"),
                    max_params_m=v("max_params"), search=v("search") or "", columns=v("columns") or [],
                    sort_by=v("sort_by"), descending=bool(v("descending")), licenses=v("licenses") or [],
                    hide_untrained=bool(v("hide_untrained")), hide_partial=bool(v("hide_partial")),
                    tasks=v("tasks") or [], task_decision=bool(v("task_decision")))
        draws, decisions = self.view_decisions(view, f, wait)
        pending = draws is None
        sig = pairs_table(decisions, draws, data.table) if decisions else pd.DataFrame(columns=SIG_COLUMNS)
        if v("markers"):
            f.markers = tie_markers(sig)
        if v("decision"):
            f.decision = decision.table_cells(decisions)
        shown, hidden = filter_table(data.table, data.task_info, f)
        vis = visible_tasks(data.table, data.task_info, f)
        numbers = decision.with_decisions(data.table, decisions) if decisions else data.table
        path = numeric_csv_download(shown, numbers, self.csv_dir)
        note = (f"**{len(shown)} model(s) shown, {hidden} hidden by the filters.** Rows: model, with the method "
                "in brackets when it is not plain fine-tuning. Cells: main score ×100, mean ± std (n seeds); "
                f"⚠UNK: the tokenizer maps over {UNK_WARN:.0%} of the task's tokens to [UNK]. ⚙: a hyperparameter "
                "search chose the setting on the validation split. Click a score for its evidence (Details tab); "
                "the About tab says how every number is computed. ")
        if pending:
            note += "_Significance marks, P(best) and rank intervals: being computed; they appear in a moment._ "
        else:
            if v("decision"):
                note += ("P(best): the share of resamples in which the row is best; rank 95%: the range of its rank "
                         "over them; both over the rows shown (—: the row takes no part in that decision). ")
            if v("markers"):
                note += SIG_NOTE
        return {"table": linked(shown, view.links), "note": note, "csv": path,
                "significance": display_pairs(sig), "caveats": caveats_markdown(data.task_info, _flat(vis)),
                "decision": decision_md(decisions, vis, len(shown), pending)}

    @staticmethod
    def view_decisions(view: View, f: Filters, wait: bool = True) -> tuple[Optional[dict], dict[str, Any]]:
        """The draws and the decisions of the rows and tasks ``f`` shows (scope -> leaderboard.decision.Decision);
        (None, {}) while the draws are still being computed (``wait`` False and the draws not cached)."""
        data = view.data
        draws = view.draws(wait)
        if draws is None or data.table.empty or "model" not in data.table:
            return draws, {}
        vis, rows = shown_rows(data.table, data.task_info, f)
        return draws, decision.view_decisions(draws, data.table, rows, vis)

    def first_paint(self, **values: Any) -> dict[str, Any]:
        """The view without waiting for the decision's draws (the page load's, after a shared link's filters)."""
        return self.leaderboard_view(wait=False, **values)

    def warm_decision(self) -> None:
        """Compute (or read from the cache) the draws the decision and the marks need, with no output."""
        self.state.view.draws()

    def plots_view(self, scope, task, view: Optional[View] = None) -> dict[str, Any]:
        """Score vs parameters and vs latency on ``scope``, bars on ``task``, and under each what it leaves out."""
        data = (view or self.state.view).data
        pts = model_points(data.agg, data.table, scope or "")
        return {"params": score_vs_params(pts, scope or ""), "latency": score_vs_latency(pts, scope or ""),
                "bars": task_bars(data.agg, task), "params_scope": plot_scope(data.agg, data.table, scope, "params"),
                "latency_scope": plot_scope(data.agg, data.table, scope, "latency"),
                "bars_scope": plot_scope(data.agg, data.table, task, "bars")}

    # ---------------------------------------------------------------- playground and compare
    def _task_parts(self, view: View, task):
        data = view.data
        info = data.task_info.get(task, {})
        kind = info.get("kind")
        caveat = (f"**{task}** ({kind}, {info.get('language', '?')}) · license: {info.get('license', '?')}"
                  + "".join(f"\n- {c}" for c in info.get("caveats", [])))
        return trained_first(data.table, list(data.checkpoints.get(task, {}))), form(kind), caveat

    def _boxes(self, names, values=None):
        """One textbox update per input box: the task's boxes labelled and shown, the rest hidden."""
        return [gr.Textbox(label=names[i] if i < len(names) else "(not used)", visible=i < len(names),
                           **({} if values is None else {"value": values[i] if i < len(values) else ""}))
                for i in range(self.n_boxes)]

    def playground_task(self, task, view: Optional[View] = None) -> dict[str, Any]:
        view = view or self.state.view
        labels, names, caveat = self._task_parts(view, task)
        ex = example_inputs(view.data, task)
        ex_choices = [(f"{i + 1}: {e[0][:70]}", str(i)) for i, e in enumerate(ex)]
        views = playground_views(view.data.task_info.get(task, {}).get("kind"))
        return {"checkpoint": gr.Dropdown(choices=labels, value=labels[0] if labels else None),
                "boxes": self._boxes(names), "example": gr.Dropdown(choices=ex_choices, value=None),
                "caveat": caveat + ("" if labels else NO_CHECKPOINTS), "run": gr.Button(interactive=bool(labels)),
                "label": gr.Label(value=None, visible="label" in views),
                "spans": gr.HighlightedText(value=None, visible="highlight" in views)}

    def compare_task(self, task, view: Optional[View] = None) -> dict[str, Any]:
        view = view or self.state.view
        labels, names, caveat = self._task_parts(view, task)
        ex = example_inputs(view.data, task, 1)
        return {"models": gr.CheckboxGroup(choices=labels, value=labels[:2]),
                "boxes": self._boxes(names, ex[0] if ex else []),
                "caveat": caveat + ("" if len(labels) >= 2 else NO_CHECKPOINTS),
                "right": gr.Dropdown(choices=right_choices(labels[:2]), value="any"),
                "run": gr.Button(interactive=len(labels) >= 2)}

    def fill_example(self, task, example) -> dict[str, Any]:
        ex = example_inputs(self.state.view.data, task)
        if example is None or not str(example).isdigit() or int(example) >= len(ex):
            return {"boxes": [gr.Textbox() for _ in range(self.n_boxes)]}
        values = ex[int(example)]
        return {"boxes": [values[i] if i < len(values) else "" for i in range(self.n_boxes)]}

    def predict_pending(self, task, checkpoint) -> dict[str, Any]:
        """The visible 'loading LABEL…' state before a prediction whose checkpoint is not loaded yet."""
        return {"msg": self.state.view.pg.pending(task, checkpoint) or gr.skip()}

    def predict(self, task, checkpoint, boxes) -> dict[str, Any]:
        out, ms = self.state.view.pg.predict(task, checkpoint, *boxes)
        return {"msg": out["text"], "label": out["label"], "spans": out["highlight"],
                "latency": f"{ms:.1f} ms (single input, CPU, {out['backend']})"}

    def compare_pending(self, task, models) -> dict[str, Any]:
        pg = self.state.view.pg
        return {"msg": " ".join(filter(None, (pg.pending(task, lab) for lab in (models or [])))) or gr.skip()}

    def compare_run(self, task, models, boxes) -> dict[str, Any]:
        return {"out": run_compare(self.state.view.pg, task, models or [], *boxes), "msg": ""}

    def compare_examples(self, task, models, right) -> dict[str, Any]:
        table, summary = disagreements(self.state.view.data, task, models or [], right or "any")
        # the input wraps inside 40 characters, so gold and every checkpoint's answer stay in view
        table = gr.update(value=table, column_widths=column_widths(table, {"id": 16, "input": 40, "gold": 16,
                                                                          **{m: 18 for m in models or []}}))
        return {"table": table, "summary": summary}
