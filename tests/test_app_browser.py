"""Browser test (Playwright + Debian chromium): filter the leaderboard, run a playground prediction and a comparison.

Skips with a message when chromium (/usr/bin/chromium or $CHROMIUM) or the playwright package is missing; never
downloads a browser (no `playwright install`).
"""
from __future__ import annotations

import contextlib
import shutil
from typing import Iterator

import pytest

from app_fixtures import tiny_results  # noqa: F401 - fixture
from browser import browser_page, open_filters, require, served

sync_api = require()


@contextlib.contextmanager
def app_page(demo) -> Iterator:
    """A browser page on the launched app ``demo`` (closed afterwards, the app too)."""
    with served(demo) as url, browser_page() as page:
        page.goto(url, wait_until="domcontentloaded")
        yield page


@pytest.fixture(scope="module")
def url(tiny_results):
    from webapp.build import build_app

    demo = build_app(tiny_results)
    demo.queue(default_concurrency_limit=2, max_size=32)
    with served(demo) as url:
        yield url


def test_browser_leaderboard_playground_compare(url, tmp_path):
    with browser_page() as page:
        page.goto(url, wait_until="domcontentloaded")
        expect = sync_api.expect
        expect(page.locator("#lb-note")).to_contain_text("4 model(s) shown", timeout=60_000)
        expect(page.locator("#lb-table")).to_contain_text("tiny-bert")
        # filter by text search (submit with Enter), in the filters under the table
        open_filters(page)
        box = page.locator("#search textarea, #search input").first
        box.fill("t5")
        box.press("Enter")
        expect(page.locator("#lb-note")).to_contain_text("1 model(s) shown, 3 hidden", timeout=30_000)
        expect(page.locator("#lb-table")).not_to_contain_text("tiny-bert")
        page.screenshot(path=str(tmp_path / "leaderboard.png"), full_page=True)

        # playground: the first task is demo_ner
        page.get_by_role("tab", name="Playground").click()
        page.locator("#g-a textarea").fill("张伟住在北京")
        page.locator("#g-run").click()
        expect(page.locator("#g-msg")).to_contain_text("entities:", timeout=60_000)
        expect(page.locator("#g-lat")).to_contain_text("ms")
        page.screenshot(path=str(tmp_path / "playground.png"), full_page=True)

        # compare: two checkpoints are preselected and an example input is filled in
        page.get_by_role("tab", name="Compare").click()
        expect(page.locator("#c-a textarea")).not_to_have_value("", timeout=30_000)
        page.locator("#c-run").click()
        expect(page.locator("#c-out")).to_contain_text("entities:", timeout=60_000)
        page.locator("#c-list").click()
        expect(page.locator("#c-summary")).to_contain_text("shared test examples", timeout=30_000)
        page.screenshot(path=str(tmp_path / "compare.png"), full_page=True)
    assert (tmp_path / "compare.png").stat().st_size > 0


def test_browser_first_visit_shows_the_sample_and_says_so(monkeypatch, tmp_path):
    """No results configured (a fresh Space): the page shows the bundled sample's leaderboard under a notice that it
    is a sample of tiny untrained models, and the 'show your own results' commands."""
    from webapp.build import build_app
    from webapp.source import OLD_DIR_ENV, OLD_REPO_ENV, RESULTS_ENV

    for name in (RESULTS_ENV, OLD_REPO_ENV, OLD_DIR_ENV):
        monkeypatch.delenv(name, raising=False)
    with app_page(build_app(None)) as page:
        expect = sync_api.expect
        expect(page.locator("#sample-notice")).to_contain_text("bundled sample, not your results", timeout=60_000)
        expect(page.locator("#sample-notice")).to_contain_text("untrained")
        expect(page.locator("#sample-notice")).to_be_visible()
        page.locator("#own-results-box").get_by_text("Show your own results").first.click()  # collapsed: short
        expect(page.locator("#own-results")).to_contain_text("python -m harness push")
        expect(page.locator("#header")).to_contain_text("Results: bundled sample")
        expect(page.locator("#lb-note")).to_contain_text("model(s) shown", timeout=60_000)
        expect(page.locator("#lb-table")).to_contain_text("minilm")
        page.screenshot(path=str(tmp_path / "first_visit.png"), full_page=True)


def test_browser_the_decision_and_rank_intervals_for_the_sample(tmp_path):
    """The bundled demo results: the decision paragraph above the table names whom to pick, the table shows the
    P(best) and rank interval columns, a search that hides the leader changes the decision, and the toggle hides the
    columns."""
    from webapp.build import build_app
    from webapp.sample import SAMPLE_DIR

    root = tmp_path / "sample"
    shutil.copytree(SAMPLE_DIR, root, ignore=shutil.ignore_patterns(".leaderboard-index.json"))
    with app_page(build_app(root)) as page:
        expect = sync_api.expect
        decision = page.locator("#lb-decision")
        expect(decision).to_contain_text("pick minilm-l6-h384", timeout=90_000)
        expect(decision).to_be_visible()
        table = page.locator("#lb-table")
        expect(table).to_contain_text("demo rank 95%", timeout=30_000)
        expect(table).to_contain_text("demo P(best)")
        expect(page.locator("#lb-table [role=gridcell]", has_text="2–3").first).to_be_visible()
        page.screenshot(path=str(tmp_path / "decision.png"), full_page=True)
        open_filters(page)
        box = page.locator("#search textarea, #search input").first
        box.fill("random")  # the leader hidden: the decision is among the untrained rows
        box.press("Enter")
        expect(decision).to_contain_text("pick ernie-random-small", timeout=30_000)
        expect(decision).not_to_contain_text("minilm")
        page.locator("#f-decision input").uncheck()
        expect(table).not_to_contain_text("rank 95%", timeout=30_000)
        expect(page.locator("#lb-note")).to_contain_text("3 model(s) shown")
