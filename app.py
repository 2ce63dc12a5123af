"""Gradio app over harness results (its tabs: webapp.build.TABS).

    python app.py --results outputs/demo          # a local output folder
    python app.py --results hf://datasets/ORG/NAME   # published results (or env RESULTS; none: the bundled sample)

Nothing is read, downloaded or computed at import; build_app(results) reads the source once, and "Refresh results"
(or --refresh-minutes) re-reads it without a restart. The queue's size and concurrency: --queue-size /
--concurrency, or env HARNESS_APP_QUEUE_SIZE / HARNESS_APP_CONCURRENCY. The app itself is the webapp package
(webapp.build.build_app); this file is its command line.
"""
from __future__ import annotations

import argparse
import os
from typing import Optional

from harness.cli_args import Parser, positive_int
from webapp.build import CONCURRENCY, QUEUE_SIZE, TABS, build_app
from webapp.source import RESULTS_ENV, results_arg

REFRESH_ENV = "RESULTS_REFRESH_MINUTES"


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
    tabs = [title for title, _id, _mount in TABS]
    parser = Parser(prog="app.py", description=f"Gradio app over harness results: {', '.join(tabs[:-1])} and "
                                               f"{tabs[-1]} tabs.")
    parser.add_argument("--results", type=results_arg, default=None, metavar="PATH|hf://datasets/ORG/NAME[@rev]",
                        help=f"a results folder or published results (default: env {RESULTS_ENV}, else the bundled "
                             "sample)")
    env = os.environ.get
    parser.add_argument("--refresh-minutes", type=minutes, default=env(REFRESH_ENV, 0), metavar="N",
                        help=f"re-read the results every N minutes (env {REFRESH_ENV}; default 0: only on the "
                             "'Refresh results' button)")
    parser.add_argument("--port", type=int, default=int(env("GRADIO_SERVER_PORT", 7860)),
                        help="the port to serve on (env GRADIO_SERVER_PORT; default 7860)")
    parser.add_argument("--host", default=env("GRADIO_SERVER_NAME", "127.0.0.1"),
                        help="the address to serve on (env GRADIO_SERVER_NAME; default 127.0.0.1; 0.0.0.0 on a Space)")
    parser.add_argument("--concurrency", type=positive_int, default=env("HARNESS_APP_CONCURRENCY", CONCURRENCY),
                        help=f"handlers running at once (env HARNESS_APP_CONCURRENCY; default {CONCURRENCY})")
    parser.add_argument("--queue-size", type=positive_int, default=env("HARNESS_APP_QUEUE_SIZE", QUEUE_SIZE),
                        help=f"events waiting at most; one more is refused at once with 'Queue is full' (env "
                             f"HARNESS_APP_QUEUE_SIZE; default {QUEUE_SIZE})")
    return parser


def main(argv: Optional[list[str]] = None) -> None:
    args = build_parser().parse_args(argv)
    demo = build_app(args.results, args.concurrency, args.queue_size, args.refresh_minutes)
    demo.launch(server_name=args.host, server_port=args.port)


if __name__ == "__main__":
    main()
