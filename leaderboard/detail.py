"""The evidence behind one leaderboard cell (model, revision, method, task), from its result files and saved
predictions alone (no model loaded; data only: the app draws it): every seed's and fold's scores, the training
curves, what the task kind shows of one run's predictions (a confusion matrix, per class or entity type scores, QA
by answer length; `TaskKind.evidence`), a sample of errors, the tokenizer fit, the provenance and the command that
reruns it.
"""
from __future__ import annotations

import logging
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import pandas as pd

from harness.kinds import Evidence, get_kind
from harness.record import RecordError, ResultRecord
from harness.rerun import reproduce
from harness.results import predictions_path, read_predictions

from . import failures as failed_runs
from .columns import UNK_WARN, is_missing, row_label
from .compare import input_text, show
from .data import AppData, cell_runs, task_spec
from .result_files import model_url
from .table import avg_cell, task_cell

log = logging.getLogger(__name__)
NOT_RECORDED = "not recorded"
# run name -> series ('loss': per logging step, 'validation': main score per evaluation) -> (steps, values)
CurveData = dict[str, dict[str, tuple[list, list]]]


@dataclass
class CellDetail:
    """One cell's detail view. Scores are as the records hold them (fractions, not ×100)."""

    model: str
    revision: str
    method: str
    task: str
    label: str  # the row label (row_label)
    kind: str = ""
    main_score: str = ""  # 'accuracy', or 'exact_match + qa_f1' (their mean)
    direction: str = "higher"
    config_hash: Optional[str] = None
    runs: pd.DataFrame = field(default_factory=pd.DataFrame)  # one row per seed (and fold): ok and failed runs
    curve: CurveData = field(default_factory=dict)  # loss per logging step, validation score per evaluation, per run
    curve_note: str = ""  # 'not recorded: …' when no run has them (curve empty), or which runs lack them
    run: Optional[str] = None  # the run whose predictions the evidence and errors come from ('seed 1')
    run_choices: list[str] = field(default_factory=list)  # runs with a predictions file
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)  # the kind's evidence, by title
    matrix: Optional[pd.DataFrame] = None  # counts: gold (rows) x prediction (columns)
    matrix_title: str = ""
    evidence_note: str = ""  # why there is no evidence, when there is none
    rows: list[dict] = field(default_factory=list)  # the run's prediction rows
    spec: Any = None  # the TaskSpec they were scored with (errors() judges them by it)
    classes: list[str] = field(default_factory=list)  # gold classes for the errors filter (may be empty)
    tokenizer: pd.DataFrame = field(default_factory=pd.DataFrame)  # per run: [UNK] and truncation rates
    tokenizer_note: str = ""
    provenance: dict[str, str] = field(default_factory=dict)  # name -> text, in display order
    hub_url: Optional[str] = None  # the model's Hub page at its revision, when it is a Hub model
    command: str = ""  # the shell command that reruns the shown run
    models_entry: str = ""  # the models.yaml entry the command names
    command_note: str = ""  # rebuilt from the config / a search's setting
    problems: list[str] = field(default_factory=list)  # unreadable files, one line each
    others: list[str] = field(default_factory=list)  # the cell's other configurations, not shown: 'hash (n runs)'
    board_config: Optional[str] = None  # the configuration the board shows (config_hash: the one shown here)
    configs: list[tuple[str, str]] = field(default_factory=list)  # (label, hash) of each: the board's first


def run_name(fold: Any, seed: Any) -> str:
    """'seed 1' or 'fold 0 · seed 1'."""
    return (f"fold {fold} · " if fold not in (None, "") and not pd.isna(fold) else "") + f"seed {int(seed)}"


SUMMARY_COLUMNS = ["benchmark", "task", "cell", "failed runs"]


def board_row(table: pd.DataFrame, label: Optional[str]) -> Optional[pd.Series]:
    """The board's row of that label, or None."""
    hit = table[table["row"] == label] if label and "row" in table else table.iloc[0:0]
    return None if hit.empty else hit.iloc[0]


def row_summary(table: pd.DataFrame, label: Optional[str], bench: Optional[str] = None) -> pd.DataFrame:
    """A row's cells as the board shows them, per benchmark (``bench`` only, when given): its average cell on one
    line ('<bench> average'), then each task's cell and its failed runs' reason; no lines for an unknown row."""
    r = board_row(table, label)
    if r is None:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    out = []
    for b, tasks in table.attrs.get("benchmarks", {}).items():
        if bench is not None and b != bench:
            continue
        out.append({"benchmark": b, "task": f"{b} average", "cell": avg_cell(table, r, b), "failed runs": ""})
        for t in tasks:
            why = r.get(f"{t}_failed_reason")
            out.append({"benchmark": b, "task": t, "cell": task_cell(r, t),
                        "failed runs": "" if is_missing(why) else str(why)})
    return pd.DataFrame(out, columns=SUMMARY_COLUMNS)


def other_configs(data: AppData, model: str, revision: str, method: str, task: str,
                  shown: Optional[str]) -> list[str]:
    """The cell's configurations other than the one shown ('<hash> (<n> runs)'), newest first: the board shows one
    (a search's chosen setting, else the one with the most runs, then the newest); Details says the others exist."""
    runs = data.runs
    if runs.empty or "config_hash" not in runs:
        return []
    mine = runs[(runs["model"] == model) & (runs["revision"] == revision) & (runs["method"] == method)
                & (runs["task"] == task) & (runs["config_hash"] != shown)]
    if mine.empty:
        return []
    by = mine.groupby("config_hash").agg(n=("seed", "size"), newest=("created_at", "max"))
    by = by.sort_values("newest", ascending=False)
    return [f"{h} ({n} run{'s' if n != 1 else ''})" for h, n in by["n"].items()]


def first_task(table: pd.DataFrame, label: Optional[str], bench: Optional[str] = None) -> Optional[str]:
    """The first task (of ``bench`` when given, else of any benchmark) where the row has a score or a failed run: what
    a click on the row's average or name opens; None when the row ran nothing there."""
    r = board_row(table, label)
    if r is None:
        return None
    for b, tasks in table.attrs.get("benchmarks", {}).items():
        if bench is None or b == bench:
            for t in tasks:
                failed = r.get(f"{t}_failed")
                if pd.notna(r.get(t)) or (pd.notna(failed) and failed > 0):
                    return t
    return None


def _cell_runs(data: AppData, model: str, revision: str, method: str, task: str, config: Optional[str] = None
               ) -> tuple[Optional[str], pd.DataFrame, pd.DataFrame]:
    """(config hash shown, its successful runs (data.cell_runs), its failed runs no success replaced, counted or not
    (leaderboard.failures.listed); a cell whose runs all failed: the failures' configuration). ``config``: another
    of the cell's configurations (config_choices) instead of the board's."""
    chash, runs = cell_runs(data, task, model, revision, method)
    failed = failed_runs.listed(data.runs, data.agg, list(data.loaded.failures))
    if not failed.empty:
        failed = failed[(failed["model"].astype(str) == model) & (failed["revision"].astype(str) == revision)
                        & (failed["method"].astype(str) == method) & (failed["task"].astype(str) == task)]
    if config and config != chash and not data.runs.empty:
        r = data.runs
        runs = r[(r["model"] == model) & (r["revision"] == revision) & (r["method"] == method) & (r["task"] == task)
                 & (r["config_hash"] == config)]
        runs = runs.assign(fold=runs["fold"].fillna("").astype(str) if "fold" in runs else "")
        chash, runs = config, runs.sort_values(["fold", "seed"], kind="stable")
    chash = chash or (str(failed.iloc[0]["config_hash"]) if not failed.empty else None)
    failed = failed[failed["config_hash"] == chash] if chash and not failed.empty else failed.iloc[0:0]
    return chash, runs, failed


def _runs_table(records: dict[str, ResultRecord], failed: pd.DataFrame) -> pd.DataFrame:
    """One row per run: status, main score (test, validation), every other metric of both, steps, reason."""
    out = []
    for name, rec in records.items():
        val = (rec.validation.metrics or {}) if rec.validation else {}
        row = {"run": name, "fold": rec.job.fold or "", "seed": rec.job.seed, "status": "ok", "main": rec.main,
               "validation main": val.get("main")}
        row.update({m: v for m, v in sorted(rec.metrics.items()) if m != "main"})
        row.update({f"validation {m}": v for m, v in sorted(val.items()) if m != "main"})
        row.update({"steps": rec.training.steps if rec.training else None, "reason": ""})
        out.append(row)
    for _, f in failed.iterrows():
        out.append({"run": run_name(f["fold"], f["seed"]), "fold": f["fold"], "seed": int(f["seed"]),
                    "status": "failed", "reason": failed_runs.reason_text(f)})
    frame = pd.DataFrame(out)
    if frame.empty:
        return frame
    rest = [c for c in frame.columns if c not in ("steps", "reason")]  # a cell whose runs all failed has no steps
    return (frame.reindex(columns=rest + ["steps", "reason"]).sort_values(["fold", "seed"], kind="stable")
            .reset_index(drop=True))


def training_curve(records: dict[str, ResultRecord]) -> tuple[CurveData, str]:
    """Per run (in order), its loss per logging step (training.log_history) and its validation main score per
    evaluation (validation.history) as (steps, values), where recorded; ({}, 'not recorded: …') when no run has
    either (the app draws it)."""
    curves: CurveData = {}
    lacking = []
    for name, rec in records.items():
        logged = [e for e in (rec.training.log_history if rec.training else []) if "loss" in e and "step" in e]
        evals = [e for e in (rec.validation.history if rec.validation else []) if "main" in e and "step" in e]
        curves[name] = {series: ([e["step"] for e in points], [e[what] for e in points])
                        for points, what, series in ((logged, "loss", "loss"), (evals, "main", "validation"))
                        if points}
        if not logged and not evals:
            lacking.append(name)
    if not any(curves.values()):
        return {}, (f"{NOT_RECORDED}: these result files hold no training log or validation history (written by "
                    "an older harness, or no run succeeded)")
    return curves, (f"{NOT_RECORDED} for {', '.join(lacking)}" if lacking else "")


def _tokenizer_fit(records: dict[str, ResultRecord]) -> tuple[pd.DataFrame, str]:
    rows = [{"run": name, "unk_rate": rec.tokenizer_stats.get("unk_rate"),
             "truncation_rate": rec.tokenizer_stats.get("truncation_rate"),
             "examples": rec.tokenizer_stats.get("examples")} for name, rec in records.items() if rec.tokenizer_stats]
    frame = pd.DataFrame(rows, columns=["run", "unk_rate", "truncation_rate", "examples"])
    if frame.empty:
        return frame, f"{NOT_RECORDED}: the result files hold no tokenizer statistics"
    unk, trunc = frame["unk_rate"].max(), frame["truncation_rate"].max()
    note = f"[UNK] {unk:.1%} of tokens, {trunc:.1%} of inputs truncated (test examples)"
    if pd.notna(unk) and unk > UNK_WARN:
        note += f" ⚠UNK: over {UNK_WARN:.0%}, the tokenizer does not cover this task's text well"
    return frame, note


def _source(src: dict[str, Any]) -> str:
    splits = ", ".join(f"{role}: {name}" for role, name in (src.get("splits") or {}).items())
    if src.get("type") == "hub":
        where = f"Hub dataset {src.get('path')}" + (f" ({src['name']})" if src.get("name") else "") + (
            f" @ {src['revision']}" if src.get("revision") else "")
    else:
        where = f"local files {src.get('dir', '?')}"
    return where + (f"; splits {splits}" if splits else "") + (f"; fold {src['fold']}" if src.get("fold") else "")


def provenance(recs: list[ResultRecord]) -> tuple[dict[str, str], Optional[str]]:
    """(name -> text, Hub URL) of a cell's records: model, revision and page, data source and fingerprints,
    library versions, git sha, config hash."""
    rec = recs[0]
    mi, env, url = rec.model_info, rec.environment, model_url(rec)
    cfg_model = rec.config.get("model") or {}
    mid = mi.id if mi and mi.id else None
    out = {"model": rec.job.model, "model id": mid or f"random init ({cfg_model.get('tokenizer', 'no id')})",
           "revision": rec.job.revision,
           "model page": url or (f"local source: {mid}" if mid else "local source: random init (no weights)")}
    if mi:
        out["family"] = f"{mi.family}, {mi.parameters:,} parameters" + (
            f" ({mi.trainable_parameters:,} trained)" if mi.trainable_parameters not in (None, mi.parameters) else "")
    data = [r.data for r in recs if r.data]
    if data:
        out["data source"] = "; ".join(dict.fromkeys(_source(d.source) for d in data))
        out["data fingerprint"] = ", ".join(dict.fromkeys(d.fingerprint for d in data))
        if data[0].carve:
            out["carved"] = f"{', '.join(data[0].carve.get('into', []))} from {data[0].carve.get('from')}"
        split = data[0].evaluated_split
        out["evaluated split"] = f"{split} ({data[0].sizes.get(split, '?')} examples)"
    out["config hash"] = rec.job.config_hash
    out["git sha"] = str(env.get("git_sha") or NOT_RECORDED)
    out["harness"] = f"{env.get('harness', '?')}, Python {env.get('python', '?')}, device {env.get('device', '?')}" + (
        f" ({env['gpu']})" if env.get("gpu") else "")
    versions = env.get("versions") or {}
    out["library versions"] = ", ".join(f"{k} {v}" for k, v in versions.items() if v) or NOT_RECORDED
    created = sorted({r.created_at for r in recs})
    out["created"] = created[0] + (f" to {created[-1]}" if len(created) > 1 else "")
    return out, url


def config_choices(data: AppData, model: str, revision: str, method: str, task: str) -> list[tuple[str, str]]:
    """(label, config hash) of each configuration the cell was run under: the board's first ('<hash> (on the board,
    n runs)'), then the others newest first (other_configs)."""
    board, _, _ = _cell_runs(data, model, revision, method, task)
    if board is None:
        return []
    r = data.runs
    n = int(((r["model"] == model) & (r["revision"] == revision) & (r["method"] == method) & (r["task"] == task)
             & (r["config_hash"] == board)).sum()) if not r.empty and "config_hash" in r else 0
    out = [(f"{board} (on the board, {n} run{'s' if n != 1 else ''})", board)]
    return out + [(o, o.split(" ", 1)[0]) for o in other_configs(data, model, revision, method, task, board)]


def cell_detail(data: AppData, model: str, revision: str, method: str, task: str,
                run: Optional[str] = None, config: Optional[str] = None) -> CellDetail:
    """The detail of one cell. ``run``: which run's predictions give the evidence and errors (a name from
    ``run_choices``, e.g. 'seed 1'); by default the first run that has a predictions file. ``config``: one of the
    cell's configurations (config_choices; default, or one the cell does not have: the board's)."""
    detail = CellDetail(model, revision, method, task, label=row_label(model, method))
    detail.configs = config_choices(data, model, revision, method, task)
    detail.board_config = detail.configs[0][1] if detail.configs else None
    if config not in {h for _, h in detail.configs}:
        config = None
    chash, ok, failed = _cell_runs(data, model, revision, method, task, config)
    detail.config_hash = chash
    detail.others = other_configs(data, model, revision, method, task, chash)
    records: dict[str, ResultRecord] = {}
    for _, r in ok.iterrows():
        try:
            records[run_name(r["fold"], r["seed"])] = ResultRecord.read(data.root / r["path"])
        except RecordError as e:
            detail.problems.append(str(e))
    detail.runs = _runs_table(records, failed)
    info = data.task_info.get(task, {})
    detail.kind, detail.direction = str(info.get("kind", "")), str(info.get("direction", "higher"))
    detail.main_score = " + ".join(info.get("main_score") or [])
    if ok.empty or not records:
        t = data.table
        shown = t[(t["model"] == model) & (t["revision"] == revision) & (t["method"] == method)] if "row" in t else t
        detail.label = str(shown.iloc[0]["row"]) if "row" in t and not shown.empty else detail.label  # the board's
        detail.curve_note = f"{NOT_RECORDED}: no run of this cell succeeded"
        detail.evidence_note = "no successful run: no predictions to show"
        return detail
    first = next(iter(records.values()))
    detail.label = row_label(model, method, None, bool(first.model_info.untrained) if first.model_info else False)
    detail.curve, detail.curve_note = training_curve(records)
    detail.tokenizer, detail.tokenizer_note = _tokenizer_fit(records)
    detail.provenance, detail.hub_url = provenance(list(records.values()))
    files = {name: predictions_path(data.root / p) for name, p in zip(records, ok["path"])}
    detail.run_choices = [name for name, f in files.items() if f.is_file()]
    detail.run = run if run in detail.run_choices else (detail.run_choices[0] if detail.run_choices else None)
    shown = records.get(detail.run or "", first)
    entry, argv, note = reproduce(shown)
    detail.command, detail.models_entry = shlex.join(argv), entry
    detail.command_note = " ".join(filter(None, ["" if shown.command else
                                                 "Rebuilt from the record's configuration (it holds no command line).",
                                                 note]))
    if detail.run is None:
        detail.evidence_note = "no predictions file was saved for this cell's runs"
        return detail
    _add_evidence(detail, data, files[detail.run])
    return detail


def _add_evidence(detail: CellDetail, data: AppData, path: Path) -> None:
    try:
        detail.rows = read_predictions(path)
    except (OSError, ValueError, EOFError) as e:
        detail.problems.append(f"{path}: unreadable ({type(e).__name__})")
        detail.evidence_note = f"the predictions of {detail.run} cannot be read"
        return
    if not detail.rows:
        detail.evidence_note = f"the predictions file of {detail.run} is empty"
        return
    kind = get_kind(detail.kind)
    detail.spec = spec = task_spec(data, detail.task)
    ev: Evidence = kind.evidence(spec, detail.rows)
    detail.tables, detail.matrix, detail.matrix_title = ev.tables, ev.matrix, ev.matrix_title
    if not ev.tables and ev.matrix is None:
        detail.evidence_note = f"nothing particular to {detail.kind} tasks is shown beyond the scores"
    detail.classes = sorted({c for r in detail.rows for c in kind.error_classes(r.get("gold"))})


def errors(detail: CellDetail, gold_class: Optional[str] = None, limit: int = 50) -> pd.DataFrame:
    """A sample of the shown run's wrong predictions (as the task kind judges them: `example_correct`), the most
    confident first: id, input, gold, prediction, confidence (blank where the predictions have no scores).
    ``gold_class``: only examples of that class (one of ``detail.classes``); None or '' for all."""
    cols = ["id", "input", "gold", "prediction", "confidence"]
    if not detail.rows:
        return pd.DataFrame(columns=cols)
    kind = get_kind(detail.kind)
    out = []
    for r in detail.rows:
        gold, pred = r.get("gold"), r.get("prediction")
        if gold_class and gold_class not in kind.error_classes(gold):
            continue
        if kind.example_correct(pred, gold, detail.spec) >= 1.0:
            continue
        inputs = r.get("input") or {}
        out.append({"id": r.get("id"), "input": input_text(inputs), "gold": show(detail.kind, gold, inputs),
                    "prediction": show(detail.kind, pred, inputs), "confidence": kind.confidence(r)})
    frame = pd.DataFrame(out, columns=cols)
    if frame["confidence"].notna().any():
        frame = frame.sort_values("confidence", ascending=False, na_position="last", kind="stable")
    return frame.head(limit).reset_index(drop=True)

