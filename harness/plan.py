"""Plan the (model × task × method × fold) grid into small jobs (identity + config + data fingerprint).

Planning loads and fingerprints the data; a job carries only the fingerprint. The process that runs a job
(harness.job) reloads its data through `data.job_data` (cached per process) and fails the job if the fingerprint
differs. Where jobs run and who writes their files is `harness.execute`'s concern.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from pydantic import ValidationError

from . import metrics, models, results
from .confighash import adopt_legacy, job_config, legacy_config
from .data import cached_task_data, subset_indices
from .config_files import format_validation_error
from .errors import HarnessError, did_you_mean
from .families import Family
from .methods import check_method_options, get_method
from .record import Race, Search
from .specs import ModelSpec, TaskSpec
from .catalog import TaskEntry
from .trainconfig import TrainConfig, TrainOverrides, resolve_train_config


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
    revision: str = ""  # the model's revision label (models.ResolvedModel), the <revision> of its result path
    family: Optional[Family] = None  # the model's family (its adapter kind)
    # a raced study (harness.race): each seed's `execution.race` block; not part of the config or its hash
    race: dict[int, Race] = field(default_factory=dict)
    # False: planned with every run done, so the checks that need the tokenizer were skipped (plan.check_deferred)
    checked: bool = True

    @property
    def trial(self) -> bool:
        """A search trial: scored on the validation split only, no checkpoint, never a leaderboard row."""
        return self.search is not None and self.search.role == "trial"



@dataclass(frozen=True)
class NotApplicable:
    """Why a (model, task, method) does not run: the method cannot run it (the family, the task kind, no prompt) or
    its check refused it (e.g. label words the tokenizer turns into [UNK])."""

    model: str
    task: str
    method: str
    reason: str

    def __str__(self) -> str:
        return f"{self.model} × {self.task} × {self.method}: {self.reason}"


def resolve_config(model: ModelSpec, entry: TaskEntry, opts: RunOptions, extra: Optional[dict[str, Any]] = None,
                   family: Optional[Family] = None) -> tuple[TrainConfig, set[str]]:
    """Precedence: a search's values > CLI > model-per-task > model > task default > family default > TrainConfig
    defaults. Returns the config resolved for the device and the keys set at any level (what the hash covers)."""
    fam = family or models.family(model)
    levels = (fam.train, entry.spec.train, model.train, model.tasks.get(entry.spec.name), opts.cli_train,
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
                metrics.load_hub_metric(name)
            except HarnessError as ex:
                raise HarnessError(f"{e.path}: field 'metrics': {ex}") from None
            except Exception as ex:  # noqa: BLE001 - evaluate/hub raise many types; report one line
                raise HarnessError(f"{e.path}: field 'metrics': cannot load '{name}' "
                                   f"({str(ex).splitlines()[0][:200] if str(ex) else type(ex).__name__})") from None



def plan(model_specs: list[ModelSpec], entries: list[TaskEntry], opts: RunOptions
         ) -> tuple[list[Job], list[NotApplicable]]:
    """Validate everything up front (data, tokenizers, configs, label words) so bad input fails before training.

    One job per (model, task, method, fold); its seeds run inside it. All folds of a task share one config hash
    (the hash covers every fold's data fingerprint), so the leaderboard can average over folds.
    """
    jobs, skipped = [], []
    for spec in model_specs:
        m = models.resolve(spec)  # fails early (exit 2) for an unresolvable id
        for entry, name in ((e, meth) for e in entries for meth in opts.methods):
            planned = plan_one(m, entry, name, opts)
            if isinstance(planned, NotApplicable):
                skipped.append(planned)
            else:
                jobs += planned
    return jobs, skipped


def plan_one(resolved: models.ResolvedModel, entry: TaskEntry, name: str, opts: RunOptions,
             extra: Optional[dict[str, Any]] = None, search: Optional[Search] = None) -> list[Job] | NotApplicable:
    """The jobs (one per fold) of one (model, task, method), or why it does not apply. `extra`: training options
    of a search (above every level); `search`: the job's search role, part of its config and hash. A trial always
    has a validation split (carved from train where the task has none): it is scored there."""
    m, fam = resolved.spec, resolved.family
    method = get_method(name, "--methods")
    reason = method.not_applicable(m, entry.spec, fam.adapter)
    if reason:
        return NotApplicable(m.name, entry.spec.name, name, reason)
    spec = method.prepare_task(entry.spec, entry.path, opts.data_dir)
    cfg, set_keys = resolve_config(m, entry, opts, extra, fam)
    check_method_options(cfg, set_keys, name, f"model {m.name}, task {spec.name}")
    need_val = cfg.selection == "best" or (search is not None and search.role == "trial")
    loaded = {f: cached_task_data(spec, entry.path, opts.data_dir, need_val, f) for f in spec.folds or [None]}
    fingerprints = {f or "": d.fingerprint for f, d in loaded.items()}
    first = loaded[(spec.folds or [None])[0]]
    data_part = ({"fingerprint": first.fingerprint, "carve": first.carve} if not spec.folds else
                 {"fold_fingerprints": fingerprints})
    subset = (opts.max_train_samples, opts.max_eval_samples)
    search_part = search.hashed() if search is not None else None
    config = job_config(name, spec, m, cfg, set_keys, *subset, data_part, search_part)
    legacy = legacy_config(name, spec, m, cfg, *subset, data_part) if search is None else None
    base, chash, config = adopt_legacy(config, legacy, opts.output_dir, lambda h: results.job_key(
        m.name, resolved.revision, spec.name, name, h))
    seeds = opts.seeds[:1] if search is not None and search.role == "trial" else opts.seeds
    jobs = []
    for fold in _folds(entry, opts):
        key = base / f"fold-{fold}" if fold is not None else base
        n_train = len(subset_indices(len(loaded[fold].splits["train"]), opts.max_train_samples))
        jobs.append(Job(m, entry, spec, name, fold, loaded[fold].fingerprint, need_val, n_train, cfg, key, chash,
                        config, seeds, search, resolved.revision, fam))
    if all(results.result_path(opts.output_dir, j.key, s).exists() for j in jobs for s in j.seeds):
        for j in jobs:  # every run is done: its checks passed when it ran (same config hash); no tokenizer loads
            j.checked = False
        return jobs
    reason = check_with_tokenizer(resolved, spec, name, cfg)
    return NotApplicable(m.name, spec.name, name, reason) if reason else jobs


def check_with_tokenizer(resolved: models.ResolvedModel, spec: TaskSpec, method: str, cfg: TrainConfig
                         ) -> Optional[str]:
    """The planning checks that need the model's tokenizer or config (transformers): the architecture's limits
    (HarnessError) and the method's own check (a reason the job does not apply, or None)."""
    resolved.check_limits(cfg, f"training options of {resolved.name} on {spec.name}")
    return get_method(method).check(resolved.spec, spec, resolved.tokenizer, cfg, resolved.family.adapter)


def check_deferred(job: Job) -> None:
    """A job planned as done (`Job.checked` False) that must run after all (a result file turned out damaged and was
    moved aside): run its tokenizer checks now, before it trains; one that no longer applies is an error."""
    if job.checked:
        return
    resolved = models.ResolvedModel(job.model, job.family or models.family(job.model), job.revision)
    reason = check_with_tokenizer(resolved, job.spec, job.method, job.cfg)
    if reason:
        raise HarnessError(f"{job.model.name} × {job.spec.name} × {job.method}: {reason} (its earlier results "
                           f"under {job.key} say otherwise; move them away to plan it afresh)")
    job.checked = True
