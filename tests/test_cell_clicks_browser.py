"""Browser test (Playwright + Debian chromium, never `playwright install`): every kind of leaderboard cell opens its
details without an error. The board: the bundled sample, with a failed cell (t5-random-small × demo_ner: one diverged
run, so its demo average is partial), a tuned cell (minilm-l6-h384 × demo_paraphrase, chosen by a search) and the
sample's untrained rows. Skips with a message when chromium or playwright is missing."""
from __future__ import annotations

import json
import shutil

import pytest

from browser import browser_page, require, served

expect = require().expect


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    from test_failures import failed, put
    from webapp.build import build_app
    from webapp.sample import SAMPLE_DIR

    root = tmp_path_factory.mktemp("cells") / "results"
    shutil.copytree(SAMPLE_DIR, root, ignore=shutil.ignore_patterns(".leaderboard-index.json"))
    bad = failed("t5-random-small", "demo_ner", 42, "loss became NaN at step 3", chash="0123456789ab", bench="demo")
    bad["job"]["revision"] = "random-init"
    put(root, bad)
    path = next((root / "results" / "minilm-l6-h384").rglob("demo_paraphrase/**/seed42.json"))
    rec = json.loads(path.read_text(encoding="utf-8"))
    rec["search"] = {"role": "chosen", "space": {"learning_rate": [1e-4, 3e-4]}, "strategy": "grid",
                     "chosen": {"learning_rate": 1e-4}, "n_trials": 2,
                     "trials": [{"values": {"learning_rate": 1e-4}, "validation": 0.7, "status": "ok"},
                                {"values": {"learning_rate": 3e-4}, "validation": 0.6, "status": "ok"}]}
    path.write_text(json.dumps(rec), encoding="utf-8")
    with served(build_app(root)) as url:
        yield url


def test_every_kind_of_cell_opens_its_details(url, tmp_path):
    with browser_page() as page:
        page.goto(url + "?hide_untrained=0", wait_until="domcontentloaded")
        expect(page.locator("#lb-note")).to_contain_text("4 model(s) shown", timeout=60_000)
        expect(page.locator("#lb-decision")).to_contain_text("pick", timeout=90_000)  # the table's last draw
        table = page.locator("#lb-table")
        expect(table).to_contain_text("partial (4/5, 1 failed)")
        expect(table).to_contain_text("⚙")
        # (text in the cell, the row × task the details must show, what they must hold)
        clicks = [
            ("failed", "t5-random-small (untrained) × demo_ner", {"#detail-runs": "diverged"}),
            ("partial (4/5, 1 failed)", "t5-random-small (untrained) × demo_",
             {"#detail-row-summary": "demo average"}),
            ("⚙", "minilm-l6-h384 × demo_paraphrase", {"#detail-runs": "seed 42"}),
            ("83.1", "minilm-l6-h384 × demo_sentiment", {"#detail-matrix": "confusion matrix"}),
            ("36.9", "ernie-random-small (untrained) × demo_", {"#detail-row-summary": "demo average"}),
        ]
        for text, title, holds in clicks:
            page.locator("#lb-table [role=gridcell]", has_text=text).first.click()
            expect(page.locator("#detail-title")).to_contain_text(title, timeout=60_000)
            for where, what in holds.items():
                expect(page.locator(where)).to_contain_text(what, timeout=30_000)
            expect(page.locator("#detail-title")).not_to_contain_text("config ?")
            assert page.get_by_text("internal error").count() == 0, text
            page.screenshot(path=str(tmp_path / f"{len(text)}.png"), full_page=True)
            page.locator("button[role=tab]", has_text="Leaderboard").first.click()
