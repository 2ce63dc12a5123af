"""Out-of-memory back-off: recognise a device OOM, tell training from evaluation, and halve the batch."""
from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator, Optional

from .trainconfig import TrainConfig

MAX_HALVINGS = 3


class EvaluationOutOfMemory(RuntimeError):
    """A device OOM raised while predicting (validation or test): only the evaluation batch needs halving."""


def is_oom(error: BaseException) -> bool:
    """A device out-of-memory error (CUDA's OutOfMemoryError, or a RuntimeError saying so)."""
    import torch

    if isinstance(error, (torch.OutOfMemoryError, EvaluationOutOfMemory)):
        return True
    return isinstance(error, RuntimeError) and "out of memory" in str(error).lower()


@contextmanager
def evaluating() -> Iterator[None]:
    """Mark the OOM errors raised inside as evaluation OOMs."""
    try:
        yield
    except EvaluationOutOfMemory:
        raise
    except Exception as e:  # noqa: BLE001 - re-raised unchanged unless it is an OOM
        if is_oom(e):
            raise EvaluationOutOfMemory(str(e).splitlines()[0] if str(e) else type(e).__name__) from e
        raise


def halve(cfg: TrainConfig, error: BaseException, halvings: dict[str, int]) -> Optional[TrainConfig]:
    """The config for the next attempt after `error`, or None when that batch was halved MAX_HALVINGS times
    already (or is 1). Training: half the per-device batch, twice the gradient accumulation (same effective batch,
    same optimizer steps). Evaluation: half the evaluation batch."""
    phase = "evaluation" if isinstance(error, EvaluationOutOfMemory) else "training"
    size = cfg.eval_batch_size if phase == "evaluation" else cfg.batch_size
    if halvings.get(phase, 0) >= MAX_HALVINGS or not isinstance(size, int) or size < 2:
        return None
    halvings[phase] = halvings.get(phase, 0) + 1
    if phase == "evaluation":
        return cfg.model_copy(update={"eval_batch_size": size // 2})
    return cfg.model_copy(update={"batch_size": size // 2,
                                  "gradient_accumulation_steps": cfg.gradient_accumulation_steps * 2})


def release_memory() -> None:
    """Give freed device memory back before the next attempt."""
    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
