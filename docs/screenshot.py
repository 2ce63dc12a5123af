"""Screenshot of the app for the README: build the app on a results folder, open it in Debian's chromium (Playwright,
headless; never `playwright install`) and save the leaderboard (1400×1000, from the tabs down), one score's details
and a phone's first screen (390×844) as PNGs.

    python docs/screenshot.py               # the bundled demo results -> docs/img/app.png, app-details.png, app-390.png
    python docs/screenshot.py outputs/demo --out /tmp/app.png

Not imported by the tests (it launches a server and a browser).
"""
from __future__ import annotations

import argparse
import logging
import shutil
import socket
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from webapp.sample import SAMPLE_DIR  # noqa: E402 - after the repo is on the path

log = logging.getLogger("screenshot")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1400, "height": 1000}
PHONE = {"width": 390, "height": 844}


def free_port() -> int:
    """A port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def screenshot(results: Path, out: Path, timeout_s: float = 120.0) -> Path:
    """Serve `results` with build_app, wait until the leaderboard is drawn, save the viewport from the tabs down to
    `out`; then open the details of a score and save them beside it (<out stem>-details.png)."""
    details = out.with_name(f"{out.stem}-details{out.suffix}")
    phone = out.with_name(f"{out.stem}-390{out.suffix}")
    from playwright.sync_api import expect, sync_playwright

    from webapp.build import build_app

    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("chromium not found (apt-get install -y chromium)")
    demo = build_app(results)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, ssr_mode=False)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=FLAGS)
            try:
                page = browser.new_page(viewport=VIEWPORT)
                page.goto(f"http://127.0.0.1:{port}/", wait_until="domcontentloaded")
                expect(page.locator("#lb-note")).to_contain_text("model(s) shown", timeout=timeout_s * 1000)
                # the decision's draws come after the first paint: the table is drawn again with them
                expect(page.locator("#lb-decision")).to_contain_text("pick", timeout=timeout_s * 1000)
                expect(page.locator("#lb-table")).to_contain_text("P(best)", timeout=timeout_s * 1000)
                page.wait_for_timeout(3000)  # let the table and the plots finish drawing
                out.parent.mkdir(parents=True, exist_ok=True)
                page.evaluate("document.querySelector('#refresh').scrollIntoView()")  # tabs, table, decision
                page.screenshot(path=str(out), type="png")
                # the details of the best row's first task cell: a click on a score opens them
                page.locator("#lb-table [data-testid='cell-0-5']").first.click()
                expect(page.locator("#detail-curve .js-plotly-plot")).to_have_count(1, timeout=timeout_s * 1000)
                page.wait_for_timeout(1500)
                page.evaluate("document.querySelector('#detail-title').scrollIntoView()")
                page.screenshot(path=str(details), type="png")
                # a phone's first screen (390 px wide), as it opens: the top rows and their average in view
                page = browser.new_page(viewport=PHONE)
                page.goto(f"http://127.0.0.1:{port}/", wait_until="domcontentloaded")
                expect(page.locator("#lb-decision")).to_contain_text("pick", timeout=timeout_s * 1000)
                page.wait_for_timeout(2000)
                page.screenshot(path=str(phone), type="png")
            finally:
                browser.close()
    finally:
        demo.close()
    for path in (out, details, phone):
        log.info("wrote %s (%d KB)", path, path.stat().st_size // 1024)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="docs/screenshot.py", description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="?", type=Path, default=SAMPLE_DIR,
                        help="results folder (default: the bundled demo results, webapp/sample)")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "img" / "app.png", help="PNG to write")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    screenshot(args.results, args.out)


if __name__ == "__main__":
    main()
