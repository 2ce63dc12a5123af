"""The task catalogue: every YAML under harness/tasks (and extra folders), selectable by name or group."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

from .errors import HarnessError, did_you_mean
from .config_files import load_task_file
from .specs import TaskSpec

TASKS_DIR = Path(__file__).parent / "tasks"


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
