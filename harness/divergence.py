"""Diverged training is a failure: a non-finite loss, gradient or prediction stops the job with the step and why.

`DivergenceGuard` is a TrainerCallback (plus `check_loss`, called by the Trainer on every step's loss) that raises
`Diverged`; `watch_outputs` checks a model's outputs while it predicts (validation and test). The unit that runs
the job records a `Diverged` as a failure of kind "diverged" with its step (harness.execute.unit); it is never
retried (only out-of-memory errors are) and never scored.
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Any, Iterator, Optional

import torch
from transformers import TrainerCallback


class Diverged(Exception):
    """Training diverged (not a user error): `reason` says what became non-finite, `step` the optimizer step."""

    def __init__(self, reason: str, step: Optional[int]):
        super().__init__(reason)
        self.reason, self.step = reason, step


def _bad(value: Any, neg_inf_ok: bool = False) -> Optional[str]:
    """'NaN' or 'infinite' when a number or tensor holds such values, else None. `neg_inf_ok`: -inf is a value
    (a masked logit), only NaN and +inf are not."""
    if isinstance(value, torch.Tensor):
        if not value.is_floating_point() or bool(torch.isfinite(value).all()):
            return None
        if bool(torch.isnan(value).any()):
            return "NaN"
        return "infinite" if not neg_inf_ok or bool(torch.isposinf(value).any()) else None
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else "infinite"
    return None


def failure_step(error: BaseException) -> Optional[int]:
    """The training step a failure happened at, when known (a Diverged, or any error raised inside training)."""
    for e in (error, error.__cause__):
        step = getattr(e, "step", None) if isinstance(e, Diverged) else getattr(e, "harness_step", None)
        if isinstance(step, int):
            return step
    return None


class DivergenceGuard(TrainerCallback):
    """Raises Diverged at the first non-finite training loss (each step: `check_loss`), gradient (before each
    optimizer step) or logged loss / gradient norm. `step` is the optimizer step being taken (1-based)."""

    def __init__(self) -> None:
        self.step = 0

    def on_step_begin(self, args, state, control, **kw):
        self.step = state.global_step + 1
        return control

    def check_loss(self, loss: torch.Tensor) -> None:
        bad = _bad(loss.detach())
        if bad:
            raise Diverged(f"loss became {bad} at step {self.step}", self.step)

    def on_pre_optimizer_step(self, args, state, control, model=None, **kw):
        grads = [p.grad for p in model.parameters() if p.grad is not None] if model is not None else []
        if grads:
            bad = _bad(torch.nn.utils.get_total_norm(grads))
            if bad:
                raise Diverged(f"gradients became {bad} at step {self.step}", self.step)
        return control

    def on_log(self, args, state, control, logs=None, **kw):
        for key, what in (("loss", "loss"), ("grad_norm", "gradient norm")):
            bad = _bad((logs or {}).get(key))
            if bad:
                raise Diverged(f"{what} became {bad} at step {state.global_step}", state.global_step)
        return control


def _tensors(out: Any) -> Iterator[torch.Tensor]:
    """The floating-point tensors of a model's output (a ModelOutput, tuple or tensor)."""
    if isinstance(out, torch.Tensor):
        yield out
    elif isinstance(out, dict):
        for v in out.values():
            yield from _tensors(v)
    elif isinstance(out, (tuple, list)):
        for v in out:
            yield from _tensors(v)


@contextmanager
def watch_outputs(model: torch.nn.Module, step: Optional[int], split: str) -> Iterator[None]:
    """Raise Diverged when the model's outputs (logits, scores; not its cached keys and values) hold NaN or +inf
    (-inf is a masked logit) while it predicts `split` after `step` training steps."""

    def hook(_module: Any, _inputs: Any, out: Any) -> None:
        if isinstance(out, dict):
            out = {k: v for k, v in out.items() if k not in ("past_key_values", "hidden_states", "attentions")}
        for t in _tensors(out):
            bad = _bad(t, neg_inf_ok=True)
            if bad:
                raise Diverged(f"{split} predictions became {bad} after step {step}", step)

    handle = model.register_forward_hook(hook)
    try:
        yield
    finally:
        handle.remove()


def mark_step(error: BaseException, step: int) -> None:
    """Note on an error raised inside training the step it happened at (read back by failure_step)."""
    if not isinstance(error, Diverged) and getattr(error, "harness_step", None) is None:
        try:
            error.harness_step = step  # type: ignore[attr-defined]
        except AttributeError:  # an exception type without a __dict__
            pass
