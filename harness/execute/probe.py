"""What every node must see before a distributed grid starts, and the check a probe task runs on each node."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from .. import results

if TYPE_CHECKING:
    from ..plan import Job, RunOptions


def expectations(jobs: list[Job], opts: RunOptions, marker: Optional[str]) -> dict[str, Any]:
    """The driver's view: code version, package versions, folders and model packages the jobs need."""
    env = results.environment("cpu")
    folders = {str(j.task.path.parent) for j in jobs}
    if opts.data_dir is not None:
        folders.add(str(Path(opts.data_dir).resolve()))
    python_models = sorted({j.model.id.removeprefix("python:") for j in jobs
                            if j.model.id and j.model.id.startswith("python:")})
    local_models = sorted({str(Path(r)) for j in jobs for r in (j.model.id, j.model.tokenizer)
                           if r and r.startswith("/")})
    return {"git_sha": env["git_sha"], "harness": env["harness"], "versions": env["versions"],
            "folders": sorted(folders), "python_models": python_models, "local_models": local_models,
            "marker": str(Path(opts.output_dir).resolve() / marker) if marker else None}


def probe_node(expect: dict[str, Any]) -> list[str]:
    """Run on one node: what it lacks compared with the driver (empty when it has everything)."""
    import importlib

    missing = []
    env = results.environment("cpu")
    if env["git_sha"] != expect["git_sha"] or env["harness"] != expect["harness"]:
        missing.append(f"harness {env['harness']} at git {env['git_sha']} (driver: {expect['harness']} at git "
                       f"{expect['git_sha']})")
    differ = [f"{pkg} {env['versions'].get(pkg)} (driver {v})" for pkg, v in expect["versions"].items()
              if env["versions"].get(pkg) != v]
    if differ:
        missing.append("package versions differ: " + ", ".join(differ))
    for folder in expect["folders"]:
        if not Path(folder).is_dir():
            missing.append(f"folder {folder} is missing")
    for path in expect["local_models"]:
        if not Path(path).is_dir():
            missing.append(f"model folder {path} is missing")
    for module in expect["python_models"]:
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(f"model package '{module}' is not installed")
    if expect["marker"] and not Path(expect["marker"]).exists():
        missing.append(f"output folder {Path(expect['marker']).parent} is not shared with the driver "
                       f"(its marker file is not visible; use a shared filesystem or --keep-checkpoints none)")
    return missing
