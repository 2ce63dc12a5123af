"""First paint of the app in Chromium: how long until a visitor sees the leaderboard, and until the significance
marks arrive, with a cold and a warm significance cache.

    python bench/first_paint.py [RESULTS] [--loads 2]   # default: the bundled demo results (webapp/sample)

Measured: build_app (reading the results), then per page load (a fresh browser page each time) the seconds from
navigation to the first table row, and to the decision paragraph ("pick ...", with the marks) replacing "being
computed".
The first load runs with an empty significance cache (a temporary HARNESS_CACHE_DIR), the second with the cache the
first one filled (a new app process state: build_app again); --loads 1 stops after the cold one. Needs Debian's
chromium and playwright.
"""
from __future__ import annotations

import argparse
import os
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_load(results: Path) -> dict[str, float]:
    """Build the app, serve it, open it once: seconds to build, to the first row, to the marks."""
    from playwright.sync_api import expect, sync_playwright

    from webapp.build import build_app

    t0 = time.perf_counter()
    demo = build_app(results)
    built = time.perf_counter() - t0
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, ssr_mode=False)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=FLAGS)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                t1 = time.perf_counter()
                page.goto(f"http://127.0.0.1:{port}/", wait_until="commit")
                page.locator("#lb-table [role=gridcell]").first.wait_for(timeout=120_000)
                row = time.perf_counter() - t1
                expect(page.locator("#lb-decision")).to_contain_text("pick", timeout=600_000)
                marks = time.perf_counter() - t1
            finally:
                browser.close()
    finally:
        demo.close()
    return {"build_app_s": built, "first_row_s": row, "marks_s": marks}


def main(argv: list[str] | None = None) -> None:
    from webapp.sample import SAMPLE_DIR

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="?", type=Path, default=SAMPLE_DIR, help="results folder (default: sample)")
    parser.add_argument("--loads", type=int, choices=(1, 2), default=2,
                        help="2: a cold then a warm significance cache (default); 1: the cold one only")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as cache:
        os.environ["HARNESS_CACHE_DIR"] = cache
        for label in ("cold significance cache", "warm significance cache")[:args.loads]:
            got = one_load(args.results)
            print(f"{label}: build_app {got['build_app_s']:.2f} s, first row {got['first_row_s']:.2f} s, "
                  f"significance marks {got['marks_s']:.2f} s")


if __name__ == "__main__":
    main()
