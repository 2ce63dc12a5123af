"""The app's handlers and page texts (app.py lays out the page and wires these to it).

Every handler reads ``state.view`` once per call (leaderboard.app_state), so a refresh that swaps the data in the
middle of a call never mixes two reads; `sync` redraws whatever depends on the data when a page shows an older view.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Callable, Optional

import gradio as gr
import pandas as pd

from harness.errors import HarnessError

from .app_state import AppState, View
from .columns import UNK_WARN
from .compare import disagreements, right_choices, run_compare
from .downloads import csv_download
from .failures import summary as failure_summary
from .filters import Filters, caveats_markdown, filter_table, visible_tasks
from .playground import InputError, example_inputs, form
from .plots import model_points, score_vs_latency, score_vs_params, task_bars
from .significance import NOTE as SIG_NOTE, tie_markers

log = logging.getLogger(__name__)
TITLE = "model-chooser leaderboard"


def header_md(view: View) -> str:
    d = view.data
    where = "Results: bundled sample" if view.sample else f"Results: `{view.label}`"
    return (f"# {TITLE}\n{where} · {len(d.runs)} result file(s), {len(d.table)} model row(s), "
            f"{len(d.tasks)} task(s).")


def problems_md(view: View) -> str:
    data = view.data
    lines = [f"**⚠ {view.message}**"] if view.message else []
    if data.runs.empty and not view.sample:
        lines.append(f"**No results found in `{view.label}`.** Run `python -m harness run ... --output-dir "
                     f"{data.root}` first; the app keeps serving and shows them after a refresh.")
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


def safe(fn: Callable[..., tuple], n_out: int, msg_index: int) -> Callable[..., tuple]:
    """Wrap a handler: a user error (or any error) becomes a one-line message in output msg_index."""
    def wrapped(*args: Any) -> tuple:
        try:
            return fn(*args)
        except (InputError, HarnessError) as e:
            msg = f"⚠ {e}"
        except Exception as e:  # noqa: BLE001 - keep serving whatever happens
            log.exception("handler failed")
            msg = f"⚠ internal error: {type(e).__name__}: {str(e)[:200]}"
        out: list[Any] = [None] * n_out
        out[msg_index] = msg
        return tuple(out)
    wrapped.__name__ = fn.__name__
    return wrapped


def scope_choices(view: View) -> list[str]:
    return list(view.choices.get("benchmarks", [])) + view.data.tasks


class Handlers:
    """The app's event handlers over one AppState; ``n_boxes`` input boxes per form, CSVs written under csv_dir."""

    def __init__(self, state: AppState, csv_dir: Path, n_boxes: int):
        self.state, self.csv_dir, self.n_boxes = state, csv_dir, n_boxes

    # ---------------------------------------------------------------- leaderboard and plots
    def leaderboard_view(self, languages, benchmarks_, families, methods, min_m, max_m, search, columns, sort_by,
                         descending, mark, wait=True, view: Optional[View] = None):
        view = view or self.state.view
        data = view.data
        sig = view.significance(wait) if mark else pd.DataFrame()
        pending = sig is None
        sig = pd.DataFrame() if pending else sig
        f = Filters(languages or [], benchmarks_ or [], families or [], methods or [], min_m, max_m, search or "",
                    columns or [], sort_by, bool(descending), tie_markers(sig) if len(sig) else {})
        shown, hidden = filter_table(data.table, data.task_info, f)
        vis = [t for ts in visible_tasks(data.table, data.task_info, f).values() for t in ts]
        path = csv_download(shown, self.csv_dir)
        note = (f"**{len(shown)} model(s) shown, {hidden} hidden by the filters.** Rows: model, with the method "
                "in brackets when it is not plain fine-tuning. Cells: main score ×100, mean ± std (n seeds); "
                f"⚠UNK: the tokenizer maps over {UNK_WARN:.0%} of the task's tokens to [UNK]. ⚙: a hyperparameter "
                "search chose the setting on the validation split (values and trial count: leaderboard.md/.csv). "
                "Ranks follow each score's direction (higher is better unless the task says lower). ")
        if mark:
            note += "_Significance marks: being computed; they appear in a moment._ " if pending else SIG_NOTE
        sig_view = sig[sig["task"].isin(vis)].round(4) if len(sig) else pd.DataFrame()
        return shown, note, path, sig_view, caveats_markdown(data.task_info, vis)

    def first_paint(self, *lb_inputs):
        return self.leaderboard_view(*lb_inputs, wait=False)

    def warm_significance(self) -> None:
        self.state.view.significance()

    def plots_view(self, scope, task, view: Optional[View] = None):
        data = (view or self.state.view).data
        pts = model_points(data.agg, data.table, scope or "")
        return score_vs_params(pts, scope or ""), score_vs_latency(pts, scope or ""), task_bars(data.agg, task)

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

    def playground_task(self, task, view: Optional[View] = None):
        view = view or self.state.view
        labels, names, caveat = self._task_parts(view, task)
        ex = example_inputs(view.data, task)
        ex_choices = [(f"{i + 1}: {e[0][:70]}", str(i)) for i, e in enumerate(ex)]
        return (gr.Dropdown(choices=labels, value=labels[0] if labels else None), *self._boxes(names),
                gr.Dropdown(choices=ex_choices, value=None), caveat)

    def compare_task(self, task, view: Optional[View] = None):
        view = view or self.state.view
        labels, names, caveat = self._task_parts(view, task)
        ex = example_inputs(view.data, task, 1)
        return (gr.CheckboxGroup(choices=labels, value=labels[:2]), *self._boxes(names, ex[0] if ex else []),
                caveat, gr.Dropdown(choices=right_choices(labels[:2]), value="any"))

    def fill_example(self, task, idx):
        ex = example_inputs(self.state.view.data, task)
        if idx is None or not str(idx).isdigit() or int(idx) >= len(ex):
            return tuple(gr.Textbox() for _ in range(self.n_boxes))
        values = ex[int(idx)]
        return tuple(values[i] if i < len(values) else "" for i in range(self.n_boxes))

    def predict_pending(self, task, choice):
        """The visible 'loading LABEL…' state before a prediction whose checkpoint is not loaded yet."""
        return self.state.view.pg.pending(task, choice) or gr.skip()

    def predict(self, task, choice, *values):
        out, ms = self.state.view.pg.predict(task, choice, *values)
        return out["text"], out["label"], out["highlight"], f"{ms:.1f} ms (single input, CPU, {out['backend']})"

    def compare_pending(self, task, labels):
        pg = self.state.view.pg
        return " ".join(filter(None, (pg.pending(task, lab) for lab in (labels or [])))) or gr.skip()

    def compare_run(self, task, labels, *values):
        return run_compare(self.state.view.pg, task, labels or [], *values), ""

    def compare_examples(self, task, labels, right):
        return disagreements(self.state.view.data, task, labels or [], right or "any")

    # ---------------------------------------------------------------- refresh
    def checked_md(self, view: View) -> str:
        return (f"_Results checked {time.strftime('%H:%M:%S', time.gmtime())} UTC: `{view.label}`, "
                f"{len(view.data.runs)} result file(s)._")

    def choice_sets(self, view: View) -> list[list]:
        """The choices of the data-dependent pickers, in CHOICE_PICKERS order (app.py builds them from these)."""
        c, tasks = view.choices, view.data.tasks
        return [c.get("languages", []), c.get("benchmarks", []), c.get("families", []), c.get("methods", []),
                c.get("sort_by", []), scope_choices(view), tasks, tasks, tasks, view.labels]

    def bind(self, pickers: list) -> None:
        """The picker components (CHOICE_PICKERS order, + the compare checkpoints last) whose choices a refresh
        updates on the server too: Gradio checks an API call's values against the server's copy."""
        self.pickers, self._applied = pickers, self.state.view.version

    def _apply_choices(self, view: View) -> None:
        if self._applied == view.version:
            return
        for comp, values in zip(self.pickers, self.choice_sets(view)):
            comp.choices = [tuple(v) if isinstance(v, (tuple, list)) else (str(v), v) for v in values]
        self._applied = view.version

    def sync(self, min_age: Optional[float], shown: int, *vals) -> tuple:
        """Re-read the source (unless min_age is None: just compare) and, when the page shows an older view, every
        update that depends on the data; else skip all but the 'checked' line. Outputs: SYNC_OUT in app.py."""
        try:
            view = self.state.refresh(min_age) if min_age is not None else self.state.view
            checked = self.checked_md(view) if min_age is not None else gr.skip()
        except Exception as e:  # noqa: BLE001 - refresh never breaks the page
            log.exception("refresh failed")
            return (gr.skip(),) * 2 + (f"⚠ refresh failed: {type(e).__name__}",) + (gr.skip(),) * self.n_sync
        if shown == view.version:
            return (gr.skip(),) * 2 + (checked,) + (gr.skip(),) * self.n_sync
        self._apply_choices(view)
        sets = self.choice_sets(view)
        lb, (scope, p_task, c_task, g_task) = list(vals[:11]), vals[11:15]
        for i in range(4):  # filter picks that still exist
            lb[i] = [v for v in (lb[i] or []) if v in sets[i]]
        lb[8] = lb[8] if lb[8] in sets[4] else None

        def pick(value, options):
            return value if value in options else (options[0] if options else None)
        scope, p_task, c_task, g_task = (pick(v, sets[i]) for i, v in zip(range(5, 9), (scope, p_task, c_task, g_task)))
        pickers = [gr.CheckboxGroup(choices=sets[i], value=lb[i]) for i in range(4)]
        pickers += [gr.Dropdown(choices=sets[4], value=lb[8])]
        pickers += [gr.Dropdown(choices=sets[i], value=v) for i, v in zip(range(5, 9), (scope, p_task, c_task, g_task))]
        pending = bool(lb[10]) and view.significance(wait=False) is None
        return (view.version, pending, checked, header_md(view), problems_md(view), gr.Markdown(visible=view.sample),
                gr.Markdown(visible=view.sample), *pickers, *self.playground_task(g_task, view),
                *self.compare_task(c_task, view), *self.leaderboard_view(*lb, wait=False, view=view),
                *self.plots_view(scope, p_task, view))

    @property
    def n_sync(self) -> int:
        """sync's outputs after version, marks-pending and checked."""
        return 4 + 9 + (self.n_boxes + 3) * 2 + 5 + 3

    def marks_after_sync(self, pending, *lb_inputs):
        """After a redraw whose significance marks were still being computed: wait for them and redraw."""
        if not pending:
            return (False,) + (gr.skip(),) * 5
        return (False, *self.leaderboard_view(*lb_inputs))
