"""Browser test (Playwright + Debian chromium, never `playwright install`): the scores are on the first screen. On
the bundled sample at 1400×1000 and on a phone's 390×844, the leaderboard's first rows and their benchmark average
are inside the window before any scroll, drawn where they are (not clipped by the table's own scroll); at 1400 the
default columns fit without a sideways scroll; no header breaks inside a word (webapp.handlers.column_widths).
Skips with a message when chromium or playwright is missing."""
from __future__ import annotations


import pytest

from browser import browser_page, require, served_sample

expect = require().expect


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    with served_sample(tmp_path_factory.mktemp("first-screen")) as url:
        yield url


@pytest.fixture(scope="module")
def space_url():
    """The app as a fresh Space opens: no results configured, the bundled sample under its notice."""
    import os

    from browser import served
    from webapp.build import build_app
    from webapp.source import OLD_DIR_ENV, OLD_REPO_ENV, RESULTS_ENV

    saved = {k: os.environ.pop(k) for k in (RESULTS_ENV, OLD_REPO_ENV, OLD_DIR_ENV) if k in os.environ}
    try:
        with served(build_app(None)) as url:
            yield url
    finally:
        os.environ.update(saved)


# the characters of each header drawn on a new line, where the character before is not a space: a break inside a word
BROKEN_HEADERS = """() => Array.from(document.querySelectorAll('#lb-table th .header-content span')).flatMap(span => {
  const node = span.firstChild;
  if (!node || node.nodeType !== Node.TEXT_NODE) return [];
  const text = node.textContent, range = document.createRange(), bad = [];
  let top = null;
  for (let i = 0; i < text.length; i++) {
    range.setStart(node, i); range.setEnd(node, i + 1);
    const r = range.getClientRects()[0];
    if (!r || text[i] === ' ') continue;
    if (top !== null && r.top > top + 2 && i > 0 && text[i - 1] !== ' ') bad.push(text + ' @' + i);
    top = r.top;
  }
  return bad;
})"""
# what is drawn at a cell's centre is the cell (or inside it): not clipped by the table's scroll or covered
DRAWN = """el => { const r = el.getBoundingClientRect();
  const hit = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
  return hit !== null && (el.contains(hit) || hit.contains(el)); }"""


def _eventually(check, seconds: float = 15.0) -> bool:
    """True once ``check()`` is (polled every 0.25 s), False after ``seconds``."""
    import time

    end = time.monotonic() + seconds
    while not check():
        if time.monotonic() > end:
            return False
        time.sleep(0.25)
    return True


@pytest.mark.parametrize("where", ["results", "fresh Space"])
@pytest.mark.parametrize("width,height", [(1400, 1000), (390, 844)])
def test_the_top_rows_scores_are_visible_without_scrolling(request, where, width, height, tmp_path):
    url = request.getfixturevalue("url" if where == "results" else "space_url")
    with browser_page(width, height) as page:
        page.goto(url, wait_until="domcontentloaded")
        if where != "results":  # the notice is there, short; how to show your own results is collapsed
            expect(page.locator("#sample-notice")).to_be_visible(timeout=60_000)
        expect(page.locator("#lb-note")).to_contain_text("model(s) shown", timeout=60_000)
        expect(page.locator("#lb-decision")).to_contain_text("pick", timeout=90_000)  # the table's last draw
        assert page.evaluate("window.scrollY") == 0
        first = page.locator("#lb-table [role=gridcell]", has_text="minilm-l6-h384").first
        score = page.locator("#lb-table [role=gridcell]", has_text="63.6").first  # its demo average
        expect(first).to_be_visible(timeout=30_000)
        page.screenshot(path=str(tmp_path / f"first-screen-{width}.png"))
        second = page.locator("#lb-table [role=gridcell]", has_text="36.9").first  # the runner-up's average
        for cell in (first, score, second):
            expect(cell).to_be_visible(timeout=30_000)
            box = cell.bounding_box()
            assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= height, (width, box)
            assert box["x"] >= 0 and box["x"] + box["width"] <= width, (width, box)  # not scrolled out sideways
            assert _eventually(lambda: cell.evaluate(DRAWN)), (width, box)  # a redraw may be under way
        assert not page.locator("#search textarea, #search input").first.is_visible()  # filters: collapsed
        assert page.evaluate("document.documentElement.scrollWidth") <= width  # the page itself never scrolls sideways
        assert page.evaluate(BROKEN_HEADERS) == []
        if width >= 1400:  # the default columns fit: the last task's column is drawn, not scrolled out
            last = page.locator("#lb-table th", has_text="demo_similarity").first
            assert last.bounding_box()["x"] + last.bounding_box()["width"] <= width
            assert _eventually(lambda: last.evaluate(DRAWN))
