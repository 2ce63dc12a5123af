"""Browser tests of the reviewer's view (Playwright + Debian chromium, never `playwright install`): open a cell's
details and see its curve and confusion matrix, follow a model link, apply a filter through the URL, download the
CSV and read numbers. Results: the bundled sample, with the MiniLM rows given a Hub id so they link to a page.
Skips with a message when chromium or playwright is missing."""
from __future__ import annotations

import json
import shutil

import pytest

from browser import browser_page, open_filters, require, served

HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"
PAGE = f"https://huggingface.co/{HUB_ID}/tree/py-0.1.0"

expect = require().expect


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    from webapp.sample import SAMPLE_DIR

    root = tmp_path_factory.mktemp("reviewer") / "results"
    shutil.copytree(SAMPLE_DIR, root, ignore=shutil.ignore_patterns(".leaderboard-index.json"))
    for path in (root / "results").rglob("minilm-l6-h384/**/seed*.json"):
        rec = json.loads(path.read_text(encoding="utf-8"))
        rec["model_info"]["id"] = HUB_ID
        path.write_text(json.dumps(rec), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def url(results):
    from webapp.build import build_app

    with served(build_app(results)) as url:
        yield url


@pytest.fixture
def page(url):
    with browser_page(accept_downloads=True) as page:
        yield page


def _cell(page, text: str):
    """A visible cell of the leaderboard table holding ``text``."""
    return page.locator("#lb-table [role=gridcell]", has_text=text).first


def test_detail_view_opens_from_a_cell_with_curve_and_confusion_matrix(url, page, tmp_path):
    page.goto(url, wait_until="domcontentloaded")
    expect(page.locator("#lb-note")).to_contain_text("4 model(s) shown", timeout=60_000)
    # the first paint comes before the decision's draws; the table is drawn again when they are ready: click after
    expect(page.locator("#lb-decision")).to_contain_text("pick", timeout=90_000)
    _cell(page, "83.1").click()  # MiniLM on demo_sentiment
    expect(page.locator("#detail-title")).to_contain_text("minilm-l6-h384 × demo_sentiment", timeout=60_000)
    # the decision's plot: at once when its draws are ready, else filled in when they are
    expect(page.locator("#detail-decision .js-plotly-plot")).to_have_count(1, timeout=60_000)
    expect(page.locator("#detail-decision")).to_contain_text("rank of minilm-l6-h384")
    expect(page.locator("#detail-decision-note")).to_contain_text("demo_sentiment: P(best)")
    expect(page.locator("#detail-curve .js-plotly-plot")).to_have_count(1, timeout=30_000)
    expect(page.locator("#detail-curve")).to_contain_text("training loss")
    expect(page.locator("#detail-matrix .js-plotly-plot")).to_have_count(1)
    expect(page.locator("#detail-matrix")).to_contain_text("confusion matrix")
    expect(page.locator("#detail-runs")).to_contain_text("seed 42")
    expect(page.locator("#detail-errors")).to_contain_text("test-")  # a sample of errors with their ids
    expect(page.locator("#detail-provenance")).to_contain_text("fingerprint")
    expect(page.locator("#detail-command")).to_contain_text("python -m harness run")
    page.screenshot(path=str(tmp_path / "detail.png"), full_page=True)


def test_detail_view_model_link_goes_to_the_hub_page(url, page):
    page.context.route("https://huggingface.co/**", lambda route: route.fulfill(  # the new tab too
        status=200, content_type="text/html", body="<html><title>hub stand-in</title><h1>model page</h1></html>"))
    page.goto(url, wait_until="domcontentloaded")
    expect(page.locator("#lb-note")).to_contain_text("model(s) shown", timeout=60_000)
    link = page.locator("#lb-table [role=gridcell] a", has_text="minilm-l6-h384").first
    expect(link).to_have_attribute("href", PAGE, timeout=30_000)
    untrained = page.locator("#lb-table [role=gridcell] a", has_text="ernie-random-small")
    expect(untrained).to_have_count(0)  # a random init has no page
    # a press on a table cell selects it (Gradio redraws the cell) and opens its details: the model's page is
    # followed from there, its name in the Details title (and the provenance's "model page")
    expect(page.locator("#lb-decision")).to_contain_text("pick", timeout=90_000)
    page.locator("#lb-table [role=gridcell]", has_text="63.6").first.click()
    title_link = page.locator("#detail-title a", has_text="minilm-l6-h384")
    expect(title_link).to_have_attribute("href", PAGE, timeout=60_000)
    with page.context.expect_page() as opened:  # Markdown links open a new tab
        title_link.click()
    hub = opened.value
    hub.wait_for_load_state()
    assert hub.url == PAGE and hub.title() == "hub stand-in"


def test_detail_view_filters_come_from_the_url_and_follow_changes(url, page):
    page.goto(url + "?q=ernie&hide_untrained=0&cols=family,revision", wait_until="domcontentloaded")
    expect(page.locator("#lb-note")).to_contain_text("1 model(s) shown, 3 hidden", timeout=60_000)
    expect(page.locator("#lb-table")).to_contain_text("ernie-random-small")
    expect(page.locator("#lb-table")).to_contain_text("random-init")  # the revision column the link asked for
    open_filters(page)
    page.locator("#f-untrained input").check()  # a change is applied at once and written to the URL
    expect(page.locator("#lb-note")).to_contain_text("0 model(s) shown", timeout=30_000)
    page.wait_for_function("() => window.location.search.includes('hide_untrained=1')", timeout=30_000)
    assert "q=ernie" in page.url and "cols=family%2Crevision" in page.url


def test_detail_view_csv_download_holds_numbers(url, page, tmp_path):
    import pandas as pd

    page.goto(url + "?hide_untrained=1", wait_until="domcontentloaded")
    expect(page.locator("#lb-note")).to_contain_text("1 model(s) shown, 3 hidden", timeout=60_000)
    with page.expect_download(timeout=30_000) as got:
        page.locator("#lb-csv").click()
    path = tmp_path / "leaderboard.csv"
    got.value.save_as(path)
    frame = pd.read_csv(path)
    assert list(frame["model"]) == ["minilm-l6-h384"]
    assert frame.loc[0, "demo_sentiment"] == pytest.approx(83.125, abs=1e-3)  # ×100, a number, not "83.1 (n=1)"
    assert frame.loc[0, "demo_sentiment_n"] == 1 and frame.loc[0, "demo_sentiment_std"] == 0.0  # one run: no spread
