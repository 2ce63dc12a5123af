"""Training options as validated data: TrainConfig (every option, its default and its check), TrainOverrides (the
options one precedence level sets) and their merge."""
from __future__ import annotations

from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, field_validator, model_serializer, model_validator

from .errors import did_you_mean


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# Trainer's schedulers that need no lr_scheduler_kwargs or metric (transformers' SchedulerType has more; the harness
# passes no scheduler kwargs, so those would fail every job at its first step).
LR_SCHEDULERS = ("linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup",
                 "inverse_sqrt")


class TrainConfig(Strict):
    """Training hyperparameters. Every field can be overridden at each precedence level."""

    learning_rate: float = Field(2e-5, gt=0, allow_inf_nan=False)
    batch_size: PositiveInt = 32
    eval_batch_size: Union[PositiveInt, Literal["auto"]] = "auto"  # auto: 16 on CPU, 128 on CUDA (bench/speed)
    epochs: float = Field(3.0, gt=0, allow_inf_nan=False)
    max_steps: int = Field(-1, description="optimizer steps; -1: no limit (epochs decide)")
    max_length: PositiveInt = 128
    doc_stride: PositiveInt = 128
    max_answer_length: PositiveInt = 30
    warmup_ratio: float = Field(0.0, ge=0, lt=1)  # Trainer reads a float in [0, 1) as a ratio
    weight_decay: float = Field(0.0, ge=0, allow_inf_nan=False)
    lr_scheduler: str = "linear"  # one of LR_SCHEDULERS
    gradient_accumulation_steps: PositiveInt = 1
    selection: Literal["best", "last"] = "best"
    eval_steps: Optional[PositiveInt] = None
    early_stopping_patience: Optional[PositiveInt] = None
    freeze_embeddings: bool = False
    freeze_layers: int = Field(0, ge=0)
    freeze_all_but_head: bool = False
    bf16: Literal["auto", "on", "off"] = "auto"
    group_by_length: bool = True
    max_new_tokens: PositiveInt = 16
    num_beams: PositiveInt = 1
    rdrop_alpha: float = Field(0.0, ge=0, allow_inf_nan=False,
                               description="R-Drop weight (prompt method): symmetric KL of two dropouts")
    lora_r: PositiveInt = Field(8, description="LoRA rank (lora method)")
    lora_alpha: float = Field(16.0, gt=0, allow_inf_nan=False,
                              description="LoRA scaling numerator: updates are scaled by alpha / r")
    lora_dropout: float = Field(0.1, ge=0, lt=1, description="dropout on the LoRA branch's input")
    lora_target_modules: Optional[tuple[str, ...]] = Field(
        None, description="module names LoRA wraps (a name or a dotted suffix); None: the family's default "
                          "(harness/families.yaml, lora.target_modules)")

    def for_device(self, device: str) -> "TrainConfig":
        """Resolve the speed-only 'auto' settings for a device: bf16 on a bf16-capable GPU; evaluation batches of
        128 on CUDA, 16 on CPU (smaller batches stay in cache there: bench/speed/eval.py)."""
        update: dict[str, Any] = {}
        cuda = device.startswith("cuda")
        if self.bf16 == "auto":
            update["bf16"] = "on" if cuda and _bf16_gpu() else "off"  # on CPU, without importing torch
        if self.eval_batch_size == "auto":
            update["eval_batch_size"] = EVAL_BATCH_AUTO["cuda" if cuda else "cpu"]
        return self.model_copy(update=update) if update else self

    @field_validator("lora_target_modules", mode="before")
    @classmethod
    def _module_list(cls, value: Any) -> Any:
        """A list of names, or one comma-separated string (`--set lora_target_modules=query,value`)."""
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",")]
        if isinstance(value, (list, tuple)) and (not value or not all(isinstance(v, str) and v.strip() for v in value)):
            raise ValueError("expected one or more module names, e.g. [query, value]")
        return value

    @field_validator("lr_scheduler")
    @classmethod
    def _scheduler(cls, value: str) -> str:
        if value not in LR_SCHEDULERS:
            raise ValueError(f"unknown lr_scheduler '{value}' (expected one of {', '.join(LR_SCHEDULERS)})"
                             f"{did_you_mean(value, LR_SCHEDULERS)}")
        return value

    @field_validator("max_steps")
    @classmethod
    def _steps(cls, value: int) -> int:
        if value == 0 or value < -1:
            raise ValueError(f"expected a positive step count, or -1 for no limit, got {value}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "TrainConfig":
        if self.early_stopping_patience is not None and self.selection != "best":
            raise ValueError("early_stopping_patience needs selection: best (it stops on the validation split)")
        return self


TRAIN_FIELDS = tuple(TrainConfig.model_fields)
EVAL_BATCH_AUTO = {"cpu": 16, "cuda": 128}


class TrainOverrides(Strict):
    """A partial TrainConfig: only the keys that are set take part in the merge."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _known(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in data:
                if key not in TRAIN_FIELDS:
                    raise ValueError(f"unknown training option '{key}'{did_you_mean(key, TRAIN_FIELDS)}")
            # validate the values with TrainConfig's types
            TrainConfig(**{k: v for k, v in data.items() if v is not None})
            return {"values": {k: v for k, v in data.items() if v is not None}}
        return data

    values: dict[str, Any] = Field(default_factory=dict)

    @model_serializer
    def _flat(self) -> dict[str, Any]:
        """Dump as the flat mapping it was written as, so a dumped TaskSpec loads back."""
        return dict(self.values)


def resolve_train_config(*levels: Optional[TrainOverrides | dict]) -> TrainConfig:
    """Merge overrides from lowest to highest precedence onto TrainConfig's defaults."""
    merged: dict[str, Any] = {}
    for level in levels:
        if level is None:
            continue
        merged.update(level.values if isinstance(level, TrainOverrides) else
                      {k: v for k, v in level.items() if v is not None})
    return TrainConfig(**merged)


def _bf16_gpu() -> bool:
    import torch

    return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
