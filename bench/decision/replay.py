"""Replay racing on the grid of bench/decision/grid.json.gz (6 rows × 3 tasks × 10 seeds, built once by
build_grid.sh): each replay shuffles the order of the 10 seeds (the race's seed sequence), races with the same
rule as `python -m harness run --race` (harness.race.next_step) from the same decision (leaderboard.decision) over the
benchmark average, and is compared with the full 10-seed grid. Reports: how often the race names the full grid's
winner and with what share of the runs; how often the race's 95% set holds the full grid's winner; P(best)
calibration (rows given P(best) in a bin, how often they are the full grid's winner).

    python bench/decision/replay.py [--replays 200] [--race 2:10] [--budget N] [--fixture bench/decision/grid.json.gz]

A benchmark, never a test (tests/test_race.py tests the race with a stand-in runner).
"""
from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from harness.catalog import validate_task  # noqa: E402
from leaderboard import decision as D  # noqa: E402

HERE = Path(__file__).resolve().parent
BINS = (0.0, 0.05, 0.2, 0.4, 0.6, 0.8, 0.95, 1.0001)


def full_draws(fixture: dict) -> tuple[dict[str, D.TaskDraws], dict[str, list[int]], list[D.RowKey]]:
    """Every run's draws (all 10 seeds), the seeds of each row, and the row keys."""
    draws, seeds, keys = {}, {}, []
    for task, t in fixture["tasks"].items():
        spec = {k: v for k, v in t["spec"].items() if k not in ("train", "folds")}
        spec = validate_task({**spec, "name": task, "sources": []})
        ids = t["ids"]
        idx = D.example_draws(len(ids), D.N_RESAMPLES, D.task_seed(task))
        out = D.TaskDraws(task, t["direction"], len(ids), "per-example")
        for label, row in t["rows"].items():
            key = (row["model"], row["revision"], row["method"])
            run_seeds = sorted(row["runs"], key=int)
            runs = [[{"prediction": p, "gold": g} for p, g in zip(row["runs"][s], t["gold"])] for s in run_seeds]
            full, resampled, how = D.score_runs(runs, spec, idx)
            out.cells[key] = D.CellDraws(label, resampled, full, ("",) * len(run_seeds))
            out.how = how
            seeds[label] = [int(s) for s in run_seeds]
            if key not in keys:
                keys.append(key)
        draws[task] = out
    return draws, seeds, keys


def restrict(draws: dict[str, D.TaskDraws], allotted: dict[D.RowKey, list[int]]) -> dict[str, D.TaskDraws]:
    """The draws of the runs allotted so far (positions in each cell's run order)."""
    out = {}
    for task, d in draws.items():
        cells = {k: D.CellDraws(c.label, c.resampled[allotted[k]], c.full[allotted[k]], c.folds[:len(allotted[k])])
                 for k, c in d.cells.items()}
        out[task] = D.TaskDraws(task, d.direction, d.n_examples, d.how, cells)
    return out


def race(draws, keys, tasks, order: list[int], opts) -> tuple[D.Decision, int, str]:
    """One race over the benchmark average: every cell (row × task) starts with the first MIN seeds of ``order``;
    after each round harness.race.next_step (the CLI's rule) says which cells get the next seed, or why it stops."""
    from harness.race import next_step

    cells = [(k, t) for k in keys for t in tasks]
    counts = [opts.min_seeds] * len(cells)
    while True:
        allotted = {k: order[:counts[cells.index((k, tasks[0]))]] for k in keys}
        dec = D.decide(restrict(draws, allotted), keys, tasks, "bench")
        step = next_step({"bench": dec}, ["bench"] * len(cells), [k for k, _ in cells], counts, opts, sum(counts))
        if step.stop:
            return dec, sum(counts), step.stop
        for i in step.more:
            counts[i] += 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fixture", type=Path, default=HERE / "grid.json.gz")
    ap.add_argument("--replays", type=int, default=200)
    ap.add_argument("--race", default="2:10", help="MIN:MAX seeds per cell")
    ap.add_argument("--budget", type=int, default=None, help="total runs a race may use")
    args = ap.parse_args()
    from harness.race import RaceOptions

    lo, hi = (int(x) for x in args.race.split(":"))
    opts = RaceOptions(lo, hi, args.budget)
    fixture = json.loads(gzip.decompress(args.fixture.read_bytes()))
    t0 = time.perf_counter()
    draws, seeds, keys = full_draws(fixture)
    tasks = sorted(draws)
    n_seeds = min(len(s) for s in seeds.values())
    full = D.decide(draws, keys, tasks, "bench")
    winner = full.leader.label
    grid_runs = len(keys) * len(tasks) * n_seeds
    print(f"grid: {len(keys)} rows × {len(tasks)} tasks × {n_seeds} seeds = {grid_runs} runs "
          f"({', '.join(f'{t} {d.n_examples}' for t, d in draws.items())} test examples)")
    print(f"full grid: winner {winner}, P(best) {full.leader.p_best:.2f}, 95% set "
          f"{[r.label for r in full.contenders]}")
    for r in full.rows:
        print(f"  {r.label:<34} {r.score:6.2f}  P(best) {r.p_best:.3f}  rank {r.rank_interval}")
    rng = np.random.default_rng(0)
    same, held, used, reasons, cal = 0, 0, [], {}, []
    for _ in range(args.replays):
        order = list(rng.permutation(n_seeds))
        dec, runs, why = race(draws, keys, tasks, order, opts)
        same += dec.leader.label == winner
        held += any(r.label == winner for r in dec.contenders)
        used.append(runs)
        reasons[why] = reasons.get(why, 0) + 1
        cal += [(r.p_best, r.label == winner) for r in dec.rows]
    n = args.replays
    print(f"\n{n} replays of --race {lo}:{hi}" + (f" --race-budget {args.budget}" if args.budget else "")
          + f" ({time.perf_counter() - t0:.0f} s)")
    print(f"same winner as the full grid: {same}/{n} = {same / n:.1%}")
    print(f"95% set holds the full grid's winner: {held}/{n} = {held / n:.1%}")
    print(f"runs used: mean {np.mean(used):.1f} = {np.mean(used) / grid_runs:.1%} of the grid "
          f"(median {np.median(used):.0f}, max {max(used)})")
    print("stopped: " + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items())))
    print("P(best) calibration (rows at the race's end; 'won' = the full grid's winner):")
    p = np.array([c[0] for c in cal])
    w = np.array([c[1] for c in cal])
    for a, b in zip(BINS, BINS[1:]):
        m = (p >= a) & (p < b)
        if m.any():
            print(f"  P(best) in [{a:.2f}, {min(b, 1):.2f}{']' if b > 1 else ')'}: {m.sum():5d} rows, mean P(best) "
                  f"{p[m].mean():.3f}, won {w[m].mean():.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
