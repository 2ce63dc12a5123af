"""Gradio app over harness results: Leaderboard, Compare and Playground tabs.

    python app.py --results outputs/demo          # a local output folder
    python app.py --results hf://datasets/ORG/NAME   # published results (or env RESULTS; none: the bundled sample)

Nothing is read, downloaded or computed at import; build_app(results) reads the source once, and "Refresh results"
(or --refresh-minutes) re-reads it without a restart. The queue's size and concurrency: --queue-size /
--concurrency, or env HARNESS_APP_QUEUE_SIZE / HARNESS_APP_CONCURRENCY.
"""
from __future__ import annotations

import argparse
import logging
import os
import tempfile
from pathlib import Path
from typing import Optional

import gradio as gr

from harness.cli_args import Parser, positive_int
from harness.errors import HarnessError
from leaderboard.app_parts import TITLE, Handlers, header_md, problems_md, safe
from leaderboard.app_state import AppState
from leaderboard.compare import right_choices
from leaderboard.downloads import MAX_AGE_S
from leaderboard.filters import OPTIONAL_COLUMNS
from leaderboard.playground import max_boxes
from leaderboard.sample import NOTICE_MD, OWN_RESULTS_MD
from leaderboard.source import RESULTS_ENV, SAMPLE, Source, resolve_source, results_arg

log = logging.getLogger(__name__)
CONCURRENCY = 4  # handlers run at once (the Gradio queue's default_concurrency_limit)
QUEUE_SIZE = 512  # events waiting at most: 50 users opening the page (8 load events each) and clicking fit
REFRESH_ENV = "RESULTS_REFRESH_MINUTES"


def build_app(results: str | Path | Source | None = None, concurrency: int = CONCURRENCY,
              queue_size: int = QUEUE_SIZE, refresh_minutes: float = 0) -> gr.Blocks:
    """The app for one results source (a folder, hf://datasets/ORG/NAME[@rev], or None: env RESULTS, else the
    bundled sample), read once here (significance computed after the table's first paint); its queue holds
    ``queue_size`` events and runs ``concurrency`` handlers at once; ``refresh_minutes`` > 0 re-reads the source
    that often (a Hub repo only when its revision moved). A source that cannot be read is a line in the page."""
    try:
        source, message = resolve_source(results), ""
    except HarnessError as e:  # a bad RESULTS value: the page says so and shows the sample
        source, message = SAMPLE, f"{e}; showing the bundled sample instead"
    state = AppState(source, message=message)
    view = state.view
    # Input boxes: as many as the largest form of a task kind; a task shows its own. Each starts as "", so an API
    # call may leave out the boxes its task does not use.
    n_boxes = max_boxes()
    h = Handlers(state, Path(tempfile.mkdtemp(prefix="leaderboard-csv-")), n_boxes)  # this app's CSV downloads
    langs, benches, fams, meths, sorts, scopes, tasks, _, _, all_labels = h.choice_sets(view)

    with gr.Blocks(title=TITLE, delete_cache=(MAX_AGE_S, MAX_AGE_S)) as demo:
        shown = gr.State(view.version)  # the data version this page shows
        marks_pending = gr.State(False)
        header = gr.Markdown(header_md(view), elem_id="header")
        problems = gr.Markdown(problems_md(view), elem_id="problems")
        notice = gr.Markdown(NOTICE_MD, elem_id="sample-notice", visible=view.sample)
        own = gr.Markdown(OWN_RESULTS_MD, elem_id="own-results", visible=view.sample)
        with gr.Row():
            r_btn = gr.Button("Refresh results", elem_id="refresh", size="sm", scale=0)
            r_msg = gr.Markdown(elem_id="refresh-msg")
        with gr.Tabs():
            with gr.Tab("Leaderboard", id="leaderboard"):
                with gr.Row():
                    f_lang = gr.CheckboxGroup(langs, label="language")
                    f_bench = gr.CheckboxGroup(benches, label="benchmark")
                    f_fam = gr.CheckboxGroup(fams, label="family")
                    f_meth = gr.CheckboxGroup(meths, label="method")
                with gr.Row():
                    f_min = gr.Number(label="min params (M)", value=None)
                    f_max = gr.Number(label="max params (M)", value=None)
                    f_search = gr.Textbox(label="search", placeholder="model, family, revision", elem_id="search")
                    f_sort = gr.Dropdown(sorts, label="sort by", value=None)
                    f_desc = gr.Checkbox(label="descending", value=True)
                with gr.Row():
                    f_cols = gr.CheckboxGroup(list(OPTIONAL_COLUMNS), value=["family", "parameters"],
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
                    p_scope = gr.Dropdown(scopes, value=scopes[0] if scopes else None,
                                          label="score scope (benchmark average or task)")
                    p_task = gr.Dropdown(tasks, value=tasks[0] if tasks else None, label="task for bars")
                with gr.Row():
                    plot_params = gr.Plot(label="score vs parameters")
                    plot_lat = gr.Plot(label="score vs latency")
                plot_bars = gr.Plot(label="per-task bars")
                lb_inputs = [f_lang, f_bench, f_fam, f_meth, f_min, f_max, f_search, f_cols, f_sort, f_desc, f_mark]
                lb_outputs = [lb_table, lb_note, lb_csv, lb_sig, lb_cav]
                lb_fn = safe(h.leaderboard_view, 5, 1)
                for comp in lb_inputs:
                    ev = comp.submit if comp in (f_search, f_min, f_max) else comp.change
                    ev(lb_fn, lb_inputs, lb_outputs, api_visibility="private")
                gr.Button("Apply filters", elem_id="apply").click(lb_fn, lb_inputs, lb_outputs, api_name="leaderboard")
                pl_fn = safe(h.plots_view, 3, 0)
                p_scope.change(pl_fn, [p_scope, p_task], [plot_params, plot_lat, plot_bars], api_name="plots")
                p_task.change(pl_fn, [p_scope, p_task], [plot_params, plot_lat, plot_bars],
                              api_visibility="private")
                first = safe(h.first_paint, 5, 1)  # paint now, marks next
                # marks next: compute them with no outputs, then redraw with the filters as they are by then (a
                # redraw computed from the page-load values would undo a filter the user set meanwhile)
                demo.load(first, lb_inputs, lb_outputs, api_visibility="private").then(
                    h.warm_significance, None, None, api_visibility="private").then(
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
                c_btn.click(h.compare_pending, [c_task, c_models], c_msg, api_visibility="private").then(
                    safe(h.compare_run, 2, 1), [c_task, c_models, *c_boxes], [c_out, c_msg], api_name="compare")
                c_ex_btn.click(safe(h.compare_examples, 2, 1), [c_task, c_models, c_right], [c_table, c_summary],
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
                g_btn.click(h.predict_pending, [g_task, g_ckpt], g_msg, api_visibility="private").then(
                    safe(h.predict, 4, 0), [g_task, g_ckpt, *g_boxes], [g_msg, g_label, g_hl, g_lat],
                    api_name="predict")
                g_ex.change(h.fill_example, [g_task, g_ex], g_boxes, api_visibility="private")

        g_out = [g_ckpt, *g_boxes, g_ex, g_cav]
        c_out_ = [c_models, *c_boxes, c_cav, c_right]
        g_task.change(h.playground_task, g_task, g_out, api_visibility="private")
        c_task.change(h.compare_task, c_task, c_out_, api_visibility="private")
        demo.load(h.playground_task, g_task, g_out, api_visibility="private")
        demo.load(h.compare_task, c_task, c_out_, api_visibility="private")

        # refresh: re-read the source (button, timer), or on page load just catch up with a newer read; redraw
        # everything that depends on the data when this page shows an older one, then the significance marks
        h.bind([f_lang, f_bench, f_fam, f_meth, f_sort, p_scope, p_task, c_task, g_task, c_models])
        sync_in = [shown, *lb_inputs, p_scope, p_task, c_task, g_task]
        sync_out = [shown, marks_pending, r_msg, header, problems, notice, own, f_lang, f_bench, f_fam, f_meth, f_sort,
                    p_scope, p_task, c_task, g_task, *g_out, *c_out_, *lb_outputs, plot_params, plot_lat, plot_bars]
        assert len(sync_out) == 3 + h.n_sync

        def refresh_results(*vals):
            return h.sync(0.0, *vals)

        def refresh_tick(*vals):
            return h.sync(refresh_minutes * 54, *vals)  # the source is re-read at most about once an interval

        def catch_up(*vals):
            return h.sync(None, *vals)
        marks = (h.marks_after_sync, [marks_pending, *lb_inputs], [marks_pending, *lb_outputs])
        triggers = [(r_btn.click, refresh_results), (demo.load, catch_up)]
        if refresh_minutes > 0:
            triggers.append((gr.Timer(refresh_minutes * 60).tick, refresh_tick))
        for event, fn in triggers:
            event(fn, sync_in, sync_out, api_visibility="private").then(*marks, api_visibility="private")
    demo.app_state = state  # type: ignore[attr-defined] - for tests and tools
    demo.results_root = view.data.root  # type: ignore[attr-defined]
    demo.queue(default_concurrency_limit=concurrency, max_size=queue_size)
    return demo


def minutes(text: str) -> float:
    """--refresh-minutes: 0 (off) or a positive number of minutes."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of minutes (0 = off), got '{text}'")
    return value


def build_parser() -> argparse.ArgumentParser:
    """app.py's command line (docs/ commands are checked against it); a bad value is one line, exit 2."""
    parser = Parser(prog="app.py", description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=results_arg, default=None, metavar="PATH|hf://datasets/ORG/NAME[@rev]",
                        help=f"a results folder or published results (default: env {RESULTS_ENV}, else the bundled "
                             "sample)")
    env = os.environ.get
    parser.add_argument("--refresh-minutes", type=minutes, default=env(REFRESH_ENV, 0), metavar="N",
                        help=f"re-read the results every N minutes (env {REFRESH_ENV}; default 0: only on the "
                             "'Refresh results' button)")
    parser.add_argument("--port", type=int, default=int(env("GRADIO_SERVER_PORT", 7860)))
    parser.add_argument("--host", default=env("GRADIO_SERVER_NAME", "127.0.0.1"))
    parser.add_argument("--concurrency", type=positive_int, default=env("HARNESS_APP_CONCURRENCY", CONCURRENCY),
                        help=f"handlers running at once (env HARNESS_APP_CONCURRENCY; default {CONCURRENCY})")
    parser.add_argument("--queue-size", type=positive_int, default=env("HARNESS_APP_QUEUE_SIZE", QUEUE_SIZE),
                        help=f"events waiting at most (env HARNESS_APP_QUEUE_SIZE; default {QUEUE_SIZE})")
    return parser


def main(argv: Optional[list[str]] = None) -> None:
    args = build_parser().parse_args(argv)
    demo = build_app(args.results, args.concurrency, args.queue_size, args.refresh_minutes)
    demo.launch(server_name=args.host, server_port=args.port)


if __name__ == "__main__":
    main()
