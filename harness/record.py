"""The result record: one typed class, one schema version, written and read by the same class.

A job's outcome is one `ResultRecord` on disk: `seed<k>.json` when it succeeded, `seed<k>.failed.json` (status
"failed", with the reason) when it did not. Records of older schema versions are migrated on read, here and
nowhere else (`migrate`); a record of an unknown version raises `UnknownSchema` (readers skip it with a warning).
The checkpoint's `harness_job.json` is `CheckpointInfo`, migrated the same way (it keeps its own version,
`CHECKPOINT_SCHEMA_VERSION`: schema 3 of the record changed nothing there).

Versions: 1 (the first), 2 (failed records as typed blocks, the main score's direction), 3 (`execution.race`: the
round of a raced study that added the run; absent or null before), 4 (`failure.kind` is a cause class of
harness.failure_class, with `failure.cause` for infrastructure failures; an older kind "error" is classified on read
by `failure_class.legacy`).
"""
from __future__ import annotations

import copy
import functools
import json
import os
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Optional, Union, get_args, get_origin

from pydantic import (BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, create_model, model_validator,
                      with_config)
from typing_extensions import TypedDict

from .errors import HarnessError
from .failure_class import INFRASTRUCTURE, Cause, Kind, legacy

SCHEMA_VERSION = 4
CHECKPOINT_SCHEMA_VERSION = 2


class RecordError(HarnessError):
    """A result or checkpoint file that cannot be read as a record (one line naming the file)."""


class UnknownSchema(RecordError):
    """A record written by a newer (or unknown) version of the harness."""


def _number(value: Any) -> Any:
    """A score is a JSON number: a string ("0.9") or a boolean is a damaged file, not a score to convert."""
    if isinstance(value, (str, bool)) or value is None:
        raise ValueError(f"expected a number, got {value!r}")
    return value


Score = Annotated[float, BeforeValidator(_number), Field(allow_inf_nan=False)]  # finite: a diverged run is a failure


class Block(BaseModel):
    model_config = ConfigDict(extra="forbid")


class JobId(Block):
    model: str
    revision: str
    task: str
    method: str
    fold: Optional[str] = None
    seed: int
    config_hash: str


class TaskInfo(Block):
    benchmark: str
    language: str
    kind: str
    license: str = "not stated"
    caveats: list[str] = Field(default_factory=list)
    main_score: list[str]
    direction: Literal["higher", "lower"] = "higher"  # of the main score

    @classmethod
    def of(cls, task: Any) -> "TaskInfo":
        """The block for a TaskSpec (also in a failed record: the leaderboard places its cell by it)."""
        return cls(benchmark=task.benchmark, language=task.language, kind=task.kind, license=task.license,
                   caveats=task.caveats, main_score=task.main_metrics, direction=task.direction)


class ModelInfo(Block):
    family: str
    id: Optional[str] = None
    untrained: bool = False
    parameters: int
    trainable_parameters: Optional[int] = None
    description: str = ""
    license: Optional[str] = None  # the models file's `license:` (never guessed)


class DataInfo(Block):
    source: dict[str, Any]
    carve: Optional[dict[str, Any]] = None
    fingerprint: str
    sizes: dict[str, int]
    overlaps: dict[str, int] = Field(default_factory=dict)  # identical inputs in two roles ("train/test": n)
    # per evaluation role, of the split as loaded: the share of its rows that share a text (any of the kind's
    # link fields) with a training row; 0 for carved roles, the source's own overlap for named ones (docs/data.md)
    shared_text: dict[str, float] = Field(default_factory=dict)
    evaluated_split: str = "test"


class Validation(Block):
    metrics: Optional[dict[str, Score]] = None  # of the selected weights
    history: list[dict[str, Any]] = Field(default_factory=list)  # one entry per evaluation
    selected_step: Optional[int] = None


class Training(Block):
    steps: int
    epochs: float
    final_loss: Optional[float] = None
    log_history: list[dict[str, Any]] = Field(default_factory=list)  # loss / learning rate per logging step


class Timing(Block):
    train_runtime_s: float
    train_samples_per_s: float
    eval_samples_per_s: Optional[float] = None
    # timed inside the training job by harness versions before the latency command: it measured the machine's load
    # as much as the model, so nothing reads it any more; the measured figure is the run's latency.seed<k>.json
    cpu_latency_ms_p50: Optional[float] = None


class Race(Block):
    """The race (`run --race`, harness.race) that added this run: the round that gave the row this seed, the race's
    seeds per cell (at least, at most), the scope it decided (benchmark averages or tasks) and the seed's position in
    the race's fixed sequence (1 = its first seed). Not part of the config hash: a raced and a plain run of the same
    cell are the same result."""

    round: int = Field(ge=1)
    min_seeds: int = Field(ge=1)
    max_seeds: int = Field(ge=1)
    scope: Literal["benchmark", "task"] = "benchmark"
    position: int = Field(ge=1)


class Execution(Block):
    executor: str = "serial"
    attempts: int = 1
    host: Optional[str] = None
    node: Optional[str] = None
    node_id: Optional[str] = None
    worker: Optional[int] = None  # the local executor's worker slot
    pid: Optional[int] = None
    cuda_visible_devices: Optional[str] = None
    started_at: Optional[float] = None
    finished_at: Optional[float] = None
    oom_retries: list[dict[str, Any]] = Field(default_factory=list)
    batch_size: Optional[int] = None  # actually used (after out-of-memory back-off)
    gradient_accumulation_steps: Optional[int] = None
    eval_batch_size: Optional[int] = None
    log_file: Optional[str] = None
    race: Optional[Race] = None  # schema 3: the race round that added the run (None: not raced)


class Failure(Block):
    reason: str
    kind: Kind = "code"  # schema 4: the cause class (harness.failure_class)
    cause: Optional[Cause] = None  # schema 4: infrastructure only (worker lost, node lost, pre-empted)
    step: Optional[int] = None  # where training diverged, when known
    traceback: Optional[str] = None

    @model_validator(mode="after")
    def _cause_of_infrastructure(self) -> "Failure":
        if (self.kind == INFRASTRUCTURE) != (self.cause is not None):
            raise ValueError("an infrastructure failure needs a 'cause', and only it has one")
        return self


class Search(Block):
    """A hyperparameter search (harness.search): a trial (scored on validation; never a leaderboard row) or the
    setting it chose, with the space, the strategy and every trial's values and validation score."""

    role: Literal["trial", "chosen"]
    space: dict[str, Any]
    strategy: Literal["grid", "tpe"] = "grid"
    chosen: dict[str, Any] = Field(default_factory=dict)  # the trial's values (trial) or the chosen ones
    n_trials: int = 0
    trials: list[dict[str, Any]] = Field(default_factory=list)  # chosen: {values, validation, status} per trial

    def hashed(self) -> dict[str, Any]:
        """What the job's config hash covers: a trial is its values (in the training options) and its role, so
        searches over overlapping spaces share trials; a chosen setting adds the space and the strategy."""
        if self.role == "trial":
            return {"role": "trial"}
        return {"role": "chosen", "space": self.space, "strategy": self.strategy,
                **({"n_trials": self.n_trials} if self.strategy == "tpe" else {})}


class ResultRecord(Block):
    """Everything one (model, task, method, fold, seed) job produced, or why it failed."""

    schema_version: Literal[4] = SCHEMA_VERSION
    status: Literal["ok", "failed"] = "ok"
    job: JobId
    config: dict[str, Any]  # what the config hash covers
    command: Optional[list[str]] = None  # argv that reproduces this job
    task_info: Optional[TaskInfo] = None
    model_info: Optional[ModelInfo] = None
    data: Optional[DataInfo] = None
    metrics: dict[str, Score] = Field(default_factory=dict)  # on the evaluated split; 'main' = the main score
    breakdown: dict[str, dict[str, float]] = Field(default_factory=dict)  # per class / per entity type
    validation: Optional[Validation] = None
    training: Optional[Training] = None
    timing: Optional[Timing] = None
    tokenizer_stats: dict[str, float] = Field(default_factory=dict)
    predictions_file: Optional[str] = None
    checkpoint: Optional[str] = None
    checkpoint_bytes: Optional[int] = None  # the trained weights the method saved (Method.save; LoRA: the adapter)
    environment: dict[str, Any] = Field(default_factory=dict)
    execution: Optional[Execution] = None
    failure: Optional[Failure] = None
    search: Optional[Search] = None
    created_at: str

    @model_validator(mode="after")
    def _complete(self) -> "ResultRecord":
        if self.status == "ok":
            missing = [k for k in ("task_info", "model_info", "data", "training", "timing") if getattr(self, k) is None]
            if missing or "main" not in self.metrics:
                raise ValueError(f"a successful record needs {', '.join(missing or ['metrics.main'])}")
        elif self.failure is None:
            raise ValueError("a failed record needs 'failure'")
        return self

    @property
    def main(self) -> float:
        return self.metrics["main"]

    def to_json(self) -> str:
        return self.model_dump_json(indent=1, exclude_none=False) + "\n"

    def write(self, path: Path) -> None:
        """Write atomically (a reader never sees half a file)."""
        from .results import write_text

        write_text(path, self.to_json())

    @classmethod
    def read(cls, path: Path) -> "ResultRecord":
        """Read, migrate and validate a record file; RecordError / UnknownSchema with one line naming the file."""
        path = Path(path)
        try:
            raw = json.loads(path.read_bytes())
        except (OSError, ValueError) as e:
            raise RecordError(f"{path}: unreadable ({type(e).__name__})") from None
        return cls.from_raw(raw, path)

    @classmethod
    def from_raw(cls, raw: Any, path: Path) -> "ResultRecord":
        try:
            return cls.model_validate(migrate(raw, path))
        except ValidationError as e:
            err = e.errors()[0]
            where = ".".join(str(x) for x in err["loc"])
            raise RecordError(f"{path}: field '{where}': {err['msg']}") from None


# ---------------------------------------------------------------- migration of older records (the one place)

def migrate(raw: Any, path: Path) -> dict[str, Any]:
    """A record dict of any known schema version as the current one; UnknownSchema for a later version (a newer
    harness wrote it); RecordError for what is no record at all (not a JSON object, no or no valid schema_version:
    `{}`, a list), which is damaged, not newer."""
    if not isinstance(raw, dict):
        raise RecordError(f"{path}: not a result record (a JSON {type(raw).__name__}, expected an object)")
    version = raw.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise RecordError(f"{path}: not a result record (schema_version {version!r}, expected {SCHEMA_VERSION})")
    if version == SCHEMA_VERSION:
        return raw
    if version in (2, 3):  # 2 -> 3 added only optional fields (execution.race), which default to None
        return _classified({**raw, "schema_version": SCHEMA_VERSION})
    if version == 1:
        return _classified(_failure_v1(raw, path) if path.name.endswith(".failed.json") else _ok_v1(raw))
    raise UnknownSchema(f"{path}: schema_version {version}, expected {SCHEMA_VERSION} (or 1 to 3, migrated); "
                        "written by another version of the harness")


def _classified(raw: dict[str, Any]) -> dict[str, Any]:
    """3 -> 4: a failure of kind "error" (or none: schema 1) gets its cause class (failure_class.legacy); the other
    kinds (out_of_memory, diverged) keep theirs."""
    failure = raw.get("failure")
    if not isinstance(failure, dict) or failure.get("kind", "error") != "error":
        return raw
    kind, cause = legacy(str(failure.get("reason") or ""), failure.get("traceback"))
    return {**raw, "failure": {**failure, "kind": kind, "cause": cause}}


def _ok_v1(raw: dict[str, Any]) -> dict[str, Any]:
    """v1 success records: same blocks; the main score's direction was always 'higher' (no lower-is-better metric
    existed), the execution block may be absent, and there was no status."""
    out = {**raw, "schema_version": SCHEMA_VERSION, "status": "ok"}
    out["task_info"] = {**raw.get("task_info", {}), "direction": "higher"}
    return out


def _failure_v1(raw: dict[str, Any], path: Path) -> dict[str, Any]:
    """v1 failure records held the job key as a path string and the error text; rebuild the job block from it."""
    parts = str(raw.get("job", "")).split("/")
    fold = parts[5].removeprefix("fold-") if len(parts) > 5 else None
    job = dict(zip(("model", "revision", "task", "method", "config_hash"), parts[:5]))
    return {"schema_version": SCHEMA_VERSION, "status": "failed",
            "job": {**job, "fold": fold, "seed": raw.get("seed")}, "config": raw.get("config") or {},
            "failure": {"reason": raw.get("error", ""), "traceback": raw.get("traceback")},
            "execution": raw.get("execution"), "created_at": raw.get("created_at", "")}


class SmallFile(Block):
    """A small JSON file its own class writes and reads (a checkpoint's harness_job.json, a run's latency file):
    every failure to read it is one RecordError line naming the file."""

    @staticmethod
    def _raw(path: Path | str, what: str) -> Any:
        try:
            return json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise RecordError(f"{what}: cannot read {path} ({type(e).__name__})") from None

    @classmethod
    def _validated(cls, raw: Any, path: Path | str, what: str) -> Any:
        try:
            return cls.model_validate(raw)
        except ValidationError as e:
            err = e.errors()[0]
            raise RecordError(f"{what}: {path}: field '{'.'.join(map(str, err['loc']))}': {err['msg']}") from None

    def write(self, path: Path) -> None:
        from .results import write_text

        write_text(path, self.model_dump_json(indent=1) + "\n")


class CheckpointInfo(SmallFile):
    """harness_job.json in a checkpoint folder: what built the model, so predict, export and the app need nothing
    else (the task spec is harness_task.json beside it)."""

    schema_version: Literal[2] = CHECKPOINT_SCHEMA_VERSION
    model: dict[str, Any]  # the ModelSpec as run
    adapter: str  # the family's adapter kind (encoder, seq2seq)
    method: str = "finetune"
    fold: Optional[str] = None
    train: dict[str, Any]  # the resolved training options
    seed: int
    config_hash: str

    @classmethod
    def read(cls, path: Path) -> "CheckpointInfo":
        raw = cls._raw(path, "checkpoint")
        version = raw.get("schema_version") if isinstance(raw, dict) else None
        if version == 1:  # v1 had the same fields; 'method' was optional
            raw = {**raw, "schema_version": CHECKPOINT_SCHEMA_VERSION}
        elif version != CHECKPOINT_SCHEMA_VERSION:
            raise UnknownSchema(f"checkpoint: {path}: schema_version {version}, expected "
                                f"{CHECKPOINT_SCHEMA_VERSION} (or 1)")
        return cls._validated(raw, path, "checkpoint")


LATENCY_SCHEMA_VERSION = 1


class LatencyMachine(Block):
    """Where a latency was measured: the figures mean something only beside the machine that gave them."""

    cpu: str  # the CPU's model name (/proc/cpuinfo), or the platform's processor string
    cores: int  # logical cores the machine has
    threads: int  # torch intra-op threads the measurement used
    platform: str
    python: str
    torch: str
    load_1m: Optional[float] = None  # the 1-minute load average when the measurement began: a busy machine shows


class Latency(SmallFile):
    """``latency.seed<k>.json`` beside a result record (harness.latency): the single-input CPU latency of the run's
    kept checkpoint, measured apart from training (a rerun of ``python -m harness latency`` replaces it; the record
    itself is never touched). ``checkpoint`` and ``config_hash`` say which weights were timed."""

    schema_version: Literal[1] = LATENCY_SCHEMA_VERSION
    checkpoint: str  # relative to the output folder, as in the record
    config_hash: str
    backend: str  # torch (the app's default backend for this checkpoint may be ONNX: that is timed by `export`)
    input_id: Optional[str] = None  # the test example timed (the task's median-length input, the same for every model)
    input_chars: int
    warmup: int
    runs: int
    p50_ms: float
    p95_ms: float
    min_ms: float
    iqr_ms: float  # the spread: 75th minus 25th percentile
    machine: LatencyMachine
    measured_at: str

    @classmethod
    def read(cls, path: Path | str) -> "Latency":
        raw = cls._raw(path, "latency")
        version = raw.get("schema_version") if isinstance(raw, dict) else None
        if version != LATENCY_SCHEMA_VERSION:
            raise UnknownSchema(f"latency: {path}: schema_version {version}, expected {LATENCY_SCHEMA_VERSION}")
        return cls._validated(raw, path, "latency")


# ---------------------------------------------------------------- lean reading (the leaderboard's cold build)

@with_config(ConfigDict(extra="ignore"))
class _Unbuilt(TypedDict, total=False):
    """A free-form JSON object (a `dict[str, Any]` field) checked to be an object, its content left unbuilt."""


def _exact_version(value: Any) -> Any:
    """migrate's rule for schema_version (an int, not a bool): JSON validation alone would also take 3.0."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"expected an integer, got {value!r}")
    return value


def _lean_type(tp: Any, keep: dict[str, Any], made: dict) -> Any:
    """``tp`` with every free-form object in it (`dict[str, Any]`, at any depth of Optional / list / block) left
    unbuilt, except what ``keep`` names (a nested dict of field or key names; {} under a name keeps it whole)."""
    origin, args = get_origin(tp), get_args(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return _lean_class(tp, keep, made)
    if origin is dict and args == (str, Any):
        if not keep:
            return _Unbuilt
        return with_config(ConfigDict(extra="ignore"))(TypedDict(  # type: ignore[operator]
            f"Lean_{'_'.join(sorted(keep))}",
            {k: (_lean_type(dict[str, Any], sub, made) if sub else Any) for k, sub in keep.items()}, total=False))
    if origin is list and len(args) == 1:
        inner = _lean_type(args[0], keep, made)
        return tp if inner is args[0] else list[inner]
    if origin in (Union, UnionType):
        inner = tuple(_lean_type(a, keep, made) for a in args)
        return tp if inner == args else Union[inner]
    return tp


def _lean_class(cls: type[BaseModel], keep: dict[str, Any], made: dict) -> type[BaseModel]:
    """A subclass of block ``cls`` (same fields, defaults, validators and config) whose free-form objects are
    checked, not built (see _lean_type)."""
    key = (cls, repr(keep))
    if key not in made:
        fields = {}
        for name, info in cls.model_fields.items():
            if name in keep and not keep[name]:
                continue  # kept whole
            tp = _lean_type(info.annotation, keep.get(name, {}), made)
            if tp is not info.annotation:
                fields[name] = (tp, copy.copy(info))
        if cls is ResultRecord:  # migrate's rule: a version, present, an int (JSON validation would take 3.0)
            fields["schema_version"] = (Annotated[cls.model_fields["schema_version"].annotation,
                                                  BeforeValidator(_exact_version)], ...)
        made[key] = create_model(f"Lean{cls.__name__}", __base__=cls, **fields) if fields else cls
    return made[key]


@functools.lru_cache(maxsize=8)
def _lean_record(keep: str) -> type[ResultRecord]:
    tree: dict[str, Any] = {}
    for path in filter(None, keep.split(",")):
        node = tree
        for part in path.split("."):
            node = node.setdefault(part, {})
    return _lean_class(ResultRecord, tree, {})  # type: ignore[return-value]


def read_lean(path: Path | str, keep: tuple[str, ...] = ()) -> ResultRecord:
    """ResultRecord.read for a reader that needs only the typed blocks and the free-form parts ``keep`` names
    ('config.model', 'search': a field, or a key path into a free-form object): the same record in every typed field
    and in those, and the same RecordError, for every file, but the other free-form parts (config, environment,
    histories...) are only checked to be JSON objects, not built. A record of the current schema is validated
    straight from its bytes; any file that fails that (an older schema to migrate, a damaged file) goes through
    ResultRecord.read, which gives the answer or the error."""
    try:
        return _lean_record(",".join(sorted(keep))).model_validate_json(_read_bytes(path))
    except (OSError, ValueError):
        return ResultRecord.read(Path(path))


def _read_bytes(path: Path | str) -> bytes:
    """A file's bytes with two system calls for a small file (a buffered open costs twice as much per file)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        chunks = [os.read(fd, 1 << 16)]
        while chunks[-1]:
            chunks.append(os.read(fd, 1 << 20))
        return b"".join(chunks)
    finally:
        os.close(fd)
