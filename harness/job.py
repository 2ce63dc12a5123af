"""Run one planned job (harness.plan.Job) for one seed: prepare → train → evaluate → save → record.

Each stage is one call down: the data (harness.data), the adapter and model (harness.methods, harness.adapters),
training (harness.train), scoring (harness.metrics), the checkpoint (harness.checkpoint) and the result record
(harness.record). The caller (harness.execute) writes the record and the prediction rows.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Optional

from . import metrics, models, oom, results
from .data import TaskData, job_data, subset_indices
from .methods import get_method
from .plan import Job, RunOptions
from .record import DataInfo, JobId, ModelInfo, ResultRecord, TaskInfo, Timing, Training, Validation
from .trainconfig import TrainConfig


@dataclass
class Prepared:
    """What the stages share: the job's data (subsets taken), its adapter, tokenizer and fresh model."""

    data: TaskData
    adapter: Any
    tokenizer: Any
    model: Any
    train: list[dict]
    val: Optional[list[dict]]
    test: list[dict]  # what is scored: the test split, or the validation split of a search trial
    evaluated: str  # test | validation


@dataclass
class Scored:
    scores: dict[str, Any]
    val_scores: Optional[dict[str, Any]]
    preds: list[dict]
    golds: list[Any]
    inputs: list[dict]
    eval_s: float


def _subset(examples: list[dict], n: Optional[int]) -> list[dict]:
    return [examples[i] for i in subset_indices(len(examples), n)]


def prepare(job: Job, seed: int, opts: RunOptions, cfg: TrainConfig) -> Prepared:
    """The job's data reloaded (fingerprint checked) and subset, its adapter and a fresh model on the device."""
    metrics.TRUST_METRIC_CODE.set(opts.trust_metric_code)  # this process scores the job's evaluate: metrics
    data = job_data(job, opts.data_dir)
    tok = models.tokenizer_for(job.model)
    method = get_method(job.method)
    adapter = method.make_adapter(job.family.adapter, job.spec, tok, cfg)
    model = method.build(adapter, job.model, tok, seed)
    splits = data.splits
    train = _subset(splits["train"], opts.max_train_samples)
    val = _subset(splits["validation"], opts.max_eval_samples) if "validation" in splits else None
    # a search trial is scored on the validation split and never sees the test split
    test = val if job.trial else _subset(splits["test"], opts.max_eval_samples)
    model.to(opts.device)
    return Prepared(data, adapter, tok, model, train, val, test, "validation" if job.trial else "test")


def train(ready: Prepared, seed: int, cfg: TrainConfig, device: str) -> Any:
    """Fine-tune (harness.train); the outcome carries the steps, the selection history and the timings."""
    from .train import fine_tune  # torch and transformers: imported when a job runs, not when a run is planned

    return fine_tune(ready.adapter, ready.model, ready.train, ready.val if cfg.selection == "best" else None, seed,
                     device)


def _predict(ready: Prepared, examples: list[dict], steps: int, split: str, batch_size: int) -> list[dict]:
    from .divergence import watch_outputs

    with oom.evaluating(), watch_outputs(ready.model, steps, split):  # diverged: a failure, never scored
        return ready.adapter.predict(ready.model, examples, batch_size)


def evaluate(ready: Prepared, outcome: Any, job: Job, cfg: TrainConfig) -> Scored:
    """Score the evaluated split (and the validation split when training did not), then time one CPU prediction."""
    adapter, task = ready.adapter, job.spec
    t0 = time.perf_counter()
    preds = _predict(ready, ready.test, outcome.steps, ready.evaluated, cfg.eval_batch_size)
    eval_s = time.perf_counter() - t0
    golds, inputs = [adapter.gold(ex) for ex in ready.test], [adapter.inputs(ex) for ex in ready.test]
    scores = metrics.compute(task, [p["prediction"] for p in preds], golds, inputs)
    val_scores = scores if job.trial else outcome.validation_metrics
    if ready.val and val_scores is None:
        vp = _predict(ready, ready.val, outcome.steps, "validation", cfg.eval_batch_size)
        val_scores = metrics.compute(task, [p["prediction"] for p in vp], [adapter.gold(ex) for ex in ready.val],
                                     [adapter.inputs(ex) for ex in ready.val])
    ready.model.to("cpu")
    return Scored(scores, val_scores, preds, golds, inputs, eval_s)


def save(ready: Prepared, job: Job, seed: int, opts: RunOptions) -> Optional[int]:
    """The checkpoint (unless --keep-checkpoints none or a search trial): its trained weights' bytes, or None."""
    from .checkpoint import save_checkpoint  # the adapters (torch): imported when a job runs

    if opts.keep_checkpoints == "none" or job.trial:
        return None
    return save_checkpoint(results.checkpoint_dir(opts.output_dir, job.key, seed), ready.model, ready.tokenizer,
                           job, seed)


def record(job: Job, seed: int, opts: RunOptions, ready: Prepared, outcome: Any, scored: Scored,
           saved_bytes: Optional[int]) -> tuple[ResultRecord, list[dict]]:
    """The result record and the per-example prediction rows."""
    spec, task, data, test = job.model, job.spec, ready.data, ready.test
    keep = opts.keep_checkpoints != "none" and not job.trial
    ckpt = results.checkpoint_dir(opts.output_dir, job.key, seed)
    rfile = results.result_path(opts.output_dir, job.key, seed)
    rows = [{"id": ex["id"], "input": i, "gold": g, **p}
            for ex, i, g, p in zip(test, scored.inputs, scored.golds, scored.preds)]
    rec = ResultRecord(
        job=JobId(model=spec.name, revision=job.revision, task=task.name, method=job.method,
                  fold=job.fold, seed=seed, config_hash=job.config_hash),
        config=job.config,
        task_info=TaskInfo.of(task),
        model_info=ModelInfo(family=spec.family, id=spec.id, untrained=spec.untrained,
                             parameters=sum(p.numel() for p in ready.model.parameters()),
                             trainable_parameters=outcome.trainable_parameters, description=spec.description,
                             license=spec.license),
        data=DataInfo(source=data.source, carve=data.carve, fingerprint=data.fingerprint,
                      sizes={"train": len(ready.train), "validation": len(ready.val) if ready.val else 0,
                             "test": 0 if job.trial else len(test)},
                      overlaps=data.overlaps, shared_text=data.shared_text, evaluated_split=ready.evaluated),
        metrics=scored.scores,
        breakdown=task.task_kind.breakdown(task, [p["prediction"] for p in scored.preds], scored.golds,
                                           scored.inputs),
        validation=Validation(metrics=scored.val_scores, history=outcome.selection_history,
                              selected_step=outcome.selected_step),
        training=Training(steps=outcome.steps, epochs=outcome.epochs, final_loss=outcome.final_loss,
                          log_history=outcome.log_history),
        timing=Timing(train_runtime_s=outcome.train_runtime_s, train_samples_per_s=outcome.train_samples_per_s,
                      eval_samples_per_s=round(len(test) / scored.eval_s, 3) if scored.eval_s else None),
        tokenizer_stats=ready.adapter.token_stats(test),
        predictions_file=results.predictions_path(rfile).name,
        checkpoint=str(ckpt.relative_to(opts.output_dir)) if keep else None,
        checkpoint_bytes=saved_bytes,
        environment=results.environment(opts.device),
        search=job.search,
        created_at=results.now(),
    )
    return rec, rows


def run_job(job: Job, seed: int, opts: RunOptions, cfg: Optional[TrainConfig] = None
            ) -> tuple[ResultRecord, list[dict]]:
    """Train and evaluate one (model, task, seed); save the checkpoint; return the result record and the
    per-example prediction rows (the caller writes them). `cfg` overrides the per-device batch sizes only
    (out-of-memory back-off): the record keeps the requested config and its hash."""
    cfg = cfg or job.cfg
    ready = prepare(job, seed, opts, cfg)
    outcome = train(ready, seed, cfg, opts.device)
    scored = evaluate(ready, outcome, job, cfg)
    saved_bytes = save(ready, job, seed, opts)
    return record(job, seed, opts, ready, outcome, scored, saved_bytes)
