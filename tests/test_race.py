"""Racing (`run --race MIN:MAX`, harness/race.py): seeds go only to rows still inside the 95% set for the best.

The races here run through the real grid driver and serial executor with a stand-in for one job (`run_job`): it
trains nothing and predicts each test example right with a probability set per (model, task), so a clear winner, a
tie and an interruption are scenarios we control. The end-to-end test at the bottom trains the tiny models for real.
"""
from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import pytest

from harness import catalog, metrics, preflight, results
from harness.data import job_data, subset_indices
from harness.errors import HarnessError
from harness.execute.driver import run_grid
from harness.models import load_models_file
from harness.plan import RunOptions
from harness.race import RaceOptions, run_race, seed_sequence
from harness.record import SCHEMA_VERSION, DataInfo, JobId, ModelInfo, ResultRecord, TaskInfo, Timing, Training
from leaderboard.report import write_tables

REPO = Path(__file__).resolve().parents[1]
TASKS = "demo_sentiment,demo_paraphrase"  # both of the demo benchmark


def models_yaml(folder: Path, names) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "models.yaml"
    tok = REPO / "harness" / "assets" / "demo-tokenizer"
    path.write_text("models:\n" + "".join(f"  - {{name: {n}, init: random, family: bert, tokenizer: {tok}}}\n"
                                          for n in names), encoding="utf-8")
    return path


def plan(tmp_path: Path, names, tasks: str = TASKS):
    """The planned jobs (2 seeds each, which the race replaces) and the run options, under tmp_path/out."""
    opts = RunOptions(output_dir=(tmp_path / "out").resolve(), seeds=(42, 43), max_eval_samples=80,
                      keep_checkpoints="none", progress=False)
    entries = catalog.select(catalog.discover([]), tasks)
    return preflight.make_plan(load_models_file(models_yaml(tmp_path, names)), entries, opts).jobs, opts


class StandIn:
    """run_job without training: example by example right with probability skill[(model, task)] (or skill[model]),
    the same for the same (model, task, seed); raises KeyboardInterrupt on call number ``stop_at`` (a Ctrl-C)."""

    def __init__(self, skill: dict, stop_at: int | None = None):
        self.skill, self.stop_at, self.calls = skill, stop_at, []

    def __call__(self, job, seed, opts, cfg=None):
        self.calls.append((job.model.name, job.spec.name, seed))
        if self.stop_at is not None and len(self.calls) == self.stop_at:
            raise KeyboardInterrupt
        test = job_data(job, opts.data_dir).splits["test"]
        test = [test[i] for i in subset_indices(len(test), opts.max_eval_samples)]
        p = self.skill.get((job.model.name, job.spec.name), self.skill.get(job.model.name))
        rng = np.random.default_rng([zlib.crc32(job.model.name.encode()), zlib.crc32(job.spec.name.encode()), seed])
        right = rng.random(len(test)) < p
        names = job.spec.label_names
        golds = [ex["label"] for ex in test]
        preds = [g if ok else next(n for n in names if n != g) for g, ok in zip(golds, right)]
        m = job.model
        rec = ResultRecord(
            job=JobId(model=m.name, revision=job.revision, task=job.spec.name, method=job.method, fold=job.fold,
                      seed=seed, config_hash=job.config_hash),
            config=job.config, task_info=TaskInfo.of(job.spec),
            model_info=ModelInfo(family=m.family, id=m.id, untrained=m.untrained, parameters=1000),
            data=DataInfo(source={"type": "stand-in"}, fingerprint=job.data_fingerprint,
                          sizes={"train": 0, "validation": 0, "test": len(test)}),
            metrics=metrics.compute(job.spec, preds, golds), training=Training(steps=0, epochs=0.0),
            timing=Timing(train_runtime_s=0.0, train_samples_per_s=0.0), created_at=results.now())
        rows = [{"id": ex["id"], "gold": g, "prediction": pr} for ex, g, pr in zip(test, golds, preds)]
        return rec, rows


def race(monkeypatch, jobs, opts, stand_in: StandIn, race_opts: RaceOptions, seeds=None):
    monkeypatch.setattr("harness.job.run_job", stand_in)
    said: list[str] = []
    got = run_race(jobs, opts, race_opts, seeds or seed_sequence(None, race_opts.max_seeds),
                   lambda js: run_grid(js, opts), say=said.append)
    return got, said


def records(out: Path) -> dict[str, ResultRecord]:
    """Every result record under out/results, by path relative to out."""
    return {str(p.relative_to(out)): ResultRecord.read(p) for p in sorted((out / "results").rglob("seed*.json"))}


def seeds_by_row(recs: dict[str, ResultRecord]) -> dict[tuple[str, str], list[int]]:
    out: dict[tuple[str, str], list[int]] = {}
    for r in recs.values():
        out.setdefault((r.job.model, r.job.task), []).append(r.job.seed)
    return {k: sorted(v) for k, v in out.items()}


def test_seeds_come_from_a_fixed_sequence():
    assert seed_sequence(None, 4) == (42, 43, 44, 45)
    assert seed_sequence((7, 3, 9, 1), 3) == (7, 3, 9)  # the first MAX of --seeds, in order
    with pytest.raises(HarnessError, match="--seeds: --race needs at least 4 seeds"):
        seed_sequence((7, 3), 4)


def test_a_clear_winner_stops_after_the_first_round(tmp_path, monkeypatch):
    jobs, opts = plan(tmp_path, ["strong", "middling", "weak"])
    got, said = race(monkeypatch, jobs, opts, StandIn({"strong": 0.97, "middling": 0.6, "weak": 0.5}),
                     RaceOptions(2, 6))
    assert got.rounds == 1 and got.runs == 12 and got.full_grid == 36 and got.runs <= got.full_grid / 2
    assert "every benchmark average is decided (demo: strong (untrained))" in got.reason
    assert got.decisions["demo"].decided
    assert said[0].startswith("race round 1: 12 runs (6 cells × 2 seeds: 42,43); 12 runs so far")
    assert said[-1] == got.reason and got.counts == {"done": 12, "skipped": 0, "failed": 0}
    recs = records(opts.output_dir)
    assert len(recs) == 12 and {r.job.seed for r in recs.values()} == {42, 43}
    assert {(r.execution.race.round, r.execution.race.min_seeds, r.execution.race.max_seeds,
             r.execution.race.scope) for r in recs.values()} == {(1, 2, 6, "benchmark")}
    assert {(r.job.seed, r.execution.race.position) for r in recs.values()} == {(42, 1), (43, 2)}
    rep = write_tables(opts.output_dir)
    assert "**Race**: decided after 12 runs (a full grid: 36 = 6 cells × 6 seeds)." in rep.paragraphs()
    # the race block is not part of the config hash: the plain run of the same cells finds them done
    assert run_grid(jobs, opts) == {"done": 0, "skipped": 12, "failed": 0}


def test_a_tie_spends_max_seeds_on_the_tied_rows_only(tmp_path, monkeypatch):
    jobs, opts = plan(tmp_path, ["twin-a", "twin-b", "weak"])
    got, said = race(monkeypatch, jobs, opts, StandIn({"twin-a": 0.75, "twin-b": 0.75, "weak": 0.3}),
                     RaceOptions(2, 5))
    assert "the contenders have 5 seeds (--race's MAX) and the choice is still open (demo: twin-" in got.reason
    assert got.rounds == 4 and got.runs == 6 * 2 + 3 * 4 and got.full_grid == 30
    assert said[1].startswith("race round 2: 4 runs for 2 contenders (demo: twin-")
    assert said[1].endswith("; 16 runs so far")
    recs = records(opts.output_dir)
    by_row = seeds_by_row(recs)
    for task in ("demo_sentiment", "demo_paraphrase"):
        assert by_row[("twin-a", task)] == by_row[("twin-b", task)] == [42, 43, 44, 45, 46]
        assert by_row[("weak", task)] == [42, 43]
    for r in recs.values():  # each seed's round: position 1-2 in round 1, then one position per round
        block = r.execution.race
        assert block.position == r.job.seed - 41 and block.round == max(1, block.position - 1)
    line = next(p for p in write_tables(opts.output_dir).paragraphs() if p.startswith("**Race**"))
    assert line.startswith("**Race**: not decided after 24 runs (a full grid: 30 = 6 cells × 5 seeds); still open: "
                           "demo (twin-")


def test_a_tie_stops_at_the_budget(tmp_path, monkeypatch):
    jobs, opts = plan(tmp_path, ["twin-a", "twin-b", "weak"])
    got, _ = race(monkeypatch, jobs, opts, StandIn({"twin-a": 0.75, "twin-b": 0.75, "weak": 0.3}),
                  RaceOptions(2, 8, budget=19))
    assert got.runs == 16 <= 19 and len(records(opts.output_dir)) == 16
    assert "round 3 would need 4 more runs, over the budget of 19 (--race-budget; 16 runs so far)" in got.reason


def test_task_scope_races_only_the_open_task(tmp_path, monkeypatch):
    jobs, opts = plan(tmp_path, ["a", "b"])
    skill = {("a", "demo_sentiment"): 0.97, ("b", "demo_sentiment"): 0.5, "a": 0.75, "b": 0.75}
    got, said = race(monkeypatch, jobs, opts, StandIn(skill), RaceOptions(2, 4, scope="task"))
    assert said[1].startswith("race round 2: 2 runs for 2 contenders (demo_paraphrase: ")
    assert "a (untrained)" in said[1] and "b (untrained)" in said[1] and "demo_sentiment" not in said[1]
    by_row = seeds_by_row(records(opts.output_dir))
    assert by_row[("a", "demo_sentiment")] == by_row[("b", "demo_sentiment")] == [42, 43]
    assert by_row[("a", "demo_paraphrase")] == by_row[("b", "demo_paraphrase")] == [42, 43, 44, 45]
    assert {r.execution.race.scope for r in records(opts.output_dir).values()} == {"task"}


def test_an_interrupted_race_resumes_and_ends_where_an_uninterrupted_one_ends(tmp_path, monkeypatch):
    skill = {"twin-a": 0.75, "twin-b": 0.75, "weak": 0.3}
    whole_jobs, whole_opts = plan(tmp_path / "whole", ["twin-a", "twin-b", "weak"])
    whole, _ = race(monkeypatch, whole_jobs, whole_opts, StandIn(skill), RaceOptions(2, 4))
    jobs, opts = plan(tmp_path / "cut", ["twin-a", "twin-b", "weak"])
    with pytest.raises(KeyboardInterrupt):  # Ctrl-C in round 2 (12 runs in round 1, then 4), after 2 of its runs
        race(monkeypatch, jobs, opts, StandIn(skill, stop_at=15), RaceOptions(2, 4))
    assert len(records(opts.output_dir)) == 14  # round 1 and 2 runs of round 2; nothing half-written
    again, said = race(monkeypatch, jobs, opts, StandIn(skill), RaceOptions(2, 4))
    assert said[0].endswith("; 12 already done") and said[1].endswith("; 2 already done")
    assert (again.rounds, again.runs, again.reason) == (whole.rounds, whole.runs, whole.reason)
    assert again.counts["done"] == whole.runs - 14

    def summary(out: Path):
        return {p: (r.job.seed, r.metrics, r.execution.race) for p, r in records(out).items()}
    assert summary(opts.output_dir) == summary(whole_opts.output_dir)  # same runs, scores and rounds
    rerun, _ = race(monkeypatch, jobs, opts, StandIn(skill), RaceOptions(2, 4))  # a finished race runs nothing
    assert rerun.counts["done"] == 0 and rerun.reason == whole.reason


def test_a_partial_later_round_does_not_change_an_earlier_decision(tmp_path, monkeypatch):
    """Files of seeds not yet allotted (left by an interrupted later round, or any other run in the folder) take
    no part in a round's decision: only the seeds allotted so far do."""
    skill = {"strong": 0.97, "weak": 0.5}
    jobs, opts = plan(tmp_path, ["strong", "weak"], "demo_sentiment")
    monkeypatch.setattr("harness.job.run_job", StandIn({**skill, "strong": 0.3}))  # other seeds: another story
    run_grid([__import__("dataclasses").replace(j, seeds=(44, 45, 46)) for j in jobs], opts)
    got, _ = race(monkeypatch, jobs, opts, StandIn(skill), RaceOptions(2, 5))
    assert got.rounds == 1 and got.decisions["demo"].leader.key[0] == "strong"


def test_run_race_end_to_end_with_tiny_models(tiny_models, tmp_path, capsys, monkeypatch):
    """`python -m harness run --race 2:3` (in-process) trains the tiny models for real; the same command again
    replays the rounds and runs nothing. (The CPU latency figure, 23 timed predictions per run, is stubbed: it
    has no part in a race.)"""
    from harness.cli import main

    monkeypatch.setattr("harness.adapters.base.Adapter.latency_ms", lambda self, model, example: 1.0)

    out = tmp_path / "out"
    argv = ["run", "--models", str(tiny_models), "--only-models", "tiny-bert,tiny-ernie", "--tasks", "demo_sentiment",
            "--race", "2:3", "--max-train-samples", "8", "--max-eval-samples", "16", "--max-steps", "1",
            "--keep-checkpoints", "none", "--quiet", "--output-dir", str(out)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "race round 1: 4 runs (2 cells × 2 seeds: 42,43); 4 runs so far" in text
    stop = next(line for line in text.splitlines() if line.startswith("race stopped after round"))
    assert "(a full grid: 6)" in stop
    recs = records(out)
    assert 4 <= len(recs) <= 6 and all(r.execution.race is not None for r in recs.values())
    assert "**Race**: " in (out / "leaderboard.md").read_text(encoding="utf-8")
    assert json.loads(next(iter((out / "results").rglob("seed42.json"))).read_text())["schema_version"] == SCHEMA_VERSION
    assert main(argv) == 0
    again = capsys.readouterr().out
    assert f"0 succeeded, {len(recs)} already done, 0 failed" in again and stop in again


def test_next_step_is_the_rule_the_replay_benchmark_uses():
    """harness.race.next_step, pure: contenders of an open scope get a seed on their cells, up to MAX, within the
    budget; a decided scope stops the race (bench/decision/replay.py races with this same function)."""
    import numpy as np

    from harness.race import RaceOptions, next_step
    from leaderboard import decision as D

    n, idx = 300, D.example_draws(300, D.N_RESAMPLES, 1)

    def cell(label, rate, seeds=(1, 2)):
        arr = np.array([(np.random.default_rng(s).random(n) < rate).astype(float) for s in seeds])
        return D.CellDraws(label, arr[:, idx].mean(axis=-1), arr.mean(axis=1), ("",) * len(seeds))

    keys = [("a", "r", "finetune"), ("b", "r", "finetune"), ("c", "r", "finetune")]
    cells = {keys[0]: cell("a", 0.70), keys[1]: cell("b", 0.70, (3, 4)), keys[2]: cell("c", 0.2)}
    close = {"t": D.TaskDraws("t", "higher", n, "per-example", cells)}
    dec = D.decide(close, keys, ["t"], "t")
    assert {r.label for r in dec.contenders} == {"a", "b"}
    opts = RaceOptions(2, 4)
    step = next_step({"t": dec}, ["t"] * 3, keys, [2, 2, 2], opts, 6)
    assert step.more == [0, 1] and not step.stop and set(step.still) == {"t"}
    assert next_step({"t": dec}, ["t"] * 3, keys, [4, 4, 2], opts, 10).stop == "max"
    assert next_step({"t": dec}, ["t"] * 3, keys, [2, 2, 2], RaceOptions(2, 4, budget=7), 6).stop == "budget"
    clear = D.decide(close, [keys[0], keys[2]], ["t"], "t")
    assert next_step({"t": clear}, ["t"] * 2, [keys[0], keys[2]], [2, 2], opts, 4).stop == "decided"
