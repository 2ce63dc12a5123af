"""The task catalogue: every YAML under harness/tasks (and extra folders), selectable by name or group; and where a
task is checked against the registries as it is loaded (`validate_task`: the task kinds and the metrics; a TaskSpec
itself imports neither).

Every TaskSpec built from user input goes through `validate_task` (task YAMLs here; a checkpoint's
harness_task.json; the task of a result file in the leaderboard), so each gets the same checks and one-line errors.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional

from pydantic import ValidationError

from . import metrics
from .config_files import format_validation_error, read_yaml
from .errors import HarnessError, did_you_mean
from .kinds import TaskKind, load_all as load_kinds
from .specs import CONTEXT_KEY, TaskSpec

TASKS_DIR = Path(__file__).parent / "tasks"


@dataclass(frozen=True)
class Registries:
    """The task kinds and metrics a TaskSpec is checked against (specs.TaskRegistries); raises ValueError with the
    field's problem, which a task file's loading reports in one line (`file: field 'x': ...`)."""

    def check_kind(self, name: str) -> None:
        kinds = load_kinds()
        if name not in kinds:
            raise ValueError(kinds.unknown(name))

    def check_task(self, task: TaskSpec) -> None:
        self.kind(task.kind).check_task(task)

    def check_metrics(self, task: TaskSpec) -> None:
        for m in task.metrics:
            metrics.check_name(m)
        directions = {m: metrics.direction_of(m) for m in task.main_metrics}
        if len(set(directions.values())) > 1:
            raise ValueError(f"main_score mixes directions {directions}: a mean of a higher-is-better and a "
                             "lower-is-better metric ranks nothing; pick metrics of one direction")

    def check_prompt(self, task: TaskSpec) -> None:
        kind = self.kind(task.kind)
        if not kind.label_set:
            labelled = [k.name for k in load_kinds().values() if k.label_set]
            raise ValueError(f"prompt: applies to kinds with a label set ({', '.join(labelled)}), not {task.kind}")
        fields = kind.input_fields
        for name in task.prompt.placeholders():
            if name != "mask" and name not in fields:
                raise ValueError(f"prompt.template: unknown placeholder {{{name}}}; a {task.kind} task has "
                                 f"{', '.join('{' + f + '}' for f in fields)} and {{mask}}"
                                 f"{did_you_mean(name, fields)}")

    def kind(self, name: str) -> TaskKind:
        return load_kinds()[name]

    def direction(self, metric: str) -> str:
        return metrics.direction_of(metric)


REGISTRIES = Registries()


def validate_task(data: Mapping[str, Any]) -> TaskSpec:
    """A TaskSpec from user data, with every check (pydantic's ValidationError, a ValueError, otherwise)."""
    return TaskSpec.model_validate(data, context={CONTEXT_KEY: REGISTRIES})


def load_task_file(path: Path) -> TaskSpec:
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise HarnessError(f"{path}: expected a mapping of task fields, got {type(data).__name__}")
    try:
        return validate_task(data)
    except ValidationError as e:
        raise HarnessError(format_validation_error(path, e)) from None


@dataclass(frozen=True)
class TaskEntry:
    spec: TaskSpec
    path: Path


def discover(extra_dirs: Iterable[Path] = ()) -> dict[str, TaskEntry]:
    """Load every task YAML (strictly); duplicate task names are an error."""
    found: dict[str, TaskEntry] = {}
    extra = [Path(d) for d in extra_dirs]
    for d in extra:
        if not d.is_dir():
            raise HarnessError(f"--task-dir: '{d}' " + ("is a file; expected a folder of task YAMLs" if d.exists()
                                                        else "does not exist; expected a folder of task YAMLs"))
    for root in [TASKS_DIR, *extra]:
        for path in sorted(root.rglob("*.yaml")):
            spec = load_task_file(path)
            if spec.name in found:
                raise HarnessError(f"{path}: field 'name': task '{spec.name}' is also defined in "
                                   f"{found[spec.name].path}")
            found[spec.name] = TaskEntry(spec, path)
    return found


def groups(registry: dict[str, TaskEntry]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, entry in registry.items():
        for g in entry.spec.groups:
            out.setdefault(g, []).append(name)
    return out


def select(registry: dict[str, TaskEntry], selector: Optional[str]) -> list[TaskEntry]:
    """Resolve 'sst2,clue' into task entries (groups expand, order kept, no repeats)."""
    if not selector or not selector.replace(",", "").strip():
        raise HarnessError("--tasks: give task or group names, e.g. --tasks demo or --tasks sst2,clue")
    grp = groups(registry)
    names: list[str] = []
    for token in (t.strip() for t in selector.split(",")):
        if not token:
            continue
        if token in registry:
            names.append(token)
        elif token in grp:
            names.extend(grp[token])
        else:
            raise HarnessError(f"--tasks: unknown task or group '{token}'{did_you_mean(token, [*registry, *grp])}")
    return [registry[n] for n in dict.fromkeys(names)]
