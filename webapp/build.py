"""The app over one results source: build_app lays out the page, mounts each tab and wires the page-wide events
(page load, refresh); each tab's module lays out and wires its own controls (app.py is the command line).

Nothing is read, downloaded or computed at import; build_app(results) reads the source once, and "Refresh results"
(or refresh_minutes) re-reads it without a restart.
"""
from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import gradio as gr

from harness.errors import HarnessError

from .board import leaderboard_tab
from .details import details_tab
from .downloads import MAX_AGE_S
from .handlers import TITLE, Handlers, header_md, problems_md
from .page import Mount, Page, Sync, empty_md, is_empty
from .playground import max_boxes
from .sample import NOTICE_MD, OWN_RESULTS_MD
from .source import SAMPLE, ResultsSource, resolve_source
from .state import AppState
from .tabs import about_tab, compare_tab, playground_tab

log = logging.getLogger(__name__)
CONCURRENCY = 4  # handlers run at once (the Gradio queue's default_concurrency_limit)
# events waiting at most; one more is refused at once ("Queue is full") instead of waiting past a client's time-out:
# holds 50 users with a request each in flight (bench/app_load.py), refuses part of 100 (docs/app.md#queue)
QUEUE_SIZE = 64
TABS = (  # (title, id, mount): a tab's module lays it out and wires it; mounted in this order (a later tab may
    # wire itself to an earlier one: a click on a leaderboard score opens the details)
    ("Leaderboard", "leaderboard", leaderboard_tab),
    ("Details", "details", details_tab),
    ("Compare", "compare", compare_tab),
    ("Playground", "playground", playground_tab),
    ("About", "about", about_tab),
)


def build_app(results: str | Path | ResultsSource | None = None, concurrency: int = CONCURRENCY,
              queue_size: int = QUEUE_SIZE, refresh_minutes: float = 0) -> gr.Blocks:
    """The app for one results source (a folder, hf://datasets/ORG/NAME[@rev], or None: env RESULTS, else the
    bundled sample), read once here (significance after the table's first paint, or from its cache); its queue
    holds ``queue_size`` events and runs ``concurrency`` handlers at once; ``refresh_minutes`` > 0 re-reads the
    source that often (a Hub repo only when its revision moved). A source that cannot be read is a line in the page."""
    try:
        source, message = resolve_source(results), ""
    except HarnessError as e:  # a bad RESULTS value: the page says so and shows the sample
        source, message = SAMPLE, f"{e}; showing the bundled sample instead"
    state = AppState(source, message=message)
    view = state.view
    # Input boxes: as many as the largest form of a task kind; a task shows its own (each starts as "", so an API
    # call may leave out the boxes its task does not use)
    h = Handlers(state, Path(tempfile.mkdtemp(prefix="leaderboard-csv-")), max_boxes())  # this app's CSV downloads
    empty = is_empty(view)

    # fill_width: the board is a wide table; the page uses the whole window (1400 px shows its default columns)
    with gr.Blocks(title=TITLE, delete_cache=(MAX_AGE_S, MAX_AGE_S), fill_width=True) as demo:
        version = gr.State(view.version)  # the data version this page shows
        header = gr.Markdown(header_md(view), elem_id="header")
        problems = gr.Markdown(problems_md(view), elem_id="problems")
        notice = gr.Markdown(NOTICE_MD, elem_id="sample-notice", visible=view.sample)
        with gr.Accordion("Show your own results", open=False, visible=view.sample, elem_id="own-results-box") as own:
            gr.Markdown(OWN_RESULTS_MD, elem_id="own-results")
        empty_panel = gr.Markdown(empty_md(view) if empty else "", elem_id="empty-state", visible=empty)
        with gr.Row():
            r_btn = gr.Button("Refresh results", elem_id="refresh", size="sm", scale=0)
            checked = gr.Markdown(elem_id="refresh-msg")
        with gr.Column(visible=not empty) as body:
            with gr.Tabs(selected="leaderboard") as tabs:
                mount = Mount(h, view, demo, tabs)
                for title, tab_id, mount_tab in TABS:
                    with gr.Tab(title, id=tab_id):
                        mount.mounted[tab_id] = mount_tab(mount)
        sync = Sync(h, Page(version, checked, header, problems, notice, own, empty_panel, body), mount.mounted)

        # refresh: re-read the source (button, timer), or on page load just catch up with a newer read; redraw
        # everything that depends on the data when this page shows an older one, then what each tab chains after
        # (the board's significance marks)
        def refresh_results(*vals):
            return sync.refresh(0.0, *vals)

        def refresh_tick(*vals):
            return sync.refresh(refresh_minutes * 54, *vals)  # the source is re-read at most about once an interval

        def catch_up(*vals):
            return sync.refresh(None, *vals)
        triggers = [(r_btn.click, refresh_results), (demo.load, catch_up)]
        if refresh_minutes > 0:
            triggers.append((gr.Timer(refresh_minutes * 60).tick, refresh_tick))
        for trigger, fn in triggers:
            chain = trigger(fn, sync.inputs, sync.outputs, api_visibility="private")
            for tab in mount.mounted.values():
                if tab.after is not None:
                    chain = chain.then(*tab.after, api_visibility="private")
    demo.app_state = state  # type: ignore[attr-defined] - for tests and tools
    demo.results_root = view.data.root  # type: ignore[attr-defined]
    demo.queue(default_concurrency_limit=concurrency, max_size=queue_size)
    return demo
