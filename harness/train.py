"""Fine-tune one model with HF Trainer; select the checkpoint on the validation split only."""
from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, Optional

import torch
from transformers import PrinterCallback, Trainer, TrainerCallback, TrainingArguments

from . import interrupt, metrics, oom
from .divergence import DivergenceGuard, mark_step, watch_outputs
from .adapters import Adapter
from .errors import HarnessError
from .trainconfig import TrainConfig

log = logging.getLogger(__name__)


@dataclass
class TrainOutcome:
    train_runtime_s: float
    train_samples_per_s: float
    steps: int
    epochs: float
    selected_step: Optional[int]
    selection_history: list[dict] = field(default_factory=list)
    validation_metrics: Optional[dict] = None  # scores of the selected weights on the validation split
    final_loss: Optional[float] = None
    trainable_parameters: Optional[int] = None
    log_history: list[dict] = field(default_factory=list)  # Trainer's per-logging-step dicts (loss, lr, epoch)


class SelectionCallback(TrainerCallback):
    """Scores the validation split at each epoch (or every eval_steps), keeps the best weights in memory,
    and stops early after `patience` evaluations without improvement. "Best" follows the main score's direction
    (a lower-is-better metric keeps the lowest). The test split is never seen here."""

    def __init__(self, adapter: Adapter, examples: list[dict], patience: Optional[int]):
        self.adapter, self.examples, self.patience = adapter, examples, patience
        self.best: Optional[float] = None
        self.best_step: Optional[int] = None
        self.best_state: Optional[dict[str, torch.Tensor]] = None
        self.best_scores: Optional[dict] = None
        self.history: list[dict] = []
        self.bad = 0
        self.last_step = -1
        self.seconds = 0.0  # time spent scoring validation, left out of training throughput

    def _evaluate(self, state, control, model) -> None:
        if state.global_step == self.last_step:
            return
        self.last_step = state.global_step
        t0 = time.perf_counter()
        with oom.evaluating(), watch_outputs(model, state.global_step, "validation"):
            preds = self.adapter.predict(model, self.examples, self.adapter.cfg.eval_batch_size)
        scores = metrics.compute(self.adapter.task, [p["prediction"] for p in preds],
                                 [self.adapter.gold(ex) for ex in self.examples],
                                 [self.adapter.inputs(ex) for ex in self.examples])
        model.train()
        self.seconds += time.perf_counter() - t0
        self.history.append({"step": state.global_step, "epoch": round(state.epoch or 0, 3),
                             **{k: round(v, 6) for k, v in scores.items()}})
        log.info("validation at step %d: main %.4f", state.global_step, scores["main"])
        if self.adapter.task.better(scores["main"], self.best):
            self.best, self.best_step, self.bad = scores["main"], state.global_step, 0
            self.best_scores = scores
            self.best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
        else:
            self.bad += 1
            if self.patience is not None and self.bad >= self.patience:
                log.info("early stopping at step %d (best step %d)", state.global_step, self.best_step)
                control.should_training_stop = True

    def on_step_end(self, args, state, control, model=None, **kw):
        every = self.adapter.cfg.eval_steps
        if every and state.global_step % every == 0:
            self._evaluate(state, control, model)
        return control

    def on_epoch_end(self, args, state, control, model=None, **kw):
        if not self.adapter.cfg.eval_steps:
            self._evaluate(state, control, model)
        return control

    def on_train_end(self, args, state, control, model=None, **kw):
        self._evaluate(state, control, model)  # the final weights are a candidate too
        return control


class LogCallback(TrainerCallback):
    """Trainer's per-step dicts (loss, learning rate, ...) go to the log (the job's log file), not the console."""

    def on_log(self, args, state, control, logs=None, **kw):
        if logs:
            log.info("step %d: %s", state.global_step, {k: round(v, 6) if isinstance(v, float) else v
                                                        for k, v in logs.items()})
        return control

    def on_step_end(self, args, state, control, **kw):
        interrupt.check()  # a Ctrl-C a finalizer swallowed stops the job here
        return control


class AdapterTrainer(Trainer):
    """Trainer whose loss comes from the adapter when it computes one (`Adapter.compute_loss`), else from the model.
    An adapter's loss is a per-batch mean, so Trainer scales it for gradient accumulation as usual. Every step's
    loss goes to the divergence guard (a non-finite loss stops training: harness.divergence)."""

    def __init__(self, *args: Any, adapter: Adapter, guard: DivergenceGuard, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.adapter, self.guard = adapter, guard

    def training_step(self, model, inputs, num_items_in_batch=None):
        loss = super().training_step(model, inputs, num_items_in_batch)
        self.guard.check_loss(loss)
        return loss

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        own = self.adapter.compute_loss(model, inputs)
        if own is None:
            return super().compute_loss(model, inputs, return_outputs=return_outputs,
                                        num_items_in_batch=num_items_in_batch)
        self.loss_is_scaled_for_ga = False
        loss, outputs = own
        return (loss, outputs) if return_outputs else loss


def apply_freeze(model: Any, cfg: TrainConfig) -> None:
    """Freeze embeddings, the first N layers, or everything but the task head."""
    base = getattr(model, "base_model", model)
    if cfg.freeze_all_but_head:
        if base is model:
            raise HarnessError("train: field 'freeze_all_but_head': this model has no separate task head")
        for p in base.parameters():
            p.requires_grad = False
    if cfg.freeze_embeddings:
        emb = base.get_input_embeddings() if hasattr(base, "get_input_embeddings") else None
        module = getattr(base, "embeddings", None) or emb
        for p in module.parameters():
            p.requires_grad = False
    if cfg.freeze_layers:
        encoder = getattr(base, "encoder", None)
        layers = getattr(encoder, "layer", None) or getattr(encoder, "block", None)
        if layers is None or not isinstance(layers, torch.nn.ModuleList):
            raise HarnessError(f"train: field 'freeze_layers': {type(model).__name__} has no per-layer list "
                               f"(ALBERT shares one layer across depth)")
        for layer in layers[: cfg.freeze_layers]:
            for p in layer.parameters():
                p.requires_grad = False


def fine_tune(adapter: Adapter, model: Any, train_examples: list[dict], val_examples: Optional[list[dict]],
              seed: int, device: str) -> TrainOutcome:
    """Train with Trainer; with selection 'best' the best validation weights are loaded at the end.
    Trainer draws no bar and prints nothing: the grid has the one progress bar, the job's log gets the steps."""
    cfg = adapter.cfg
    apply_freeze(model, cfg)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    features = adapter.train_features(train_examples)
    if not features:
        raise HarnessError(f"task '{adapter.task.name}': no trainable examples in the train split")
    select = cfg.selection == "best" and val_examples
    callback = SelectionCallback(adapter, val_examples, cfg.early_stopping_patience) if select else None
    with tempfile.TemporaryDirectory(prefix="harness-trainer-") as tmp:
        args = TrainingArguments(
            output_dir=tmp, learning_rate=cfg.learning_rate, per_device_train_batch_size=cfg.batch_size,
            per_device_eval_batch_size=cfg.eval_batch_size, num_train_epochs=cfg.epochs, max_steps=cfg.max_steps,
            warmup_steps=cfg.warmup_ratio, weight_decay=cfg.weight_decay, lr_scheduler_type=cfg.lr_scheduler,
            gradient_accumulation_steps=cfg.gradient_accumulation_steps, seed=seed, data_seed=seed,
            eval_strategy="no", save_strategy="no", report_to="none", logging_strategy="steps",
            logging_steps=max(1, min(50, len(features) // cfg.batch_size or 1)), use_cpu=device == "cpu",
            bf16=cfg.bf16 == "on", disable_tqdm=True, logging_nan_inf_filter=False,  # a NaN loss is a failure
            train_sampling_strategy="group_by_length" if cfg.group_by_length else "random",
        )
        guard = DivergenceGuard()
        trainer = AdapterTrainer(model=model, args=args, train_dataset=features, adapter=adapter, guard=guard,
                                 data_collator=adapter.collator(model),
                                 callbacks=[LogCallback(), guard] + ([callback] if callback else []))
        trainer.remove_callback(PrinterCallback)
        start = time.perf_counter()
        try:
            result = trainer.train()
        except Exception as e:  # noqa: BLE001 - re-raised; the failure record gets the step it happened at
            if guard.step:
                mark_step(e, guard.step)
            raise
        runtime = time.perf_counter() - start - (callback.seconds if callback else 0.0)
    if callback and callback.best_state is not None:
        model.load_state_dict(callback.best_state)
    steps = result.global_step
    samples = min(steps * cfg.batch_size * cfg.gradient_accumulation_steps,
                  int(round((trainer.state.epoch or 0) * len(features))) or steps * cfg.batch_size)
    return TrainOutcome(
        train_runtime_s=round(runtime, 3),
        train_samples_per_s=round(samples / runtime, 3) if runtime > 0 else 0.0,
        steps=steps, epochs=round(trainer.state.epoch or 0, 3),
        selected_step=callback.best_step if callback else steps,
        selection_history=callback.history if callback else [],
        validation_metrics=callback.best_scores if callback else None,
        final_loss=round(result.training_loss, 6) if result.training_loss is not None else None,
        trainable_parameters=trainable,
        log_history=[_plain(e) for e in trainer.state.log_history],
    )


def _plain(entry: dict) -> dict:
    """A log-history entry with JSON-safe rounded numbers."""
    return {k: round(v, 6) if isinstance(v, float) else v for k, v in entry.items()
            if isinstance(v, (int, float, str)) or v is None}
