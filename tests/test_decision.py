"""The decision (leaderboard/decision.py): P(best), the 95% set, rank intervals, regret and seeds to separate from one
joint resampling; the significance marks derived from it; its cache; the tables that carry it."""
from __future__ import annotations

import numpy as np
import pytest

from app_fixtures import sig_results, tiny_results  # noqa: F401 - fixtures
from harness import metrics
from harness.catalog import validate_task
from harness.scoring import Resamples
from leaderboard import decision as D
from leaderboard import sig_cache
from leaderboard.data import load_app_data
from leaderboard.report import write_tables
from leaderboard.significance import significance_table, tie_markers

N = 400


def cell(label: str, *runs: np.ndarray, folds=None) -> D.CellDraws:
    """A row's draws from per-run per-example scores (accuracy-like), on the task's shared example draws."""
    idx = D.example_draws(N, D.N_RESAMPLES, 7)
    arr = np.array(runs, float)
    return D.CellDraws(label, arr[:, idx].mean(axis=-1), arr.mean(axis=1), tuple(folds or [""] * len(runs)))


def task(name: str, cells: dict, direction: str = "higher") -> D.TaskDraws:
    return D.TaskDraws(name, direction, N, "per-example", {(k, "main", "finetune"): c for k, c in cells.items()})


def key(name: str) -> D.RowKey:
    return (name, "main", "finetune")


def correct(rate: float, seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).random(N) < rate).astype(float)


@pytest.fixture
def three() -> dict:
    """a clearly best (0.9), b and c close to each other (0.70 / 0.69); 3 seeds each."""
    return {"t": task("t", {"a": cell("a", *(correct(0.9, s) for s in (1, 2, 3))),
                            "b": cell("b", *(correct(0.70, s) for s in (4, 5, 6))),
                            "c": cell("c", *(correct(0.69, s) for s in (7, 8, 9)))})}


def test_p_best_sums_to_one_and_a_clear_winner_takes_it(three):
    dec = D.decide(three, [key("a"), key("b"), key("c")], ["t"], "t")
    assert sum(r.p_best for r in dec.rows) == pytest.approx(1.0)
    a = dec.leader
    assert a.label == "a" and a.p_best == 1.0 and a.rank_interval == "1" and a.regret == 0.0 and a.in_set
    assert [r.label for r in dec.contenders] == ["a"] and dec.decided
    b, c = dec.get("b"), dec.get("c")
    assert b.rank_lo >= 2 and c.rank_hi == 3 and b.regret > 15 and not b.in_set and b.more_seeds == 0


def test_a_row_better_on_every_example_has_p_best_one():
    base = correct(0.6, 1)
    better = np.maximum(base, correct(0.3, 2))  # right wherever base is, and more
    draws = {"t": task("t", {"x": cell("x", better), "y": cell("y", base)})}
    dec = D.decide(draws, [key("x"), key("y")], ["t"], "t")
    assert dec.get("x").p_best == 1.0 and dec.get("y").p_best == 0.0


def test_two_identical_rows_split_evenly():
    runs = [correct(0.7, s) for s in (1, 2)]
    same = {"t": task("t", {"x": cell("x", runs[0], runs[0]), "y": cell("y", runs[0], runs[0])})}
    dec = D.decide(same, [key("x"), key("y")], ["t"], "t")
    assert dec.get("x").p_best == dec.get("y").p_best == 0.5 and len(dec.contenders) == 2
    assert dec.get("x").rank_interval == "1" and dec.get("x").more_note == "—"  # no gap: seeds cannot separate
    # the same runs, seeds drawn independently per row: about even, both kept
    spread = {"t": task("t", {"x": cell("x", *runs), "y": cell("y", *runs)})}
    dec = D.decide(spread, [key("x"), key("y")], ["t"], "t")
    assert abs(dec.get("x").p_best - 0.5) < 0.1 and len(dec.contenders) == 2


def test_lower_is_better_ranks_the_smallest_first(three):
    dec = D.decide(three, [key("a"), key("b"), key("c")], ["t"], "t", direction="lower")
    assert dec.leader.label in ("b", "c") and dec.get("a").p_best == 0.0 and dec.get("a").rank_lo == 3
    assert dec.get("a").regret > 15  # regret is in the scope's direction: a's higher error costs


def test_a_filter_that_hides_the_leader_changes_the_decision_and_nothing_else(three):
    full = D.decide(three, [key("a"), key("b"), key("c")], ["t"], "t")
    shown = D.decide(three, [key("b"), key("c")], ["t"], "t")
    assert shown.leader.label != "a" and {r.label for r in shown.rows} == {"b", "c"}
    assert shown.leader.p_best > 0.5 and len(shown.contenders) == 2  # 0.70 vs 0.69: not separable yet
    # a row's resampled scores do not depend on the rows beside it
    np.testing.assert_array_equal(full.values[[r.label for r in full.rows].index("b")],
                                  shown.values[[r.label for r in shown.rows].index("b")])


def test_seeds_to_separate_follow_the_formula():
    assert D.more_seeds(1.0, lambda m: 4.0 / (3 + m), lambda m: 4.0 / (3 + m), 0.0) == (
        next(m for m in range(1, 100) if 1.0 >= D.Z * np.sqrt(8.0 / (3 + m))) - 0, "")
    assert D.more_seeds(1.0, lambda m: 1 / (3 + m), lambda m: 1 / (3 + m), 0.5) == (None, "—")  # 1 < 1.645·0.71
    assert D.more_seeds(0.1, lambda m: 100 / (3 + m), lambda m: 100 / (3 + m), 0.0) == (None, "> 200")
    # seed spread large, test noise small: a finite number of seeds, said in the paragraph
    noisy = {"t": task("t", {"x": cell("x", correct(0.80, 1), correct(0.60, 2), correct(0.75, 3)),
                             "y": cell("y", correct(0.70, 4), correct(0.55, 5), correct(0.72, 6))})}
    dec = D.decide(noisy, [key("x"), key("y")], ["t"], "t")
    if len(dec.contenders) == 2:
        assert dec.leader.more_seeds and dec.leader.more_seeds == dec.rows[1].more_seeds
        assert "would likely separate them" in D.paragraph(dec)


def test_one_run_per_row_leaves_the_seed_spread_unknown():
    draws = {"t": task("t", {"x": cell("x", correct(0.70, 1)), "y": cell("y", correct(0.69, 2))})}
    dec = D.decide(draws, [key("x"), key("y")], ["t"], "t")
    assert len(dec.contenders) == 2 and dec.rows[1].more_note == "?" and "seed spread is unknown" in D.paragraph(dec)


def test_benchmark_average_leaves_out_a_row_without_every_task(three):
    draws = {**three, "u": task("u", {"a": cell("a", correct(0.5, 11)), "b": cell("b", correct(0.9, 12))})}
    dec = D.decide(draws, [key("a"), key("b"), key("c")], ["t", "u"], "B")
    assert {r.label for r in dec.rows} == {"a", "b"} and "c" in dec.left_out and "u" in dec.left_out["c"]
    assert "Left out: c" in D.paragraph(dec)
    # the average's resampled score is the mean of the task scores
    a_t = D.decide(draws, [key("a")], ["t"], "t").values[0]
    a_u = D.decide(draws, [key("a")], ["u"], "u").values[0]
    np.testing.assert_allclose(dec.values[[r.label for r in dec.rows].index("a")], (a_t + a_u) / 2)


def test_folds_are_resampled_within_folds():
    c = cell("x", correct(0.5, 1), correct(0.6, 2), correct(0.9, 3), correct(0.8, 4), folds=["0", "0", "1", "1"])
    assert c.point() == pytest.approx(np.mean([(0.5 + 0.6) / 2, (0.9 + 0.8) / 2]), abs=0.05)
    assert c.seeds() == 2 and c.seed_var() is not None
    got = D._run_draw(c, np.random.default_rng(0), D.N_RESAMPLES)
    # each fold keeps its own runs: a resample can never be all fold-1 runs (which would be near 0.85)
    assert got.max() < 0.83
    # without test noise (each run the same score on every resample), only the runs are drawn: per fold of 2 runs
    # the drawn mean is one run's or both's, stretched by sqrt(2) about the fold's mean, so the values are exactly
    # the means of those per-fold values, never an all-fold-1 mean
    flat = D.CellDraws("x", np.repeat(np.array([[0.5], [0.6], [0.9], [0.8]]), D.N_RESAMPLES, axis=1),
                       np.array([0.5, 0.6, 0.9, 0.8]), ("0", "0", "1", "1"))
    got = D._run_draw(flat, np.random.default_rng(0), D.N_RESAMPLES)
    fold0 = [0.55 + np.sqrt(2) * d for d in (-0.05, 0.0, 0.05)]
    fold1 = [0.85 + np.sqrt(2) * d for d in (-0.05, 0.0, 0.05)]
    allowed = np.array([(a + b) / 2 for a in fold0 for b in fold1])
    assert np.abs(got[:, None] - allowed[None, :]).min(axis=1).max() < 1e-12
    # and their spread is a mean of k = 2 seeds' (s² / k per fold, s² = 0.005 the runs' sample variance), not the
    # plain bootstrap's half of it
    assert got.std() == pytest.approx(np.sqrt((0.005 / 2 + 0.005 / 2) / 4), rel=0.1)


BATCHED = {
    "accuracy": ("single_cls", lambda r: (list(r.choice(["a", "b", "c"], 60)), list(r.choice(["a", "b", "c"], 60)))),
    "macro_f1": ("single_cls", lambda r: (list(r.choice(["a", "b", "c", "zz"], 60)), list(r.choice(["a", "b", "c"], 60)))),
    "mcc": ("single_cls", lambda r: (list(r.choice(["a", "b", "c"], 60)), list(r.choice(["a", "b", "c"], 60)))),
    "f1": ("single_cls", lambda r: (list(r.choice(["a", "b"], 60)), list(r.choice(["a", "b"], 60)))),
    "pearson": ("regression", lambda r: (list(r.random(60)), list(r.random(60)))),
    "spearman": ("regression", lambda r: (list(r.integers(0, 5, 60).astype(float)), list(r.random(60)))),
}


@pytest.mark.parametrize("name", sorted(BATCHED))
def test_a_batched_score_equals_the_score_of_each_resample(name):
    """The decision scores 1,000 resamples in one call: the same numbers as one call per resample (one
    implementation), and as the record's score on all examples."""
    kind, make = BATCHED[name]
    spec = validate_task({"name": "t", "kind": kind, "benchmark": "x", "language": "en", "sources": [],
                          "label_names": ["a", "b", "c"] if kind == "single_cls" else [],
                          "positive_label": "a" if name == "f1" else None,
                          "metrics": [name], "main_score": name})
    preds, golds = make(np.random.default_rng(1))
    if name == "f1":
        spec = spec.model_copy(update={"label_names": ["a", "b"]})
    m = metrics.REGISTRY[name]
    assert m.batched
    stats = m.stats(preds, golds, spec, None)
    idx = np.random.default_rng(2).integers(0, 60, (50, 60))
    idx[0] = 0  # a constant resample: undefined correlations score 0 either way
    batch = m.score(stats, Resamples(idx, 60), spec)
    np.testing.assert_allclose(batch, [m.score(stats, i, spec) for i in idx], rtol=0, atol=1e-12)


def test_pearson_of_resamples_holds_for_tiny_spreads_and_outliers():
    """Pearson from the drawn copies' moments equals pearson_r of each resample's copies, for a prediction with a
    spread of 1e-9 around 2.5 (an untrained regression head) and for one huge outlier among zeros."""
    from harness.scoring import pearson_drawn, pearson_r

    rng = np.random.default_rng(0)
    y = rng.uniform(0, 5, 300)
    idx = rng.integers(0, 300, (100, 300))
    for x in (2.5 + rng.normal(0, 1e-9, 300), np.r_[1e8, np.zeros(299)]):
        varies = np.ptp(x[idx], axis=1) > 0
        got = pearson_drawn(x, y, Resamples(idx, 300).counts)[varies]
        np.testing.assert_allclose(got, [pearson_r(x[i], y[i]) for i in idx[varies]], rtol=0, atol=1e-12)


def test_entity_counts_batched_equal_each_resample():
    spec = validate_task({"name": "n", "kind": "ner", "benchmark": "x", "language": "en", "sources": [],
                          "label_names": ["PER", "LOC"], "metrics": ["entity_f1", "cluener_macro_f1"],
                          "main_score": "entity_f1"})
    rng = np.random.default_rng(3)
    tags = ["O", "B-PER", "I-PER", "B-LOC"]
    golds = [list(rng.choice(tags, 6)) for _ in range(40)]
    preds = [list(rng.choice(tags, 6)) for _ in range(40)]
    inputs = [{"tokens": [f"w{j % 3}" for j in range(6)]} for _ in range(40)]
    idx = rng.integers(0, 40, (30, 40))
    for name in ("entity_f1", "entity_precision", "cluener_macro_f1"):
        m = metrics.REGISTRY[name]
        stats = m.stats(preds, golds, spec, inputs)
        np.testing.assert_allclose(m.score(stats, Resamples(idx, 40), spec), [m.score(stats, i, spec) for i in idx],
                                   rtol=0, atol=1e-12)


# ------------------------------------------------------------------ from result files


def test_decision_over_saved_predictions(sig_results):  # noqa: F811 - fixture
    data = load_app_data(sig_results)
    draws = D.all_draws(data)
    sent = draws["demo_sentiment"]
    assert sent.n_examples == 16 and sent.how == "per-example"
    decs = D.view_decisions(draws, data.table)
    dec = decs["demo_sentiment"]
    assert dec.leader.label == "oracle" and dec.leader.p_best > 0.9 and dec.leader.runs == 2
    assert dec.get("twin").p_best == pytest.approx(dec.get("tiny-bert").p_best, abs=0.1)
    # the marks come from the same resamples: the oracle is clearly better than the next row; twin ≈ tiny-bert
    sig = significance_table(data, draws)
    marks = tie_markers(sig)
    assert marks[("oracle", "demo_sentiment")] == ">"
    same = {"twin", "tiny-bert", "tiny-ernie"}  # the twin copies tiny-bert; tiny-ernie predicts the same here
    pairs = sig[(sig.task == "demo_sentiment") & sig.model.isin(same) & sig.next_model.isin(same)]
    assert len(pairs) == 2 and pairs.tie.all() and (pairs["diff"] == 0).all()
    assert set(pairs.runs) == {"2 vs 2"} and set(pairs.n_examples) == {16}
    # deterministic
    again = D.view_decisions(D.all_draws(data), data.table)["demo_sentiment"]
    assert [(r.label, r.p_best, r.rank_lo, r.rank_hi) for r in again.rows] == \
        [(r.label, r.p_best, r.rank_lo, r.rank_hi) for r in dec.rows]


def test_draws_are_cached_by_fingerprint_outside_the_results(sig_results, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv(sig_cache.CACHE_ENV, str(tmp_path / "cache"))
    data = load_app_data(sig_results)
    calls = []

    def compute():
        calls.append(1)
        return D.all_draws(data)
    first = sig_cache.cached(sig_results, compute)
    again = sig_cache.cached(sig_results, compute)
    assert len(calls) == 1 and list((tmp_path / "cache" / "significance").glob("*.npz"))
    assert set(first) == set(again)
    for t in first:
        for k, c in first[t].cells.items():
            np.testing.assert_array_equal(c.resampled, again[t].cells[k].resampled)
            assert c.folds == again[t].cells[k].folds and c.label == again[t].cells[k].label


def test_tables_carry_the_decision(sig_results, tmp_path):  # noqa: F811 - fixture
    import shutil

    import pandas as pd

    out = tmp_path / "o"
    shutil.copytree(sig_results, out)
    rep = write_tables(out)
    csv = pd.read_csv(out / "leaderboard.csv")
    assert {"demo_sentiment_p_best", "demo_sentiment_rank_lo", "demo_sentiment_rank_hi", "demo_sentiment_regret",
            "demo_sentiment_in_set", "demo_sentiment_seeds_to_separate"} <= set(csv.columns)
    md = (out / "leaderboard.md").read_text(encoding="utf-8")
    assert md.startswith("**demo") and "pick **" in md and "P(best)" in md.splitlines()[2 if "\n\n" in md else 1] \
        or "P(best)" in md
    assert csv.groupby(lambda _: 0)["demo_sentiment_p_best"].sum().iloc[0] == pytest.approx(1.0)
    assert rep.decisions["demo_sentiment"].leader.label == "oracle"
    # without saved predictions: no decision, said so, the scores as before
    for p in out.rglob("*.predictions.jsonl.gz"):
        p.unlink()
    rep = write_tables(out)
    md = (out / "leaderboard.md").read_text(encoding="utf-8")
    assert "no decision" in md and not rep.decisions["demo"].rows
