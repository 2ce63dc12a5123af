"""What the browser tests share: Debian's chromium (never `playwright install`), its flags, an app served on a free
port, a page at a window size. A test module calls `require()` first: it skips the module with a message when
chromium or playwright is missing."""
from __future__ import annotations

import contextlib
import os
import shutil
from typing import Any, Iterator

import pytest

from app_fixtures import free_port

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


def require() -> Any:
    """playwright.sync_api; skips the calling module when chromium or playwright is missing."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"chromium not found at {CHROMIUM} (apt-get install -y chromium)", allow_module_level=True)
    return pytest.importorskip("playwright.sync_api", reason="playwright not installed (pip install playwright)")


@contextlib.contextmanager
def served(demo: Any) -> Iterator[str]:
    """The URL of the Gradio app ``demo`` launched on 127.0.0.1 (closed afterwards)."""
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, ssr_mode=False)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


@contextlib.contextmanager
def served_sample(folder: Any) -> Iterator[str]:
    """The URL of the app over a copy of the bundled sample in ``folder`` (a fresh folder; no leaderboard index)."""
    from webapp.build import build_app
    from webapp.sample import SAMPLE_DIR

    root = folder / "results"
    shutil.copytree(SAMPLE_DIR, root, ignore=shutil.ignore_patterns(".leaderboard-index.json"))
    with served(build_app(root)) as url:
        yield url


@contextlib.contextmanager
def browser_page(width: int = 1400, height: int = 1000, **options: Any) -> Iterator[Any]:
    """A chromium page of ``width`` × ``height`` (closed afterwards)."""
    sync_api = require()
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield browser.new_page(viewport={"width": width, "height": height}, **options)
        finally:
            browser.close()


FILTERS = "Filters, sort and columns"  # the leaderboard's collapsed filters (webapp/board.py)


def open_filters(page: Any) -> None:
    """Open the leaderboard's filters (collapsed under the table) unless they are open."""
    if not page.locator("#search textarea, #search input").first.is_visible():
        page.get_by_text(FILTERS, exact=True).first.click()
        page.locator("#search textarea, #search input").first.wait_for(state="visible", timeout=30_000)
