"""What the app shows, read from one results folder (a local output folder, or a Hub snapshot fetched by
webapp.source). Everything here is a pure function of the folder's result files (no Gradio, no network).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Collection, Optional

import pandas as pd

from harness.record import RecordError, ResultRecord
from harness.results import confined

from .columns import is_missing, row_label
from .table import Loaded, aggregate, leaderboard, load_results


def inside_results(root: Path, rel: str) -> bool:
    """Does a checkpoint path taken from a result file name a folder inside the results folder, links followed
    (harness.results.confined)? Absolute paths, paths that climb out ('../../x') and links that point out do not,
    whatever the file says (a result file is data, not a permission)."""
    return confined(root, rel) is not None


def ensure_checkpoint(root: Path, rel: str) -> Path:
    """The real local folder of a checkpoint listed in the results (a missing folder is returned as is: the loader
    reports it). ValueError for a path outside the results folder (see inside_results)."""
    real = confined(root, rel)
    if real is None:
        raise ValueError(f"checkpoint path '{rel}' is outside the results folder {root}")
    return real


@dataclass
class AppData:
    """Everything the app shows, read once from a results folder."""

    root: Path
    loaded: Loaded
    agg: pd.DataFrame
    table: pd.DataFrame
    task_info: dict[str, dict[str, Any]] = field(default_factory=dict)
    checkpoints: dict[str, dict[str, str]] = field(default_factory=dict)  # task -> label -> record's checkpoint
    # results from the Hub: the pushed checkpoints (checkpoints.json: record's checkpoint -> model repo @ commit),
    # the only ones the app may load; None: local results, whose checkpoints are folders inside root
    mapping: Optional[dict[str, dict[str, Any]]] = None

    @property
    def runs(self) -> pd.DataFrame:
        return self.loaded.runs

    @property
    def tasks(self) -> list[str]:
        return sorted(self.task_info)

    def of_task(self, task: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(agg, runs) of one task; split by task once (the decision reads every cell of every task)."""
        if "_by_task" not in self.__dict__:
            runs, agg = self.runs, self.agg
            self.__dict__["_by_task"] = (
                {t: g for t, g in agg.groupby("task", sort=False)} if len(agg) else {},
                {t: g for t, g in runs.groupby("task", sort=False)} if len(runs) else {})
        by_agg, by_runs = self.__dict__["_by_task"]
        return by_agg.get(task, self.agg.iloc[0:0]), by_runs.get(task, self.runs.iloc[0:0])

    def allowed_paths(self) -> set[str]:
        """Every checkpoint path the results list (the only ones the app may load)."""
        return {p for by_label in self.checkpoints.values() for p in by_label.values()}


def _task_info(root: Path, runs: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Per task: benchmark, language, kind, direction, license, caveats, main score and spec, from one record."""
    info: dict[str, dict[str, Any]] = {}
    if runs.empty:
        return info
    for task, rows in runs.groupby("task"):
        rec: Optional[ResultRecord] = None
        for rel in rows["path"]:
            try:
                rec = ResultRecord.read(root / rel)
                break
            except RecordError:
                continue
        if rec is None or rec.task_info is None:
            continue
        ti = rec.task_info
        info[str(task)] = {
            "benchmark": ti.benchmark, "language": ti.language, "kind": ti.kind, "direction": ti.direction,
            "license": ti.license or "not stated", "caveats": list(ti.caveats), "main_score": ti.main_score,
            "spec": rec.config.get("task", {}),
        }
    return info


def checkpoint_label(model: str, revision: str, seed: Any, method: str = "finetune", fold: Any = "",
                     tuning: Optional[str] = None, untrained: bool = False) -> str:
    """How the app names a checkpoint: its leaderboard row label, then revision, fold (when it applies) and seed,
    e.g. 'minilm [prompt] · main · fold 0 · seed 42'."""
    parts = [row_label(model, method, tuning, untrained), str(revision)]
    if not is_missing(fold):
        parts.append(f"fold {fold}")
    return " · ".join(parts + [f"seed {seed}"])


def _checkpoints(root: Path, runs: pd.DataFrame, agg: pd.DataFrame,
                 mapping: Optional[dict[str, Any]] = None) -> dict[str, dict[str, str]]:
    """Per task, one checkpoint per (model, revision, method) of the configuration the leaderboard shows: a seed
    whose folder exists, or with a mapping one that was pushed (else the first listed one, which the app reports as
    missing or not published when chosen)."""
    out: dict[str, dict[str, str]] = {}
    if runs.empty or "checkpoint" not in runs:
        return out
    chosen = agg[["model", "revision", "method", "task", "config_hash"]]
    kept = runs.merge(chosen, on=["model", "revision", "method", "task", "config_hash"])
    kept = kept[kept["checkpoint"].notna()]
    for (model, rev, method, task), rows in kept.sort_values(["fold", "seed"]).groupby(
            ["model", "revision", "method", "task"]):
        rows = rows.assign(exists=[(c in mapping) if mapping is not None else (root / c).is_dir()
                                   for c in rows["checkpoint"]])
        pick = rows[rows["exists"]].iloc[0] if rows["exists"].any() else rows.iloc[0]
        label = checkpoint_label(model, rev, pick["seed"], method, pick.get("fold", ""),
                                 untrained=bool(pick.get("untrained", False)))
        out.setdefault(str(task), {})[label] = str(pick["checkpoint"])
    return out


def load_app_data(root: Path | str, mapping: Optional[dict[str, dict[str, Any]]] = None) -> AppData:
    """Read the results folder once (problems such as corrupt files are collected, never raised). ``mapping``:
    the pushed checkpoints when the folder is a Hub snapshot (see AppData.mapping)."""
    root = Path(root)
    loaded = load_results(root)
    if not (root / "results").is_dir():
        loaded.problems.insert(0, f"{root}/results: folder not found (no results yet)")
    return app_data(root, loaded, mapping)


def only_files(loaded: Loaded, paths: Collection[str]) -> Loaded:
    """The runs and failures of these result files only (``paths`` relative to the results folder's root, as the
    runs' ``path`` column holds them; a success's ``seed<k>.json`` also admits its ``seed<k>.failed.json``): e.g. a
    race's decision over the seeds it had allotted so far (harness.race)."""
    keep = {str(p) for p in paths}
    keep |= {p[:-len(".json")] + ".failed.json" for p in keep if p.endswith(".json")}
    runs = loaded.runs[loaded.runs["path"].isin(keep)] if "path" in loaded.runs else loaded.runs
    return Loaded(runs.reset_index(drop=True), list(loaded.problems),
                  [f for f in loaded.failures if f.get("path") in keep])


def app_data(root: Path | str, loaded: Loaded, mapping: Optional[dict[str, dict[str, Any]]] = None) -> AppData:
    """What the app shows of results already read (``loaded``: all of a folder's, or `only_files` of them)."""
    root = Path(root)
    runs = loaded.runs
    agg = aggregate(runs)
    table = leaderboard(runs, loaded.failures)
    return AppData(root, loaded, agg, table, _task_info(root, runs), _checkpoints(root, runs, agg, mapping), mapping)


def cell_runs(data: AppData, task: str, model: str, revision: Optional[str] = None,
              method: Optional[str] = None) -> tuple[Optional[str], pd.DataFrame]:
    """(the config hash the leaderboard shows for a model's cell on a task, that configuration's successful runs
    sorted by fold and seed); (None, empty) when the cell has no successful run."""
    agg, runs = data.of_task(task)
    sel = agg[agg.model == model] if not runs.empty else agg.iloc[0:0]
    if revision is not None:
        sel = sel[sel.revision == revision]
    if method is not None:
        sel = sel[sel.method == method]
    if sel.empty:
        return None, runs.iloc[0:0]
    row = sel.iloc[0]
    mine = runs[(runs.model == model) & (runs.revision == row["revision"])
                & (runs.method == row["method"]) & (runs.config_hash == row["config_hash"])]
    mine = mine.assign(fold=mine["fold"].fillna("").astype(str) if "fold" in mine else "")
    return str(row["config_hash"]), mine.sort_values(["fold", "seed"], kind="stable")


def prediction_files(data: AppData, task: str, model: str, revision: Optional[str] = None,
                     method: Optional[str] = None) -> dict[Any, Path]:
    """seed (or 'fold-k/seed' for tasks with folds) -> predictions file of a model's shown configuration on a
    task (files that exist only)."""
    _, mine = cell_runs(data, task, model, revision, method)
    out = {}
    for seed, fold, rel in zip(mine["seed"], mine["fold"], mine["path"]):
        p = data.root / rel
        pred = p.with_name(p.stem + ".predictions.jsonl.gz")
        if pred.is_file():
            out[int(seed) if not fold else f"fold-{fold}/seed{seed}"] = pred
    return dict(sorted(out.items(), key=lambda kv: (isinstance(kv[0], str), kv[0])))


def task_spec(data: AppData, task: str):
    """The TaskSpec a task's results were scored with (rebuilt from the hashed config in its result file)."""
    from harness.catalog import validate_task

    spec = dict(data.task_info.get(task, {}).get("spec") or {})
    spec.pop("train", None)
    spec.pop("folds", None)  # scoring needs no folds, and folds without their sources' {fold} splits do not validate
    spec.setdefault("name", task)
    return validate_task({**spec, "sources": []})
