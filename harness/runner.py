"""Plan the (model × task × seed) grid into small jobs (identity + config + data fingerprint), and run one job.

Planning loads and fingerprints the data; a job carries only the fingerprint. The process that runs a job reloads
its data through `job_data` (cached per process) and fails the job if the fingerprint differs. Where jobs run and
who writes their files is `harness.execute`'s concern.
"""
from __future__ import annotations

import logging
import os
import shutil
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from pydantic import ValidationError

from . import metrics, models, oom, results
from .confighash import config_hash, job_config, legacy_config
from .data import TaskData, load_task_data, subset_indices
from .config_files import format_validation_error
from .errors import HarnessError, did_you_mean
from .methods import get_method, load_all as load_methods
from .record import (CheckpointInfo, DataInfo, JobId, ModelInfo, ResultRecord, Search, TaskInfo, Timing, Training,
                     Validation)
from .specs import ModelSpec, TaskSpec, TrainConfig, TrainOverrides, resolve_train_config
from .tasks import TaskEntry

log = logging.getLogger(__name__)


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
    trust_metric_code: bool = False  # evaluate:NAME metrics (code from the Hub) may run


@dataclass
class Job:
    model: ModelSpec
    task: TaskEntry
    spec: TaskSpec  # the task as run (prompt label words resolved)
    method: str
    fold: Optional[str]
    data_fingerprint: str  # of the data as planned; the running process reloads the data and checks it
    need_validation: bool
    train_size: int  # training examples after --max-train-samples: executors start big jobs first
    cfg: TrainConfig
    key: Path
    config_hash: str
    config: dict[str, Any]
    seeds: tuple[int, ...]
    search: Optional[Search] = None  # a hyperparameter search's trial, or the setting it chose

    @property
    def trial(self) -> bool:
        """A search trial: scored on the validation split only, no checkpoint, never a leaderboard row."""
        return self.search is not None and self.search.role == "trial"


_DATA: dict[tuple, TaskData] = {}  # per process: planning and the jobs that run here share one load


def _load_data(spec: TaskSpec, path: Path, data_dir: Optional[Path], need_val: bool, fold: Optional[str]) -> TaskData:
    key = (spec.name, str(path), str(data_dir), need_val, fold)  # label words (prompt) do not change the data
    if key not in _DATA:
        _DATA[key] = load_task_data(spec, path, data_dir, need_val, fold)
    return _DATA[key]


def job_data(job: "Job", opts: RunOptions) -> TaskData:
    """The job's data, reloaded in this process (cached); a different fingerprint than at planning fails the job."""
    data = _load_data(job.spec, job.task.path, opts.data_dir, job.need_validation, job.fold)
    if data.fingerprint != job.data_fingerprint:
        raise HarnessError(f"task '{job.spec.name}': its data changed since planning (fingerprint {data.fingerprint}, "
                           f"planned {job.data_fingerprint}; source {data.source}); rerun the command")
    return data


def resolve_config(model: ModelSpec, entry: TaskEntry, opts: RunOptions, extra: Optional[dict[str, Any]] = None
                   ) -> tuple[TrainConfig, set[str]]:
    """Precedence: a search's values > CLI > model-per-task > model > task default > family default > TrainConfig
    defaults. Returns the config resolved for the device and the keys set at any level (what the hash covers)."""
    fam = models.family(model)
    levels = (fam.get("train"), entry.spec.train, model.train, model.tasks.get(entry.spec.name), opts.cli_train,
              extra)
    try:
        cfg = resolve_train_config(*levels)
    except ValidationError as e:  # each level is valid alone (checked on load); their merge is not, or --set is bad
        raise HarnessError(format_validation_error(f"training options of {model.name} on {entry.spec.name} "
                                                   "(task, model and --set merged)", e)) from None
    set_keys = {k for level in levels if level
                for k, v in (level.values if isinstance(level, TrainOverrides) else level).items() if v is not None}
    return cfg.for_device(opts.device), set_keys


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


def check_folds(entries: list[TaskEntry], folds: Optional[tuple[str, ...]]) -> Optional[str]:
    """--folds must apply to some selected task (error otherwise); on a mixed grid, the line naming the tasks it
    leaves alone."""
    if folds is None:
        return None
    if not folds:
        raise HarnessError("--folds: expected one or more fold names, got none")
    without = [e.spec.name for e in entries if not e.spec.folds]
    if len(without) == len(entries):
        raise HarnessError(f"--folds: none of the selected tasks ({', '.join(without)}) has folds; --folds applies "
                           "to few-shot tasks such as fewclue_tnews")
    return f"--folds applies to {len(entries) - len(without)} task(s); not to {', '.join(without)}" if without else None


def check_metric_code(entries: list[TaskEntry], trusted: bool) -> None:
    """A task naming an evaluate Hub metric runs that metric's code: only with --trust-metric-code, and the metric
    is fetched now (planning) rather than after training."""
    for e in entries:
        for name in metrics.hub_metrics(e.spec.metrics):
            if not trusted:
                raise HarnessError(f"{e.path}: field 'metrics': '{name}' runs the metric's code from the Hub; pass "
                                   "--trust-metric-code to allow it, or use a built-in metric")
            try:
                import evaluate

                evaluate.load(name[len(metrics.HUB_PREFIX):])
            except Exception as ex:  # noqa: BLE001 - evaluate/hub raise many types; report one line
                raise HarnessError(f"{e.path}: field 'metrics': cannot load '{name}' "
                                   f"({str(ex).splitlines()[0][:200] if str(ex) else type(ex).__name__})") from None


def _check_method_options(cfg: TrainConfig, set_keys: set[str], method: str, where: str) -> None:
    """A training option that belongs to another method (e.g. rdrop_alpha to prompt) is an error here."""
    for other in load_methods().values():
        for opt in other.options if other.name != method else ():
            if opt in set_keys and getattr(cfg, opt) != TrainConfig.model_fields[opt].default:
                raise HarnessError(f"train: field '{opt}': applies to the {other.name} method only ({where}, "
                                   f"method {method})")


def _adopt_legacy(config: dict[str, Any], legacy: Optional[dict[str, Any]], opts: RunOptions,
                  key_of: Callable[[str], Path]) -> tuple[Path, str, dict[str, Any]]:
    """(key, hash, config) of a job: its schema-1 folder when one holds results and the new one does not (an
    upgrade re-runs nothing and new seeds join the old ones), else the new one."""
    chash = config_hash(config)
    key = key_of(chash)
    if legacy is not None:
        lhash = config_hash(legacy)
        old = key_of(lhash)
        results_root = Path(opts.output_dir) / "results"
        if lhash != chash and (results_root / old).is_dir() and not (results_root / key).is_dir():
            log.info("%s: results of the schema-1 hash %s are kept and extended", key, lhash)
            return old, lhash, legacy
    return key, chash, config


def plan(model_specs: list[ModelSpec], entries: list[TaskEntry], opts: RunOptions) -> tuple[list[Job], list[str]]:
    """Validate everything up front (data, tokenizers, configs, label words) so bad input fails before training.

    One job per (model, task, method, fold); its seeds run inside it. All folds of a task share one config hash
    (the hash covers every fold's data fingerprint), so the leaderboard can average over folds.
    """
    jobs, skipped = [], []
    for m in model_specs:
        models.tokenizer_for(m)  # fails early (exit 2) for an unresolvable id
        models.check_weights(m)
        for entry, name in ((e, meth) for e in entries for meth in opts.methods):
            planned = plan_one(m, entry, name, opts)
            if isinstance(planned, str):
                skipped.append(planned)
            else:
                jobs += planned
    return jobs, skipped


def plan_one(m: ModelSpec, entry: TaskEntry, name: str, opts: RunOptions, extra: Optional[dict[str, Any]] = None,
             search: Optional[Search] = None) -> list[Job] | str:
    """The jobs (one per fold) of one (model, task, method), or why it does not apply. `extra`: training options
    of a search (above every level); `search`: the job's search role, part of its config and hash. A trial always
    has a validation split (carved from train where the task has none): it is scored there."""
    tok, fam = models.tokenizer_for(m), models.family(m)
    method = get_method(name, "--methods")
    reason = method.not_applicable(m, entry.spec, fam["adapter"])
    if reason:
        return f"{m.name} × {entry.spec.name} × {name}: {reason}"
    spec = method.prepare_task(entry.spec, entry.path, opts.data_dir)
    cfg, set_keys = resolve_config(m, entry, opts, extra)
    _check_method_options(cfg, set_keys, name, f"model {m.name}, task {spec.name}")
    models.check_limits(m, tok, cfg, f"training options of {m.name} on {spec.name}")
    reason = method.check(m, spec, tok, cfg, fam["adapter"])
    if reason:
        return f"{m.name} × {spec.name} × {name}: {reason}"
    need_val = cfg.selection == "best" or (search is not None and search.role == "trial")
    loaded = {f: _load_data(spec, entry.path, opts.data_dir, need_val, f) for f in spec.folds or [None]}
    fingerprints = {f or "": d.fingerprint for f, d in loaded.items()}
    first = loaded[(spec.folds or [None])[0]]
    data_part = ({"fingerprint": first.fingerprint, "carve": first.carve} if not spec.folds else
                 {"fold_fingerprints": fingerprints})
    subset = (opts.max_train_samples, opts.max_eval_samples)
    search_part = search.hashed() if search is not None else None
    config = job_config(name, spec, m, cfg, set_keys, *subset, data_part, search_part)
    legacy = legacy_config(name, spec, m, cfg, *subset, data_part) if search is None else None
    base, chash, config = _adopt_legacy(config, legacy, opts, lambda h: results.job_key(
        m.name, models.revision_label(m), spec.name, name, h))
    seeds = opts.seeds[:1] if search is not None and search.role == "trial" else opts.seeds
    jobs = []
    for fold in _folds(entry, opts):
        key = base / f"fold-{fold}" if fold is not None else base
        n_train = len(subset_indices(len(loaded[fold].splits["train"]), opts.max_train_samples))
        jobs.append(Job(m, entry, spec, name, fold, loaded[fold].fingerprint, need_val, n_train, cfg, key, chash,
                        config, seeds, search))
    return jobs


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


def run_job(job: Job, seed: int, opts: RunOptions, cfg: Optional[TrainConfig] = None
            ) -> tuple[ResultRecord, list[dict]]:
    """Train and evaluate one (model, task, seed); save the checkpoint; return the result record and the
    per-example prediction rows (the caller writes them). `cfg` overrides the per-device batch sizes only
    (out-of-memory back-off): the record keeps the requested config and its hash."""
    from .divergence import watch_outputs
    from .train import fine_tune

    spec, task = job.model, job.spec
    method = get_method(job.method)
    cfg = cfg or job.cfg
    metrics.TRUST_METRIC_CODE.set(opts.trust_metric_code)  # this process scores the job's evaluate: metrics
    data = job_data(job, opts)
    fam = models.family(spec)
    tok = models.tokenizer_for(spec)
    adapter = method.make_adapter(fam["adapter"], task, tok, cfg)
    model = method.build(adapter, spec, tok, seed)
    splits = data.splits
    train = _subset(splits["train"], opts.max_train_samples)
    val = _subset(splits["validation"], opts.max_eval_samples) if "validation" in splits else None
    # a search trial is scored on the validation split and never sees the test split
    test = val if job.trial else _subset(splits["test"], opts.max_eval_samples)
    evaluated = "validation" if job.trial else "test"
    device = opts.device
    model.to(device)
    outcome = fine_tune(adapter, model, train, val if cfg.selection == "best" else None, seed, device)
    t0 = time.perf_counter()
    with oom.evaluating(), watch_outputs(model, outcome.steps, evaluated):  # diverged: a failure, never scored
        preds = adapter.predict(model, test, cfg.eval_batch_size)
    eval_s = time.perf_counter() - t0
    golds, inputs = [adapter.gold(ex) for ex in test], [adapter.inputs(ex) for ex in test]
    scores = metrics.compute(task, [p["prediction"] for p in preds], golds, inputs)
    val_scores = scores if job.trial else outcome.validation_metrics
    if val and val_scores is None:
        with oom.evaluating(), watch_outputs(model, outcome.steps, "validation"):
            vp = adapter.predict(model, val, cfg.eval_batch_size)
        val_scores = metrics.compute(task, [p["prediction"] for p in vp], [adapter.gold(ex) for ex in val],
                                     [adapter.inputs(ex) for ex in val])
    model.to("cpu")
    latency = latency_ms(adapter, model, test[0])
    ckpt = results.checkpoint_dir(opts.output_dir, job.key, seed)
    keep = opts.keep_checkpoints != "none" and not job.trial
    saved_bytes = save_checkpoint(ckpt, model, tok, job, seed) if keep else None
    rfile = results.result_path(opts.output_dir, job.key, seed)
    rows = [{"id": ex["id"], "input": i, "gold": g, **p} for ex, i, g, p in zip(test, inputs, golds, preds)]
    record = ResultRecord(
        job=JobId(model=spec.name, revision=models.revision_label(spec), task=task.name, method=job.method,
                  fold=job.fold, seed=seed, config_hash=job.config_hash),
        config=job.config,
        task_info=TaskInfo.of(task),
        model_info=ModelInfo(family=spec.family, id=spec.id, untrained=spec.untrained,
                             parameters=sum(p.numel() for p in model.parameters()),
                             trainable_parameters=outcome.trainable_parameters, description=spec.description,
                             license=spec.license),
        data=DataInfo(source=data.source, carve=data.carve, fingerprint=data.fingerprint,
                      sizes={"train": len(train), "validation": len(val) if val else 0,
                             "test": 0 if job.trial else len(test)},
                      overlaps=data.overlaps, shared_text=data.shared_text, evaluated_split=evaluated),
        metrics=scores,
        breakdown=task.task_kind.breakdown(task, [p["prediction"] for p in preds], golds, inputs),
        validation=Validation(metrics=val_scores, history=outcome.selection_history,
                              selected_step=outcome.selected_step),
        training=Training(steps=outcome.steps, epochs=outcome.epochs, final_loss=outcome.final_loss,
                          log_history=outcome.log_history),
        timing=Timing(train_runtime_s=outcome.train_runtime_s, train_samples_per_s=outcome.train_samples_per_s,
                      eval_samples_per_s=round(len(test) / eval_s, 3) if eval_s else None,
                      cpu_latency_ms_p50=latency),
        tokenizer_stats=adapter.token_stats(test),
        predictions_file=results.predictions_path(rfile).name,
        checkpoint=str(ckpt.relative_to(opts.output_dir)) if keep else None,
        checkpoint_bytes=saved_bytes,
        environment=results.environment(device),
        search=job.search,
        created_at=results.now(),
    )
    return record, rows


def save_checkpoint(path: Path, model, tokenizer, job: Job, seed: int) -> int:
    """Weights (safetensors) and tokenizer as the method saves them, the task spec and the job's CheckpointInfo,
    so predict, export and the app need nothing else. Returns the bytes of the trained weights (Method.save).

    Written into a temporary sibling folder and renamed into place: an interrupted save leaves no half checkpoint."""
    tmp = path.with_name(f".{path.name}.{results.writer_tag()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    saved_bytes = get_method(job.method).save(tmp, model, tokenizer)
    results.write_json(tmp / "harness_task.json", job.spec.model_dump(mode="json"))
    CheckpointInfo(model=job.model.model_dump(mode="json"), adapter=models.family(job.model)["adapter"],
                   method=job.method, fold=job.fold, train=job.cfg.model_dump(mode="json"), seed=seed,
                   config_hash=job.config_hash).write(tmp / "harness_job.json")
    if path.exists():
        shutil.rmtree(path)
    os.replace(tmp, path)
    return saved_bytes
