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

from leaderboard.columns import UNK_WARN
from leaderboard.compare import disagreements, right_choices
from leaderboard.failures import summary as failure_summary
from leaderboard.filters import Filters, caveats_markdown, filter_table, visible_tasks
from leaderboard.significance import NOTE as SIG_NOTE, tie_markers

from .downloads import numeric_csv_download
from .playground import example_inputs, form, run_compare
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
        lines += ["**Failed runs** (a row with failures gets a partial benchmark average):"]
        lines += [f"- {line.removeprefix('failed: ')}" for line in failed[:50]]
        lines += [f"- ... and {len(failed) - 50} more (leaderboard.md lists every one)"] if len(failed) > 50 else []
    return "\n".join(lines)


def linked(shown: pd.DataFrame, links: dict[str, str]) -> Any:
    """The display table with each row label that has a Hub page as a Markdown link to it (that column rendered
    as Markdown); unchanged when no row has one."""
    if shown.empty or not links or not any(v in links for v in shown.iloc[:, 0]):
        return shown
    out = shown.copy()
    col = out.columns[0]
    out[col] = [f"[{v}]({links[v]})" if v in links else v for v in out[col]]
    return gr.Dataframe(value=out, datatype=["markdown"] + ["str"] * (len(out.columns) - 1))


def scope_choices(view: View) -> list[str]:
    return list(view.choices.get("benchmarks", [])) + view.data.tasks


class Handlers:
    """The app's event handlers over one AppState; ``n_boxes`` input boxes per form, CSVs written under csv_dir."""

    def __init__(self, state: AppState, csv_dir: Path, n_boxes: int):
        self.state, self.csv_dir, self.n_boxes = state, csv_dir, n_boxes

    # ---------------------------------------------------------------- leaderboard and plots
    def leaderboard_view(self, wait: bool = True, view: Optional[View] = None, **values: Any) -> dict[str, Any]:
        """The /leaderboard API, the controls by name (webapp.board.CONTROLS): the filtered table (model names linked
        to their Hub pages), a note, the numeric CSV, the significance rows and the caveats."""
        v = values.get
        view = view or self.state.view
        data = view.data
        mark = v("markers")
        sig = view.significance(wait) if mark else pd.DataFrame()
        pending = sig is None
        sig = pd.DataFrame() if pending else sig
        f = Filters(v("languages") or [], v("benchmarks") or [], v("families") or [], v("methods") or [],
                    v("min_params"), v("max_params"), v("search") or "", v("columns") or [], v("sort_by"),
                    bool(v("descending")), tie_markers(sig) if len(sig) else {}, v("licenses") or [],
                    bool(v("hide_untrained")), bool(v("hide_partial")))
        shown, hidden = filter_table(data.table, data.task_info, f)
        vis = [t for ts in visible_tasks(data.table, data.task_info, f).values() for t in ts]
        path = numeric_csv_download(shown, data.table, self.csv_dir)
        note = (f"**{len(shown)} model(s) shown, {hidden} hidden by the filters.** Rows: model, with the method "
                "in brackets when it is not plain fine-tuning. Cells: main score ×100, mean ± std (n seeds); "
                f"⚠UNK: the tokenizer maps over {UNK_WARN:.0%} of the task's tokens to [UNK]. ⚙: a hyperparameter "
                "search chose the setting on the validation split. Click a score for its evidence (Details tab); "
                "the About tab says how every number is computed. ")
        if mark:
            note += "_Significance marks: being computed; they appear in a moment._ " if pending else SIG_NOTE
        sig_view = sig[sig["task"].isin(vis)].round(4) if len(sig) else pd.DataFrame()
        return {"table": linked(shown, view.links), "note": note, "csv": path, "significance": sig_view,
                "caveats": caveats_markdown(data.task_info, vis)}

    def first_paint(self, **values: Any) -> dict[str, Any]:
        """The view without waiting for the significance marks (the page load's, after a shared link's filters)."""
        return self.leaderboard_view(wait=False, **values)

    def warm_significance(self) -> None:
        self.state.view.significance()

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
        return list(data.checkpoints.get(task, {})), form(kind), caveat

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
        return {"checkpoint": gr.Dropdown(choices=labels, value=labels[0] if labels else None),
                "boxes": self._boxes(names), "example": gr.Dropdown(choices=ex_choices, value=None),
                "caveat": caveat}

    def compare_task(self, task, view: Optional[View] = None) -> dict[str, Any]:
        view = view or self.state.view
        labels, names, caveat = self._task_parts(view, task)
        ex = example_inputs(view.data, task, 1)
        return {"models": gr.CheckboxGroup(choices=labels, value=labels[:2]),
                "boxes": self._boxes(names, ex[0] if ex else []), "caveat": caveat,
                "right": gr.Dropdown(choices=right_choices(labels[:2]), value="any")}

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
        return {"table": table, "summary": summary}
