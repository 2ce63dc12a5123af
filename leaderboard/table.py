"""The leaderboard as a pure function of a results folder: per-run rows, seed aggregates, benchmark averages."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from . import failures as failed_runs
from .columns import (HIGHER, IN_MARKDOWN, MISSING, MIXED, TUNED_MARK, UNK_WARN, bench_column, common_direction,
                      decision_titles, format_cell, is_missing, rank_interval, ranking_ascending, row_labels,
                      table_columns)
from .result_files import UNREADABLE, read_all

log = logging.getLogger(__name__)
RUN_KEYS = ["model", "revision", "method"]
BENCH_ORDER = ["GLUE", "CLUE", "FewCLUE", "other", "demo"]


@dataclass
class Loaded:
    runs: pd.DataFrame
    problems: list[str] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)


def load_results(output_dir: Path | str, write_index: bool = True) -> Loaded:
    """Read every result file under <output_dir>/results; unreadable ones are reported, never fatal.
    ``write_index`` False: leave the folder untouched (no row index written)."""
    root = Path(output_dir)
    rows, problems, failures, trials = [], [], [], []
    for kind, payload in read_all(root, write_index):
        {"row": rows, "problem": problems, "failure": failures, "trial": trials}[kind].append(payload)
    for p in problems:
        log.warning("skipping %s", p)
    for f in failures:
        if f.get("kind") in UNREADABLE:
            log.warning("%s: %s (shown as a failed run of its cell)", f["path"], f["error"])
    return Loaded(pd.DataFrame(rows), problems, failures)


def _with_direction(runs: pd.DataFrame) -> pd.DataFrame:
    """runs with a 'direction' column ("higher" where the result files do not say)."""
    d = runs["direction"] if "direction" in runs else pd.Series(HIGHER, index=runs.index)
    return runs.assign(direction=d.where(d.isin(["higher", "lower"]), HIGHER))


def _with_sizes(runs: pd.DataFrame) -> pd.DataFrame:
    """runs with the size and latency columns (missing where the result files lack them)."""
    return runs.assign(**{c: pd.to_numeric(runs[c], errors="coerce") if c in runs else float("nan")
                          for c in ("trainable_parameters", "checkpoint_bytes", "cpu_latency_ms", "latency_p95_ms")},
                       latency_setting=runs["latency_setting"] if "latency_setting" in runs else None)


def aggregate(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, revision, method, task): main score mean, std and n runs, its direction, the row label.

    Over seeds for ordinary tasks; for few-shot tasks with folds, the mean over folds of each fold's seed mean,
    and the std over folds (FewCLUE reports mean ± std over its splits). Where a task was run under several
    configurations, a setting chosen by a hyperparameter search is used (its note in 'tuned'), else the one with
    the most runs (then the newest).
    """
    if runs.empty:
        return pd.DataFrame(columns=RUN_KEYS + ["task", "mean", "std", "n", "benchmark", "language", "family",
                                                "untrained", "parameters", "unk_rate", "cpu_latency_ms", "latency_p95_ms",
                                                "latency_setting", "config_hash",
                                                "direction", "tuned", "trainable_parameters", "checkpoint_bytes",
                                                "folds", "row"])
    runs = _with_sizes(_with_direction(runs))
    if "fold" not in runs:
        runs = runs.assign(fold="")
    runs = runs.assign(run=runs["fold"].astype(str) + "/" + runs["seed"].astype(str))
    runs = runs.assign(tuned=runs["tuned"].fillna("") if "tuned" in runs else "")
    by_cfg = (runs.groupby(RUN_KEYS + ["task", "config_hash"], as_index=False)
              .agg(n=("run", "nunique"), newest=("created_at", "max"), tuned=("tuned", "max")))
    chosen = (by_cfg.assign(is_tuned=by_cfg["tuned"] != "").sort_values(["is_tuned", "n", "newest"], ascending=False)
              .drop_duplicates(RUN_KEYS + ["task"])[RUN_KEYS + ["task", "config_hash"]])
    kept = runs.merge(chosen, on=RUN_KEYS + ["task", "config_hash"])
    first = "first"  # constant within a (model, task, config) group; the built-in is vectorised
    per_fold = kept.groupby(RUN_KEYS + ["task", "fold"], as_index=False)["main"].mean()
    fold_stats = per_fold.groupby(RUN_KEYS + ["task"], as_index=False).agg(
        fold_mean=("main", "mean"), fold_std=("main", "std"), folds=("fold", "nunique"))
    agg = kept.groupby(RUN_KEYS + ["task"], as_index=False).agg(
        mean=("main", "mean"), std=("main", "std"), n=("run", "nunique"), benchmark=("benchmark", first),
        language=("language", first), family=("family", first), untrained=("untrained", first),
        parameters=("parameters", first), unk_rate=("unk_rate", "mean"), cpu_latency_ms=("cpu_latency_ms", "median"),
        latency_p95_ms=("latency_p95_ms", "median"), latency_setting=("latency_setting", first), config_hash=("config_hash", first), direction=("direction", first), tuned=("tuned", "max"),
        trainable_parameters=("trainable_parameters", "max"), checkpoint_bytes=("checkpoint_bytes", "max"))
    agg = agg.merge(fold_stats, on=RUN_KEYS + ["task"])
    folded = agg["folds"] > 1
    agg.loc[folded, "mean"] = agg.loc[folded, "fold_mean"]
    agg.loc[folded, "std"] = agg.loc[folded, "fold_std"]
    agg["std"] = agg["std"].fillna(0.0)
    agg["folds"] = agg["folds"].where(folded, 0)
    agg = agg.drop(columns=["fold_mean", "fold_std"])
    agg["row"] = row_labels(agg)
    return agg


def _bench_key(b: str) -> tuple:
    return (BENCH_ORDER.index(b) if b in BENCH_ORDER else len(BENCH_ORDER), b)


def leaderboard(runs: pd.DataFrame, failures: Sequence[dict] = ()) -> pd.DataFrame:
    """Wide table: a row per (model, revision, method) with its row label; per-task mean/std/n (scores ×100);
    per-benchmark average over complete rows only, the tasks present, and rank within the benchmark.

    Each benchmark is ranked in its tasks' direction (ascending when lower is better); a benchmark whose tasks
    mix directions gets no average and no rank. Rows are sorted best first by the benchmarks in order.
    ``failures`` (Loaded.failures): failed runs of the configuration shown that no success replaced are counted
    per task (``{task}_failed``, ``{task}_failed_reason``; leaderboard.failures: not an infrastructure failure of a
    fold that has a successful run); a row with counted failures in a benchmark gets no average there. table.attrs
    holds 'benchmarks' (name -> tasks), 'directions' (task or benchmark -> direction) and 'failures' (the listed
    failed runs, counted or not)."""
    agg = aggregate(runs)
    shown = failed_runs.listed(runs, agg, list(failures))  # per_cell counts those whose 'counts' is True
    cells = failed_runs.per_cell(shown)
    cells = cells[cells["benchmark"].notna()]  # a failed record without task info, of a task never run: listed only
    if agg.empty and cells.empty:
        return pd.DataFrame(columns=["row"] + RUN_KEYS)
    tasks_by_bench: dict[str, list[str]] = {}
    pairs = pd.concat([agg[["benchmark", "task"]], cells[["benchmark", "task"]]]).drop_duplicates("task")
    for b, t in pairs.sort_values("task").itertuples(index=False):
        tasks_by_bench.setdefault(b, []).append(t)
    order = sorted(tasks_by_bench, key=_bench_key)
    dirs = {str(t): str(d) for t, d in pd.concat([agg[["task", "direction"]], cells[["task", "direction"]]])
            .dropna().groupby("task")["direction"].first().items()}
    dirs.update({b: common_direction([dirs[t] for t in tasks_by_bench[b]]) for b in order})
    meta = agg.groupby(RUN_KEYS, as_index=False).agg(row=("row", "first"), family=("family", "first"),
                                                      untrained=("untrained", "first"),
                                                      parameters=("parameters", "first"),
                                                      max_unk_rate=("unk_rate", "max"),
                                                      trainable_parameters=("trainable_parameters", "first"),
                                                      checkpoint_mb=("checkpoint_bytes", "first"),
                                                      latency_ms=("cpu_latency_ms", "median"))
    meta["checkpoint_mb"] = meta["checkpoint_mb"] / 2**20  # like params: the row's first task (heads differ)
    only_failed = cells[RUN_KEYS].drop_duplicates().merge(meta[RUN_KEYS], how="left", indicator=True)
    only_failed = only_failed[only_failed["_merge"] == "left_only"][RUN_KEYS]
    if len(only_failed):  # no run of the row succeeded: a row of failed cells (untrained when its config says so)
        if "untrained" in shown and not shown.empty:
            flag = shown.assign(untrained=shown["untrained"].fillna(False).astype(bool)).groupby(RUN_KEYS)["untrained"]
            only_failed = only_failed.merge(flag.max().reset_index(), on=RUN_KEYS, how="left")
        meta = pd.concat([meta, only_failed.assign(row=row_labels(only_failed))], ignore_index=True)
    table = meta.set_index(RUN_KEYS)
    # per task, its cells' columns: each frame's rows labelled by their table row's position (one lookup of the
    # row keys, not one alignment per column), every column reindexed to the table's rows (missing: NaN / <NA>)
    rows = pd.RangeIndex(len(table))
    by_task = {}
    for name, frame in (("agg", agg), ("cells", cells)):
        at = frame.set_axis(table.index.get_indexer(pd.MultiIndex.from_frame(frame[RUN_KEYS])))
        by_task[name] = ({t: g for t, g in at.groupby("task", sort=False)} if len(at) else {}, at.iloc[0:0])
    columns: dict[str, pd.Series] = {}
    for b in order:
        for t in tasks_by_bench[b]:
            sub = by_task["agg"][0].get(t, by_task["agg"][1])
            fails = by_task["cells"][0].get(t, by_task["cells"][1])
            columns[t] = (sub["mean"] * 100).reindex(rows)
            columns[f"{t}_std"] = (sub["std"] * 100).reindex(rows)
            columns[f"{t}_n"] = sub["n"].astype("Int64").reindex(rows)
            columns[f"{t}_folds"] = sub["folds"].astype("Int64").reindex(rows)
            columns[f"{t}_unk"] = sub["unk_rate"].reindex(rows)
            columns[f"{t}_tuned"] = sub["tuned"].reindex(rows)
            columns[f"{t}_failed"] = fails["failed"].reindex(rows).fillna(0).astype("Int64")
            columns[f"{t}_failed_reason"] = fails["reason"].reindex(rows)
    table = pd.concat([table, pd.DataFrame(columns).set_axis(table.index)], axis=1)
    for b in order:
        cols = tasks_by_bench[b]
        have = table[cols].notna().sum(axis=1)
        table[f"{b}_tasks"] = have.astype(int).astype(str) + f"/{len(cols)}"
        table[f"{b}_failed"] = sum((table[f"{t}_failed"] > 0).astype(int) for t in cols)
        complete = (have == len(cols)) & (dirs[b] != MIXED) & (table[f"{b}_failed"] == 0)
        table[f"{b}_avg"] = table[cols].mean(axis=1).where(complete)
        table[f"{b}_rank"] = table[f"{b}_avg"].rank(ascending=ranking_ascending(dirs[b]),
                                                    method="min").astype("Int64")
    table = table.reset_index()
    table = table[["row"] + [c for c in table.columns if c != "row"]]
    keys = [f"{b}_avg" for b in order]
    table = table.sort_values(keys + ["model", "method"], ascending=[ranking_ascending(dirs[b]) for b in order]
                              + [True, True], na_position="last", kind="stable").reset_index(drop=True)
    table.attrs["benchmarks"] = {b: tasks_by_bench[b] for b in order}
    table.attrs["directions"] = dirs
    table.attrs["failures"] = shown.to_dict("records")
    return table


def benchmarks(table: pd.DataFrame) -> dict[str, list[str]]:
    """Benchmark name -> its task columns, in display order (kept in table.attrs by leaderboard())."""
    return dict(table.attrs.get("benchmarks", {}))


def directions(table: pd.DataFrame) -> dict[str, str]:
    """Task or benchmark -> "higher" / "lower" (benchmarks may also be "mixed"); kept in table.attrs."""
    return dict(table.attrs.get("directions", {}))


def task_direction(agg: pd.DataFrame, task: str) -> str:
    """The direction of a task's main score in aggregate() output ("higher" when unknown)."""
    d = agg.loc[agg["task"] == task, "direction"] if "direction" in agg else pd.Series(dtype=object)
    return str(d.iloc[0]) if len(d) and d.iloc[0] in ("higher", "lower") else HIGHER


def avg_cell(table: pd.DataFrame, row: Any, bench: str) -> str:
    """A benchmark average cell: the average, 'mixed directions', or 'partial (tasks present/total)' (', k failed'
    when k of its tasks have failed runs)."""
    avg = row.get(f"{bench}_avg")
    if pd.notna(avg):
        return format_cell("score", avg)
    if directions(table).get(bench) == MIXED:
        return "mixed directions"
    failed = row.get(f"{bench}_failed")
    return f"partial ({row.get(f'{bench}_tasks')}" + (f", {int(failed)} failed)" if pd.notna(failed) and failed
                                                      else ")")


def task_cell(row: Any, task: str, marker: str = "") -> str:
    """A task cell: 'mean ± std (n=3)' (', 5 folds' for few-shot folds), ⚠UNK when flagged, ⚙ when a search chose
    the setting, then the marker; 'failed' when every run failed, '· k of n failed' when some did."""
    score = None
    if not pd.isna(row.get(task)):
        tuned = TUNED_MARK if not is_missing(row.get(f"{task}_tuned")) else ""
        score = format_cell("score", row[task], std=row.get(f"{task}_std"), n=row.get(f"{task}_n"),
                            folds=row.get(f"{task}_folds"), unk=row.get(f"{task}_unk"),
                            marker=" ".join(m for m in (tuned, marker) if m))
    return failed_runs.cell_text(score, row.get(f"{task}_failed"), row.get(f"{task}_n")) or score or MISSING


def _arrow(direction: str) -> str:
    return " ↓" if direction == "lower" else ""


# how the cells are computed: leaderboard.md's notes and the app's About tab
SCORES_NOTE = ("Scores ×100, mean ± sample std over seeds (n runs; one run: no spread, \"(n=1)\"); for few-shot "
               "tasks with folds (FewCLUE), the mean of the fold means ± std over folds (n = folds × seeds). "
               "Higher is better unless the column is marked ↓ (lower is better); ranks and row order follow "
               "each benchmark's direction. Benchmark averages only over rows with every task of the benchmark; "
               "others are partial (tasks present/total). A benchmark whose tasks mix directions (some higher, "
               "some lower is better) gets no average and no rank (\"mixed directions\"). Rank is the first ranked"
               " benchmark's. trainable: parameters that train; ckpt MB: the trained weights a checkpoint saves "
               "(LoRA: the adapter and head; MB = 2^20 bytes); like params, both of the row's first task (task "
               "heads differ in size). p50 ms: median wall time of one input on CPU (1 thread, torch, after warm-up; "
               "measured apart from training, `python -m harness latency`), the median over the row's tasks; — where "
               "none was measured. P(best), the rank interval (95%), expected regret and the app's "
               "significance marks (≈ > <) all come from one joint resampling of the saved test predictions "
               "(1,000 resamples: the test examples shared by the rows, paired, and each row's seeds, within folds): "
               "P(best) is the share of resamples in which the row is best; the 95% set for the best is the fewest "
               "rows whose P(best) sums to 0.95 (the paragraph above the table names them).")


def to_markdown(table: pd.DataFrame, decision_text: Sequence[str] = ()) -> str:
    """The leaderboard as a Markdown table: 'mean ± std (n)' cells, '—' for missing, partial averages marked; with
    each benchmark's P(best) and rank interval where the table carries the decision's columns
    (leaderboard.decision.with_decisions), and ``decision_text`` (its paragraphs) above the table."""
    if table.empty:
        return "_no results yet_\n"
    benches, dirs = benchmarks(table), directions(table)
    decided = [b for b in benches if f"{b}_p_best" in table]
    head = ["rank", *(c.short for c in IN_MARKDOWN)]
    for b, tasks in benches.items():
        head += [f"{b} avg{_arrow(dirs.get(b, HIGHER))}"]
        head += list(decision_titles(b, bench=True)) if b in decided else []
        head += [f"{t}{_arrow(dirs.get(t, HIGHER))}" for t in tasks]
    lines = [*(f"{p}\n" for p in decision_text), "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, r in table.iterrows():
        rank = next((format_cell("rank", r[f"{b}_rank"]) for b in benches if pd.notna(r[f"{b}_rank"])), MISSING)
        cells = [rank, *(format_cell(c, r[c.name]) for c in IN_MARKDOWN)]
        for b, tasks in benches.items():
            cells.append(avg_cell(table, r, b))
            if b in decided:
                cells += [format_cell(bench_column("{bench}_p_best", b), r[f"{b}_p_best"]),
                          rank_interval(r.get(f"{b}_rank_lo"), r.get(f"{b}_rank_hi"))]
            cells += [task_cell(r, t) for t in tasks]
        lines.append("| " + " | ".join(cells) + " |")
    notes = ["", SCORES_NOTE]
    tuned = [f"{r['row']} × {t}: {r[f'{t}_tuned']}" for _, r in table.iterrows() for ts in benches.values()
             for t in ts if not is_missing(r.get(f"{t}_tuned"))]
    if tuned:
        notes.append(f"{TUNED_MARK} tuned: the setting was chosen by a hyperparameter search on the validation split "
                     "(never the test split), then run on every seed: " + "; ".join(tuned) + ".")
    if (table["max_unk_rate"] > UNK_WARN).any():
        notes.append(f"⚠UNK: the model's tokenizer turns over {UNK_WARN:.0%} of this task's tokens into [UNK] "
                     "(e.g. an English vocab on Chinese text): its score there says little.")
    notes += failed_runs.markdown_section(table.attrs.get("failures") or [])
    return "\n".join(lines + notes) + "\n"


def csv_frame(table: pd.DataFrame) -> pd.DataFrame:
    """The table as leaderboard.csv holds it: the declared columns in order (``row`` first), then any others."""
    if table.empty:
        return pd.DataFrame(columns=["row"] + RUN_KEYS)
    declared = [c.name for c in table_columns(benchmarks(table), directions(table)) if c.name in table]
    return table[declared + [c for c in table.columns if c not in declared]]


def unreadable_lines(loaded: Loaded) -> list[str]:
    """One line per result file the board could not read ('damaged: <file>: <why>; ...' or 'unreadable (newer
    harness?): <file>: <why>; ...'), each shown in its cell as a failed run."""
    out = []
    for f in loaded.failures:
        if f.get("kind") in UNREADABLE:
            what, _, why = str(f["error"]).partition(": ")
            out.append(f"{what}: {f['path']}: {why}; shown as a failed run of its cell")
    return out


def failure_lines(loaded: Loaded) -> list[str]:
    """The failure summary `run` and `leaderboard` print: one line per failed (model, task, method, configuration)
    with its failed seeds and why (leaderboard.failures.summary)."""
    return failed_runs.summary(loaded.runs, aggregate(loaded.runs), loaded.failures)
