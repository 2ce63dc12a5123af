"""Gradio app over a harness output folder: Leaderboard, Compare and Playground tabs.

    python app.py --results outputs/demo        # or env HARNESS_RESULTS_REPO=<hub dataset repo>

Nothing is read, downloaded or computed at import; build_app(results_dir) reads the folder once. The queue's size
and concurrency: --queue-size / --concurrency, or env HARNESS_APP_QUEUE_SIZE / HARNESS_APP_CONCURRENCY.
"""
from __future__ import annotations

import argparse
import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import Any, Callable, Optional

import gradio as gr
import pandas as pd

from harness.cli_args import positive_int
from harness.errors import HarnessError
from leaderboard.columns import UNK_WARN
from leaderboard.compare import disagreements, right_choices, run_compare
from leaderboard.data import AppData, load_app_data, resolve_results_dir
from leaderboard.failures import summary as failure_summary
from leaderboard.downloads import MAX_AGE_S, csv_download
from leaderboard.filters import Filters, caveats_markdown, choices, filter_table, visible_tasks
from leaderboard.playground import InputError, Playground, example_inputs, form, max_boxes
from leaderboard.plots import model_points, score_vs_latency, score_vs_params, task_bars
from leaderboard.significance import NOTE as SIG_NOTE, significance_table, tie_markers

log = logging.getLogger(__name__)
TITLE = "model-chooser leaderboard"
CONCURRENCY = 4  # handlers run at once (the Gradio queue's default_concurrency_limit)
QUEUE_SIZE = 512  # events waiting at most: 50 users opening the page (5 load events each) and clicking fit


def _problems_md(data: AppData) -> str:
    lines = []
    if data.runs.empty:
        lines.append(f"**No results found in `{data.root}`.** Run `python -m harness run ... --output-dir "
                     f"{data.root}` first; the app keeps serving and shows results after a restart.")
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


def _safe(fn: Callable[..., tuple], n_out: int, msg_index: int) -> Callable[..., tuple]:
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


def build_app(results_dir: Path | str, concurrency: int = CONCURRENCY, queue_size: int = QUEUE_SIZE) -> gr.Blocks:
    """The app for one results folder (read once here; significance computed after the table's first paint), its
    queue holding ``queue_size`` events and running ``concurrency`` handlers at once."""
    data = load_app_data(results_dir)
    pg = Playground(data)
    ch = choices(data.table, data.task_info)
    tasks = data.tasks
    sig_lock = threading.Lock()
    sig_cache: dict[str, pd.DataFrame] = {}
    csv_dir = Path(tempfile.mkdtemp(prefix="leaderboard-csv-"))  # this app's downloads (Gradio serves the temp dir)
    # Every listed checkpoint label (the API validates values against a component's initial choices).
    all_labels = sorted({lab for by_label in data.checkpoints.values() for lab in by_label})
    # Input boxes: as many as the largest form of a task kind; a task shows its own. Each starts as "", so an API
    # call may leave out the boxes its task does not use.
    n_boxes = max_boxes()

    def significance(wait: bool = True) -> Optional[pd.DataFrame]:
        """The significance table; None when not computed yet and ``wait`` is False."""
        if "sig" in sig_cache or not wait:
            return sig_cache.get("sig")
        with sig_lock:
            if "sig" not in sig_cache:
                sig_cache["sig"] = significance_table(data) if not data.runs.empty else pd.DataFrame()
            return sig_cache["sig"]

    def warm_significance() -> None:
        significance()

    def leaderboard_view(languages, benchmarks_, families, methods, min_m, max_m, search, columns, sort_by,
                         descending, mark, wait=True):
        sig = significance(wait) if mark else pd.DataFrame()
        pending = sig is None
        sig = pd.DataFrame() if pending else sig
        f = Filters(languages or [], benchmarks_ or [], families or [], methods or [], min_m, max_m, search or "",
                    columns or [], sort_by, bool(descending), tie_markers(sig) if len(sig) else {})
        shown, hidden = filter_table(data.table, data.task_info, f)
        vis = [t for ts in visible_tasks(data.table, data.task_info, f).values() for t in ts]
        path = csv_download(shown, csv_dir)
        note = (f"**{len(shown)} model(s) shown, {hidden} hidden by the filters.** Rows: model, with the method "
                "in brackets when it is not plain fine-tuning. Cells: main score ×100, mean ± std (n seeds); "
                f"⚠UNK: the tokenizer maps over {UNK_WARN:.0%} of the task's tokens to [UNK]. ⚙: a hyperparameter "
                "search chose the setting on the validation split (values and trial count: leaderboard.md/.csv). "
                "Ranks follow each score's direction (higher is better unless the task says lower). ")
        if mark:
            note += "_Significance marks: being computed; they appear in a moment._ " if pending else SIG_NOTE
        sig_view = sig[sig["task"].isin(vis)].round(4) if len(sig) else pd.DataFrame()
        return shown, note, path, sig_view, caveats_markdown(data.task_info, vis)

    def plots_view(scope, task):
        pts = model_points(data.agg, data.table, scope) if scope else model_points(data.agg, data.table, "")
        return score_vs_params(pts, scope or ""), score_vs_latency(pts, scope or ""), task_bars(data.agg, task)

    def _task_parts(task):
        kind = data.task_info.get(task, {}).get("kind")
        labels = list(data.checkpoints.get(task, {}))
        info = data.task_info.get(task, {})
        caveat = (f"**{task}** ({kind}, {info.get('language', '?')}) · license: {info.get('license', '?')}"
                  + "".join(f"\n- {c}" for c in info.get("caveats", [])))
        return labels, form(kind), caveat

    def _boxes(names, values=None):
        """One textbox update per input box: the task's boxes labelled and shown, the rest hidden."""
        return [gr.Textbox(label=names[i] if i < len(names) else "(not used)", visible=i < len(names),
                           **({} if values is None else {"value": values[i] if i < len(values) else ""}))
                for i in range(n_boxes)]

    def playground_task(task):
        labels, names, caveat = _task_parts(task)
        ex = example_inputs(data, task)
        ex_choices = [(f"{i + 1}: {e[0][:70]}", str(i)) for i, e in enumerate(ex)]
        return (gr.Dropdown(choices=labels, value=labels[0] if labels else None), *_boxes(names),
                gr.Dropdown(choices=ex_choices, value=None), caveat)

    def compare_task(task):
        labels, names, caveat = _task_parts(task)
        ex = example_inputs(data, task, 1)
        return (gr.CheckboxGroup(choices=labels, value=labels[:2]), *_boxes(names, ex[0] if ex else []),
                caveat, gr.Dropdown(choices=right_choices(labels[:2]), value="any"))

    def fill_example(task, idx):
        ex = example_inputs(data, task)
        if idx is None or not str(idx).isdigit() or int(idx) >= len(ex):
            return tuple(gr.Textbox() for _ in range(n_boxes))
        values = ex[int(idx)]
        return tuple(values[i] if i < len(values) else "" for i in range(n_boxes))

    def predict(task, choice, *values):
        out, ms = pg.predict(task, choice, *values)
        return out["text"], out["label"], out["highlight"], f"{ms:.1f} ms (single input, CPU, {out['backend']})"

    def compare_run(task, labels, *values):
        return run_compare(pg, task, labels or [], *values), ""

    def compare_examples(task, labels, right):
        table, summary = disagreements(data, task, labels or [], right or "any")
        return table, summary

    with gr.Blocks(title=TITLE, delete_cache=(MAX_AGE_S, MAX_AGE_S)) as demo:
        gr.Markdown(f"# {TITLE}\nResults folder: `{data.root}` · {len(data.runs)} result file(s), "
                    f"{len(data.table)} model row(s), {len(tasks)} task(s).")
        gr.Markdown(_problems_md(data), elem_id="problems")
        with gr.Tabs():
            with gr.Tab("Leaderboard", id="leaderboard"):
                with gr.Row():
                    f_lang = gr.CheckboxGroup(ch.get("languages", []), label="language")
                    f_bench = gr.CheckboxGroup(ch.get("benchmarks", []), label="benchmark")
                    f_fam = gr.CheckboxGroup(ch.get("families", []), label="family")
                    f_meth = gr.CheckboxGroup(ch.get("methods", []), label="method")
                with gr.Row():
                    f_min = gr.Number(label="min params (M)", value=None)
                    f_max = gr.Number(label="max params (M)", value=None)
                    f_search = gr.Textbox(label="search", placeholder="model, family, revision", elem_id="search")
                    f_sort = gr.Dropdown(ch.get("sort_by", []), label="sort by", value=None)
                    f_desc = gr.Checkbox(label="descending", value=True)
                with gr.Row():
                    f_cols = gr.CheckboxGroup(ch.get("columns", []), value=["family", "parameters"],
                                              label="extra columns")
                    f_mark = gr.Checkbox(label="significance markers (paired bootstrap)", value=True)
                lb_note = gr.Markdown(elem_id="lb-note")
                lb_table = gr.Dataframe(interactive=False, wrap=True, elem_id="lb-table", label="leaderboard")
                lb_csv = gr.DownloadButton("Download CSV (filtered view)")
                with gr.Accordion("Significance details", open=False):
                    lb_sig = gr.Dataframe(interactive=False, label="adjacent pairs per task")
                gr.Markdown("### Task licenses and caveats")
                lb_cav = gr.Markdown()
                gr.Markdown("### Plots")
                with gr.Row():
                    scope_choices = list(ch.get("benchmarks", [])) + tasks
                    p_scope = gr.Dropdown(scope_choices, value=scope_choices[0] if scope_choices else None,
                                          label="score scope (benchmark average or task)")
                    p_task = gr.Dropdown(tasks, value=tasks[0] if tasks else None, label="task for bars")
                with gr.Row():
                    plot_params = gr.Plot(label="score vs parameters")
                    plot_lat = gr.Plot(label="score vs latency")
                plot_bars = gr.Plot(label="per-task bars")
                lb_inputs = [f_lang, f_bench, f_fam, f_meth, f_min, f_max, f_search, f_cols, f_sort, f_desc, f_mark]
                lb_outputs = [lb_table, lb_note, lb_csv, lb_sig, lb_cav]
                lb_fn = _safe(leaderboard_view, 5, 1)
                for comp in lb_inputs:
                    ev = comp.submit if comp in (f_search, f_min, f_max) else comp.change
                    ev(lb_fn, lb_inputs, lb_outputs, api_visibility="private")
                gr.Button("Apply filters", elem_id="apply").click(lb_fn, lb_inputs, lb_outputs, api_name="leaderboard")
                pl_fn = _safe(plots_view, 3, 0)
                p_scope.change(pl_fn, [p_scope, p_task], [plot_params, plot_lat, plot_bars], api_name="plots")
                p_task.change(pl_fn, [p_scope, p_task], [plot_params, plot_lat, plot_bars],
                              api_visibility="private")
                first = _safe(lambda *a: leaderboard_view(*a, wait=False), 5, 1)  # paint now, marks next
                # marks next: compute them with no outputs, then redraw with the filters as they are by then (a
                # redraw computed from the page-load values would undo a filter the user set meanwhile)
                demo.load(first, lb_inputs, lb_outputs, api_visibility="private").then(
                    warm_significance, None, None, api_visibility="private").then(
                    lb_fn, lb_inputs, lb_outputs, api_visibility="private")
                demo.load(pl_fn, [p_scope, p_task], [plot_params, plot_lat, plot_bars], api_visibility="private")

            with gr.Tab("Compare", id="compare"):
                c_task = gr.Dropdown(tasks, value=tasks[0] if tasks else None, label="task")
                c_cav = gr.Markdown()
                c_models = gr.CheckboxGroup(all_labels, label="checkpoints (2-4)")
                c_boxes = [gr.Textbox(label="text", value="", lines=3 if i == 0 else 2,
                                      elem_id=f"c-{chr(97 + i)}")
                           for i in range(n_boxes)]
                c_btn = gr.Button("Run on each checkpoint", elem_id="c-run")
                c_msg = gr.Markdown(elem_id="c-msg")
                c_out = gr.Dataframe(interactive=False, label="predictions and latency", elem_id="c-out")
                gr.Markdown("### Saved test examples where they disagree")
                c_right = gr.Dropdown(right_choices(all_labels), value="any", label="who was right",
                                      allow_custom_value=True)
                c_ex_btn = gr.Button("List disagreements", elem_id="c-list")
                c_summary = gr.Markdown(elem_id="c-summary")
                c_table = gr.Dataframe(interactive=False, wrap=True, label="disagreements")
                c_btn.click(_safe(compare_run, 2, 1), [c_task, c_models, *c_boxes], [c_out, c_msg],
                            api_name="compare")
                c_ex_btn.click(_safe(compare_examples, 2, 1), [c_task, c_models, c_right], [c_table, c_summary],
                               api_name="disagreements")
                c_models.change(lambda labs: gr.Dropdown(choices=right_choices(labs or []), value="any"),
                                c_models, c_right, api_visibility="private")

            with gr.Tab("Playground", id="playground"):
                g_task = gr.Dropdown(tasks, value=tasks[0] if tasks else None, label="task")
                g_cav = gr.Markdown()
                g_ckpt = gr.Dropdown(all_labels, label="checkpoint", allow_custom_value=True)
                g_ex = gr.Dropdown([], label="example input (from the task's test predictions)", allow_custom_value=True)
                g_boxes = [gr.Textbox(label="text", value="", lines=3 if i == 0 else 2,
                                      elem_id=f"g-{chr(97 + i)}")
                           for i in range(n_boxes)]
                g_btn = gr.Button("Predict", variant="primary", elem_id="g-run")
                g_msg = gr.Markdown(elem_id="g-msg")
                g_label = gr.Label(label="class probabilities")
                g_hl = gr.HighlightedText(label="entities / answer span", combine_adjacent=False)
                g_lat = gr.Markdown(elem_id="g-lat")
                g_btn.click(_safe(predict, 4, 0), [g_task, g_ckpt, *g_boxes], [g_msg, g_label, g_hl, g_lat],
                            api_name="predict")
                g_ex.change(fill_example, [g_task, g_ex], g_boxes, api_visibility="private")

        g_out = [g_ckpt, *g_boxes, g_ex, g_cav]
        c_out_ = [c_models, *c_boxes, c_cav, c_right]
        g_task.change(playground_task, g_task, g_out, api_visibility="private")
        c_task.change(compare_task, c_task, c_out_, api_visibility="private")
        demo.load(playground_task, g_task, g_out, api_visibility="private")
        demo.load(compare_task, c_task, c_out_, api_visibility="private")
    demo.results_root = data.root  # type: ignore[attr-defined] - for tests and tools
    demo.queue(default_concurrency_limit=concurrency, max_size=queue_size)
    return demo


def build_parser() -> argparse.ArgumentParser:
    """app.py's command line (docs/ commands are checked against it)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default=None,
                        help="output folder (default: $HARNESS_RESULTS_REPO snapshot, $HARNESS_RESULTS_DIR "
                             "or ./outputs/demo)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 7860)))
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    env = os.environ.get
    parser.add_argument("--concurrency", type=positive_int, default=env("HARNESS_APP_CONCURRENCY", CONCURRENCY),
                        help=f"handlers running at once (env HARNESS_APP_CONCURRENCY; default {CONCURRENCY})")
    parser.add_argument("--queue-size", type=positive_int, default=env("HARNESS_APP_QUEUE_SIZE", QUEUE_SIZE),
                        help=f"events waiting at most (env HARNESS_APP_QUEUE_SIZE; default {QUEUE_SIZE})")
    return parser


def main(argv: Optional[list[str]] = None) -> None:
    args = build_parser().parse_args(argv)
    demo = build_app(resolve_results_dir(args.results), args.concurrency, args.queue_size)
    demo.launch(server_name=args.host, server_port=args.port)


if __name__ == "__main__":
    main()
