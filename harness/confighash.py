"""What a job's config hash covers: what was set, not every default.

The hash covers the training options set at any level (family, task `train:`, model, model-per-task, CLI) with
their resolved values, the 'auto' options whose resolution changes scores (bf16), the task fields that differ from
their defaults, the model's identity fields that are set, the subset flags that are set and the data
fingerprint. A new training option or task field with a default therefore leaves existing hashes unchanged.

Results written before this scheme (schema 1) were keyed by a hash over every default; `legacy_config`
rebuilds that exact dict (over the fields that existed then), so planning can find and adopt their folders and
an upgrade re-runs nothing.
"""
from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any, Callable, Optional

from .specs import ModelSpec, TaskSpec
from .trainconfig import TrainConfig

log = logging.getLogger(__name__)
TASK_EXCLUDED = {"description", "license", "caveats", "sources", "groups", "search"}  # never change a score
MODEL_FIELDS = {"id", "revision", "family", "tokenizer", "init", "config"}
SCORE_AUTOS = ("bf16",)  # 'auto' options whose resolved value changes scores (eval_batch_size does not)

# The fields as of schema 1 (commit f9befd9): the legacy hash dumped all of them, defaults included.
V1_TRAIN_FIELDS = ("learning_rate", "batch_size", "eval_batch_size", "epochs", "max_steps", "max_length",
                   "doc_stride", "max_answer_length", "warmup_ratio", "weight_decay", "lr_scheduler",
                   "gradient_accumulation_steps", "selection", "eval_steps", "early_stopping_patience",
                   "freeze_embeddings", "freeze_layers", "freeze_all_but_head", "bf16", "group_by_length",
                   "max_new_tokens", "num_beams", "rdrop_alpha")
V1_TASK_FIELDS = ("name", "description", "language", "benchmark", "groups", "kind", "label_names", "positive_label",
                  "metrics", "main_score", "license", "caveats", "sources", "carve", "train", "text_to_text", "qa_f1",
                  "prompt", "folds")


def config_hash(config: dict[str, Any]) -> str:
    """12 hex digits of SHA-256 over the canonical JSON of a job's config."""
    blob = json.dumps(config, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def _subset(max_train: Optional[int], max_eval: Optional[int]) -> dict[str, int]:
    return {k: v for k, v in (("max_train_samples", max_train), ("max_eval_samples", max_eval)) if v is not None}


def job_config(method: str, task: TaskSpec, model: ModelSpec, cfg: TrainConfig, set_keys: set[str],
               max_train: Optional[int], max_eval: Optional[int], data: dict[str, Any],
               search: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """The dict a job's hash is taken over (stored in its records as `config`). `search`: a search trial's role,
    or the space and strategy that chose a setting (so a tuned job never shares a folder with a plain one)."""
    values = cfg.model_dump(mode="json")
    train = {k: values[k] for k in sorted(set(set_keys) | set(SCORE_AUTOS))}
    config = {"method": method,
              "task": task.model_dump(mode="json", exclude=TASK_EXCLUDED, exclude_defaults=True),
              "model": model.model_dump(mode="json", include=MODEL_FIELDS, exclude_defaults=True),
              "train": train, "subset": _subset(max_train, max_eval), "data": data}
    if search is not None:
        config["search"] = search
    return config


def legacy_config(method: str, task: TaskSpec, model: ModelSpec, cfg: TrainConfig, max_train: Optional[int],
                  max_eval: Optional[int], data: dict[str, Any]) -> Optional[dict[str, Any]]:
    """The schema-1 config of the same job (every default of the fields of then), or None when the job sets
    something that did not exist then (no schema-1 result can be the same job)."""
    values = cfg.model_dump(mode="json")
    defaults = TrainConfig.model_fields
    for k, v in values.items():
        if k not in V1_TRAIN_FIELDS and v != defaults[k].default:
            return None
    task_dump = task.model_dump(mode="json")
    for k, field in TaskSpec.model_fields.items():
        if k not in V1_TASK_FIELDS and k not in TASK_EXCLUDED and getattr(task, k) != field.get_default(call_default_factory=True):
            return None
    return {"method": method,
            "task": {k: v for k, v in task_dump.items() if k in V1_TASK_FIELDS and k not in TASK_EXCLUDED},
            "model": model.model_dump(mode="json", include=MODEL_FIELDS),
            "train": {k: values[k] for k in V1_TRAIN_FIELDS},
            "subset": {"max_train_samples": max_train, "max_eval_samples": max_eval, "seed": 0}, "data": data}


def adopt_legacy(config: dict[str, Any], legacy: Optional[dict[str, Any]], output_dir: Path,
                 key_of: Callable[[str], Path]) -> tuple[Path, str, dict[str, Any]]:
    """(key, hash, config) of a job: its schema-1 folder when one holds results and the new one does not (an
    upgrade re-runs nothing and new seeds join the old ones), else the new one."""
    chash = config_hash(config)
    key = key_of(chash)
    if legacy is not None:
        lhash = config_hash(legacy)
        old = key_of(lhash)
        results_root = Path(output_dir) / "results"
        if lhash != chash and (results_root / old).is_dir() and not (results_root / key).is_dir():
            log.info("%s: results of the schema-1 hash %s are kept and extended", key, lhash)
            return old, lhash, legacy
    return key, chash, config
