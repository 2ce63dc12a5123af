"""The command that reruns one job: a models-file entry (YAML) and the `run` command line for it.

One home for both users: the driver fills `ResultRecord.command` from the planned job (`job_command`), and a
record that holds no command (older records, the model cards, the app's detail view) is rebuilt from what its
config hash covers (`rerun`). Both plan the very job again (same config hash), so `--dry-run` finds it done.

The command names placeholders, never this machine's paths: `models.yaml` (the entry `models_entry` gives),
`DATA_DIR` (where the task's local data folder lies) and `TASK_DIR` (the folder of a task YAML that is not one of
the harness's own). `--output-dir` is left to the user. A job of a hyperparameter search gets no command of its own
(its setting comes from the search's trials, which one command line cannot replay exactly); `rerun` then rebuilds
the setting's configuration key, and `NOTE_SEARCH` says so.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    from .record import ResultRecord
    from .plan import Job, RunOptions

HARNESS_DIR = Path(__file__).resolve().parent  # task data inside it (demo tasks) needs no --data-dir
MODELS_FILE, DATA_DIR, TASK_DIR = "models.yaml", "DATA_DIR", "TASK_DIR"
NOTE_SEARCH = ("The setting was chosen by a hyperparameter search (the record's `search` block); this reruns the "
               "search's configuration key, not the search.")


def models_entry(model: str, config: dict[str, Any]) -> str:
    """The models file (YAML) with the one model entry the job's config names (its identity fields)."""
    import yaml

    return yaml.safe_dump({"models": [{"name": model, **config.get("model", {})}]}, sort_keys=False,
                          allow_unicode=True)


def run_argv(model: str, task: str, method: str, seed: int, fold: Optional[str], config: dict[str, Any], *,
             data_dir: bool, task_dir: bool = False, device: Optional[str] = None,
             trust_metric_code: bool = False) -> list[str]:
    """`python -m harness run …` for one (model, task, method, fold, seed) from its hashed config: the training
    options set (`--set`, resolved values), the subset flags, and the placeholders the job needs."""
    argv = ["python", "-m", "harness", "run", "--models", MODELS_FILE, "--only-models", model, "--tasks", task,
            "--methods", method, "--seeds", str(seed), *(["--folds", fold] if fold else [])]
    subset = config.get("subset") or {}
    for key in ("max_train_samples", "max_eval_samples"):
        if subset.get(key) is not None:  # a schema-1 config lists unset ones as null
            argv += ["--" + key.replace("_", "-"), str(subset[key])]
    if task_dir:
        argv += ["--task-dir", TASK_DIR]
    if data_dir:
        argv += ["--data-dir", DATA_DIR]
    if device and device != "cpu":  # bf16 resolves per device, and the hash covers it
        argv += ["--device", device]
    if trust_metric_code:
        argv += ["--trust-metric-code"]
    for key, value in sorted((config.get("train") or {}).items()):
        argv += ["--set", f"{key}={json.dumps(value)}"]
    return argv


def rerun(rec: "ResultRecord") -> tuple[str, list[str]]:
    """(models-file entry, argv) rebuilt from a record's config: for records that hold no command of their own.
    The data folder is judged from the record's data source (a local folder outside the harness: DATA_DIR)."""
    from .metrics import HUB_PREFIX

    j, c = rec.job, rec.config
    src = rec.data.source if rec.data else {}
    folder = Path(str(src.get("dir", "")))
    folder = folder if folder.is_absolute() else HARNESS_DIR.parent / folder  # a sample's paths: checkout-relative
    local = src.get("type") == "local" and not folder.resolve().is_relative_to(HARNESS_DIR)
    hub_metrics = any(str(m).startswith(HUB_PREFIX) for m in (c.get("task") or {}).get("metrics", []))
    argv = run_argv(j.model, j.task, j.method, j.seed, j.fold, c, data_dir=local,
                    device=rec.environment.get("device"), trust_metric_code=hub_metrics)
    return models_entry(j.model, c), argv


def job_command(job: "Job", seed: int, opts: "RunOptions") -> Optional[list[str]]:
    """The argv that reruns exactly this planned job and seed (`ResultRecord.command`), or None for a job of a
    hyperparameter search. Its models-file entry is `models_entry(job.model.name, job.config)`."""
    from .data import pick_source
    from .metrics import hub_metrics
    from .catalog import TASKS_DIR

    if job.search is not None:
        return None
    src, _ = pick_source(job.spec, opts.data_dir, job.task.path)
    own_task = Path(job.task.path).resolve().is_relative_to(TASKS_DIR.resolve())
    return run_argv(job.model.name, job.spec.name, job.method, seed, job.fold, job.config,
                    data_dir=src.type == "local" and src.relative_to == "data_dir", task_dir=not own_task,
                    device=opts.device, trust_metric_code=bool(hub_metrics(job.spec.metrics)))


def reproduce(rec: "ResultRecord") -> tuple[str, list[str], str]:
    """(models-file entry, argv, note) that rerun a record: its own command when it holds one, else `rerun`; the
    note says what the command does not replay (a search), else ''."""
    note = NOTE_SEARCH if rec.search else ""
    if rec.command:  # the entry alone: no need to rebuild the command
        return models_entry(rec.job.model, rec.config), list(rec.command), note
    entry, argv = rerun(rec)
    return entry, argv, note
