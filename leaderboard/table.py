"""The leaderboard as a pure function of a results folder: per-run rows, seed aggregates, benchmark averages."""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .result_files import SCHEMA_VERSION, read_all  # noqa: F401 - SCHEMA_VERSION re-exported

log = logging.getLogger(__name__)
RUN_KEYS = ["model", "revision", "method"]
BENCH_ORDER = ["GLUE", "CLUE", "FewCLUE", "other", "demo"]
UNK_WARN = 0.05


@dataclass
class Loaded:
    runs: pd.DataFrame
    problems: list[str] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)


def load_results(output_dir: Path | str) -> Loaded:
    """Read every result file under <output_dir>/results; unreadable ones are reported, never fatal."""
    root = Path(output_dir)
    rows, problems, failures = [], [], []
    for kind, payload in read_all(root):
        {"row": rows, "problem": problems, "failure": failures}[kind].append(payload)
    for p in problems:
        log.warning("skipping %s", p)
    return Loaded(pd.DataFrame(rows), problems, failures)


def display_name(model: str, method: str) -> str:
    """A leaderboard row's name: the model, with the method when it is not plain fine-tuning."""
    return model if method == "finetune" else f"{model} [{method}]"


def aggregate(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, revision, method, task): main score mean, std and n runs.

    Over seeds for ordinary tasks; for few-shot tasks with folds, the mean over folds of each fold's seed mean,
    and the std over folds (FewCLUE reports mean ± std over its splits). Where a task was run under several
    configurations, the one with the most runs (then the newest) is used.
    """
    if runs.empty:
        return pd.DataFrame(columns=RUN_KEYS + ["task", "mean", "std", "n", "folds"])
    if "fold" not in runs:
        runs = runs.assign(fold="")
    runs = runs.assign(run=runs["fold"].astype(str) + "/" + runs["seed"].astype(str))
    by_cfg = (runs.groupby(RUN_KEYS + ["task", "config_hash"], as_index=False)
              .agg(n=("run", "nunique"), newest=("created_at", "max")))
    chosen = (by_cfg.sort_values(["n", "newest"], ascending=False)
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
        config_hash=("config_hash", first))
    agg = agg.merge(fold_stats, on=RUN_KEYS + ["task"])
    folded = agg["folds"] > 1
    agg.loc[folded, "mean"] = agg.loc[folded, "fold_mean"]
    agg.loc[folded, "std"] = agg.loc[folded, "fold_std"]
    agg["std"] = agg["std"].fillna(0.0)
    agg["folds"] = agg["folds"].where(folded, 0)
    return agg.drop(columns=["fold_mean", "fold_std"])


def _bench_key(b: str) -> tuple:
    return (BENCH_ORDER.index(b) if b in BENCH_ORDER else len(BENCH_ORDER), b)


def leaderboard(runs: pd.DataFrame) -> pd.DataFrame:
    """Wide table: a row per (model, revision, method); per-task mean/std/n (scores ×100);
    per-benchmark average over complete rows only, the tasks present, and rank within the benchmark."""
    agg = aggregate(runs)
    if agg.empty:
        return pd.DataFrame(columns=RUN_KEYS)
    tasks_by_bench: dict[str, list[str]] = {}
    for b, t in agg[["benchmark", "task"]].drop_duplicates().sort_values("task").itertuples(index=False):
        tasks_by_bench.setdefault(b, []).append(t)
    meta = agg.groupby(RUN_KEYS, as_index=False).agg(family=("family", "first"), untrained=("untrained", "first"),
                                                      parameters=("parameters", "first"),
                                                      max_unk_rate=("unk_rate", "max"))
    table = meta.set_index(RUN_KEYS)
    for b in sorted(tasks_by_bench, key=_bench_key):
        for t in tasks_by_bench[b]:
            sub = agg[agg.task == t].set_index(RUN_KEYS)
            table[t] = sub["mean"] * 100
            table[f"{t}_std"] = sub["std"] * 100
            table[f"{t}_n"] = sub["n"].astype("Int64")
            table[f"{t}_folds"] = sub["folds"].astype("Int64")
            table[f"{t}_unk"] = sub["unk_rate"]
    for b in sorted(tasks_by_bench, key=_bench_key):
        cols = tasks_by_bench[b]
        have = table[cols].notna().sum(axis=1)
        table[f"{b}_tasks"] = have.astype(int).astype(str) + f"/{len(cols)}"
        table[f"{b}_avg"] = table[cols].mean(axis=1).where(have == len(cols))
        table[f"{b}_rank"] = table[f"{b}_avg"].rank(ascending=False, method="min").astype("Int64")
    table = table.reset_index()
    first_bench = [f"{b}_avg" for b in sorted(tasks_by_bench, key=_bench_key)]
    table = table.sort_values(first_bench + ["model"], ascending=[False] * len(first_bench) + [True],
                              na_position="last").reset_index(drop=True)
    table.attrs["benchmarks"] = {b: tasks_by_bench[b] for b in sorted(tasks_by_bench, key=_bench_key)}
    return table


def benchmarks(table: pd.DataFrame) -> dict[str, list[str]]:
    """Benchmark name -> its task columns, in display order (kept in table.attrs by leaderboard())."""
    return dict(table.attrs.get("benchmarks", {}))


def _fmt(x: Any, digits: int = 1) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA else f"{x:.{digits}f}"


def runs_note(row: Any, task: str) -> str:
    """'n=3', or 'n=10, 5 folds' for a few-shot task averaged over folds."""
    folds = row.get(f"{task}_folds")
    return f"n={row[f'{task}_n']}" + (f", {folds} folds" if pd.notna(folds) and folds > 1 else "")


def _params(n: float) -> str:
    return f"{n / 1e6:.1f}M" if n >= 1e6 else f"{n / 1e3:.0f}K"


def to_markdown(table: pd.DataFrame) -> str:
    """The leaderboard as a Markdown table: 'mean ± std (n)' cells, '—' for missing, partial averages marked."""
    if table.empty:
        return "_no results yet_\n"
    benches = benchmarks(table)
    head = ["rank", "model", "family", "params"]
    for b, tasks in benches.items():
        head += [f"{b} avg", *tasks]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, r in table.iterrows():
        name = display_name(r["model"], r["method"]) + (" (untrained)" if r["untrained"] else "")
        rank = next((str(r[f"{b}_rank"]) for b in benches if pd.notna(r[f"{b}_rank"])), "—")
        cells = [rank, name, r["family"], _params(r["parameters"])]
        for b, tasks in benches.items():
            avg = r[f"{b}_avg"]
            cells.append(_fmt(avg) if pd.notna(avg) else f"partial ({r[f'{b}_tasks']})")
            for t in tasks:
                if pd.isna(r[t]):
                    cells.append("—")
                    continue
                warn = " ⚠UNK" if r[f"{t}_unk"] > UNK_WARN else ""
                cells.append(f"{r[t]:.1f} ± {r[f'{t}_std']:.1f} ({runs_note(r, t)}){warn}")
        lines.append("| " + " | ".join(cells) + " |")
    notes = ["", "Scores ×100, mean ± sample std over seeds (n runs); for few-shot tasks with folds (FewCLUE), the "
             "mean of the fold means ± std over folds (n = folds × seeds). Benchmark averages only over rows with every "
             "task of the benchmark; others are partial (tasks present/total). Rank is the first complete benchmark's."]
    if (table["max_unk_rate"] > UNK_WARN).any():
        notes.append(f"⚠UNK: the model's tokenizer turns over {UNK_WARN:.0%} of this task's tokens into [UNK] "
                     "(e.g. an English vocab on Chinese text): its score there says little.")
    return "\n".join(lines + notes) + "\n"


def write_tables(output_dir: Path | str) -> tuple[pd.DataFrame, Loaded]:
    """Rebuild leaderboard.csv and leaderboard.md from the result files alone."""
    out = Path(output_dir)
    loaded = load_results(out)
    table = leaderboard(loaded.runs)
    table.to_csv(out / "leaderboard.csv", index=False, float_format="%.4f")
    (out / "leaderboard.md").write_text(to_markdown(table), encoding="utf-8")
    return table, loaded
