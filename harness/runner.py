"""Plan the (model × task × seed) grid, run each job into one immutable result file, skip finished jobs."""
from __future__ import annotations

import logging
import shutil
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from pydantic import ValidationError

from . import metrics, models, results
from .adapters import adapter_class, make_adapter
from .data import TaskData, load_task_data, subset_indices
from .config_files import format_validation_error
from .errors import HarnessError, did_you_mean
from .specs import ModelSpec, TaskSpec, TrainConfig, resolve_train_config
from .tasks import TaskEntry
from .train import fine_tune
from .verbalizer import resolve_label_words

log = logging.getLogger(__name__)
HASH_EXCLUDED_TASK_FIELDS = {"description", "license", "caveats", "sources", "groups"}


@dataclass
class RunOptions:
    output_dir: Path
    data_dir: Optional[Path] = None
    seeds: tuple[int, ...] = (42,)
    max_train_samples: Optional[int] = None
    max_eval_samples: Optional[int] = None
    device: str = "cpu"
    keep_checkpoints: str = "best"
    cli_train: dict[str, Any] = field(default_factory=dict)
    progress: bool = True
    methods: tuple[str, ...] = ("finetune",)
    folds: Optional[tuple[str, ...]] = None  # None: every fold the task lists
    workers: int = 1  # jobs at once, each its own process (harness.grid)


@dataclass
class Job:
    model: ModelSpec
    task: TaskEntry
    spec: TaskSpec  # the task as run (prompt label words resolved)
    method: str
    fold: Optional[str]
    data: TaskData
    cfg: TrainConfig
    key: Path
    config_hash: str
    config: dict[str, Any]
    seeds: tuple[int, ...]


def resolve_config(model: ModelSpec, entry: TaskEntry, opts: RunOptions) -> TrainConfig:
    """Precedence: CLI > model-per-task > model > task default > family default > TrainConfig defaults."""
    fam = models.family(model)
    try:
        cfg = resolve_train_config(fam.get("train"), entry.spec.train, model.train,
                                   model.tasks.get(entry.spec.name), opts.cli_train)
    except ValidationError as e:  # each level is valid alone (checked on load); their merge is not, or --set is bad
        raise HarnessError(format_validation_error(f"training options of {model.name} on {entry.spec.name} "
                                                   "(task, model and --set merged)", e)) from None
    return cfg.for_device(opts.device)


def _folds(entry: TaskEntry, opts: RunOptions) -> list[Optional[str]]:
    """The folds to run: the task's own (or --folds, which must be among them); [None] for tasks without folds."""
    spec = entry.spec
    if not spec.folds:
        return [None]
    if opts.folds is None:
        return list(spec.folds)
    for f in opts.folds:
        if f not in spec.folds:
            raise HarnessError(f"--folds: task '{spec.name}' has no fold '{f}' (its folds: {', '.join(spec.folds)})"
                               f"{did_you_mean(f, spec.folds)}")
    return list(opts.folds)


def _not_applicable(m: ModelSpec, spec: TaskSpec, method: str, fam: dict[str, Any]) -> Optional[str]:
    if method == "prompt" and spec.prompt is None:
        return f"task {spec.name} has no prompt: section"
    if adapter_class(fam["adapter"], spec.kind, method) is None:
        return f"{m.family} models do not run {spec.kind} tasks with the {method} method"
    return None


def plan(model_specs: list[ModelSpec], entries: list[TaskEntry], opts: RunOptions) -> tuple[list[Job], list[str]]:
    """Validate everything up front (data, tokenizers, configs, label words) so bad input fails before training.

    One job per (model, task, method, fold); its seeds run inside it. All folds of a task share one config hash
    (the hash covers every fold's data fingerprint), so the leaderboard can average over folds.
    """
    cache: dict[tuple[str, bool, Optional[str]], TaskData] = {}
    jobs, skipped = [], []
    for m in model_specs:
        tok = models.tokenizer_for(m)  # fails early (exit 2) for an unresolvable id
        fam = models.family(m)
        for entry, method in ((e, meth) for e in entries for meth in opts.methods):
            reason = _not_applicable(m, entry.spec, method, fam)
            if reason:
                skipped.append(f"{m.name} × {entry.spec.name} × {method}: {reason}")
                continue
            spec = resolve_label_words(entry.spec, entry.path, opts.data_dir) if method == "prompt" else entry.spec
            cfg = resolve_config(m, entry, opts)
            if cfg.rdrop_alpha and method != "prompt":
                raise HarnessError(f"train: field 'rdrop_alpha': R-Drop is implemented for the prompt method only "
                                   f"(model {m.name}, task {spec.name}, method {method})")
            if method == "prompt":
                try:  # the label words must be in this model's vocabulary (e.g. not Chinese words for MiniLM)
                    make_adapter(fam["adapter"], spec, tok, cfg, method)
                except HarnessError as e:
                    skipped.append(f"{m.name} × {spec.name} × {method}: {e}")
                    continue
            need_val = cfg.selection == "best"
            for fold in spec.folds or [None]:
                if (spec.name, need_val, fold) not in cache:
                    cache[(spec.name, need_val, fold)] = load_task_data(spec, entry.path, opts.data_dir, need_val,
                                                                        fold)
            fingerprints = {f or "": cache[(spec.name, need_val, f)].fingerprint for f in spec.folds or [None]}
            first = cache[(spec.name, need_val, (spec.folds or [None])[0])]
            task_part = spec.model_dump(mode="json", exclude=HASH_EXCLUDED_TASK_FIELDS)
            model_part = m.model_dump(mode="json", include={"id", "revision", "family", "tokenizer", "init", "config"})
            config = {"method": method, "task": task_part, "model": model_part,
                      "train": cfg.model_dump(mode="json"),
                      "subset": {"max_train_samples": opts.max_train_samples,
                                 "max_eval_samples": opts.max_eval_samples, "seed": 0},
                      "data": {"fingerprint": first.fingerprint, "carve": first.carve} if not spec.folds else
                      {"fold_fingerprints": fingerprints}}
            chash = results.config_hash(config)
            base = results.job_key(m.name, models.revision_label(m), spec.name, method, chash)
            for fold in _folds(entry, opts):
                key = base / f"fold-{fold}" if fold is not None else base
                jobs.append(Job(m, entry, spec, method, fold, cache[(spec.name, need_val, fold)], cfg, key, chash,
                                config, opts.seeds))
    return jobs, skipped


def _subset(examples: list[dict], n: Optional[int]) -> list[dict]:
    return [examples[i] for i in subset_indices(len(examples), n)]


def latency_ms(adapter, model, example: dict, runs: int = 20, warmup: int = 3) -> float:
    """p50 wall time of one single-input prediction on CPU (tokenize + forward + decode)."""
    for _ in range(warmup):
        adapter.predict(model, [example], 1)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        adapter.predict(model, [example], 1)
        times.append((time.perf_counter() - t0) * 1000)
    return round(statistics.median(times), 3)


def run_job(job: Job, seed: int, opts: RunOptions) -> dict[str, Any]:
    """Train and evaluate one (model, task, seed); write predictions, checkpoint and the result file."""
    spec, task = job.model, job.spec
    fam = models.family(spec)
    tok = models.tokenizer_for(spec)
    adapter = make_adapter(fam["adapter"], task, tok, job.cfg, job.method)
    model = adapter.prepare_model(models.load_model(spec, adapter.auto_class, tok, seed, **adapter.model_kwargs()))
    splits = job.data.splits
    train = _subset(splits["train"], opts.max_train_samples)
    val = _subset(splits["validation"], opts.max_eval_samples) if "validation" in splits else None
    test = _subset(splits["test"], opts.max_eval_samples)
    device = opts.device
    model.to(device)
    outcome = fine_tune(adapter, model, train, val if job.cfg.selection == "best" else None, seed, device,
                        opts.progress)
    t0 = time.perf_counter()
    preds = adapter.predict(model, test, job.cfg.eval_batch_size)
    eval_s = time.perf_counter() - t0
    golds = [adapter.gold(ex) for ex in test]
    scores = metrics.compute(task, [p["prediction"] for p in preds], golds)
    val_scores = outcome.validation_metrics
    if val and val_scores is None:
        vp = adapter.predict(model, val, job.cfg.eval_batch_size)
        val_scores = metrics.compute(task, [p["prediction"] for p in vp], [adapter.gold(ex) for ex in val])
    model.to("cpu")
    latency = latency_ms(adapter, model, test[0])
    ckpt = results.checkpoint_dir(opts.output_dir, job.key, seed)
    if opts.keep_checkpoints != "none":
        save_checkpoint(ckpt, model, tok, job, seed)
    rfile = results.result_path(opts.output_dir, job.key, seed)
    rows = [{"id": ex["id"], "input": adapter.inputs(ex), "gold": g, **p} for ex, g, p in zip(test, golds, preds)]
    results.write_predictions(results.predictions_path(rfile), rows)
    n_params = sum(p.numel() for p in model.parameters())
    record = {
        "schema_version": results.SCHEMA_VERSION,
        "job": {"model": spec.name, "revision": models.revision_label(spec), "task": task.name,
                "method": job.method, "fold": job.fold, "seed": seed, "config_hash": job.config_hash},
        "config": job.config,
        "task_info": {"benchmark": task.benchmark, "language": task.language, "kind": task.kind,
                      "license": task.license, "caveats": task.caveats, "main_score": task.main_metrics},
        "model_info": {"family": spec.family, "id": spec.id, "untrained": spec.untrained, "parameters": n_params,
                       "description": spec.description},
        "data": {"source": job.data.source, "carve": job.data.carve, "fingerprint": job.data.fingerprint,
                 "sizes": {"train": len(train), "validation": len(val) if val else 0, "test": len(test)},
                 "overlaps": job.data.overlaps, "evaluated_split": "test"},
        "metrics": scores,
        "validation": {"metrics": val_scores, "history": outcome.selection_history,
                       "selected_step": outcome.selected_step},
        "training": {"steps": outcome.steps, "epochs": outcome.epochs, "final_loss": outcome.final_loss},
        "timing": {"train_runtime_s": outcome.train_runtime_s, "train_samples_per_s": outcome.train_samples_per_s,
                   "eval_samples_per_s": round(len(test) / eval_s, 3) if eval_s else None,
                   "cpu_latency_ms_p50": latency},
        "tokenizer_stats": adapter.token_stats(test),
        "predictions_file": results.predictions_path(rfile).name,
        "checkpoint": str(ckpt.relative_to(opts.output_dir)) if opts.keep_checkpoints != "none" else None,
        "environment": results.environment(device),
        "created_at": results.now(),
    }
    results.write_json(rfile, record)
    return record


def save_checkpoint(path: Path, model, tokenizer, job: Job, seed: int) -> None:
    """Weights, tokenizer, and the task spec + job config, so predict and the app need nothing else."""
    if path.exists():
        shutil.rmtree(path)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    results.write_json(path / "harness_task.json", job.spec.model_dump(mode="json"))
    results.write_json(path / "harness_job.json", {
        "schema_version": results.SCHEMA_VERSION, "model": job.model.model_dump(mode="json"),
        "adapter": models.family(job.model)["adapter"], "method": job.method, "fold": job.fold,
        "train": job.cfg.model_dump(mode="json"), "seed": seed, "config_hash": job.config_hash})
