"""What every node must see before a distributed grid starts, the check a probe task runs on each node, and what a
probe that could not run says."""
from __future__ import annotations

import re
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
            "hub_models": sorted({ref for j in jobs for ref in hub_refs(j)}),
            "marker": str(Path(opts.output_dir).resolve() / marker) if marker else None}


def hub_refs(job: Job) -> list[tuple[str, str]]:
    """(repo id, revision) of what the job loads from the Hub: the model's weights and its tokenizer (the same rule
    as models.resolve_ref: not a python: package, not a local folder)."""
    spec = job.model
    refs = [(spec.id, spec.revision or "main")] if spec.id and spec.init == "pretrained" else []
    if spec.tokenizer or spec.id:
        refs.append((spec.tokenizer, "main") if spec.tokenizer else (spec.id, spec.revision or "main"))
    return sorted({(r, rev) for r, rev in refs
                   if not r.startswith(("python:", ".", "/", "~")) and not Path(r).expanduser().exists()})


def hub_model_missing(repo: str, revision: str) -> Optional[str]:
    """Why this node cannot load a Hub model (None: it can): not in the local Hugging Face cache, and offline or the
    Hub does not answer. Only files are looked at, or one metadata call with a timeout when online."""
    from huggingface_hub import constants

    folder = Path(constants.HF_HUB_CACHE) / f"models--{repo.replace('/', '--')}"
    snapshot = folder / "snapshots" / revision
    ref = folder / "refs" / revision
    if snapshot.is_dir() or (ref.is_file() and (folder / "snapshots" / ref.read_text().strip()).is_dir()):
        return None
    if constants.HF_HUB_OFFLINE:
        return (f"Hub model '{repo}' (revision {revision}) is not in its Hugging Face cache "
                f"{constants.HF_HUB_CACHE} and HF_HUB_OFFLINE=1")
    try:
        from huggingface_hub import auth_check

        auth_check(repo)
    except Exception as e:  # noqa: BLE001 - any reason the Hub does not hand it over
        first = str(e).strip().splitlines()[0][:160] if str(e).strip() else ""
        return f"Hub model '{repo}' is not cached and the Hub does not give it ({type(e).__name__}: {first})"
    return None


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
    for repo, revision in expect.get("hub_models", ()):
        why = hub_model_missing(repo, revision)
        if why:
            missing.append(why)
    if expect["marker"] and not Path(expect["marker"]).exists():
        missing.append(f"output folder {Path(expect['marker']).parent} is not shared with the driver "
                       f"(its marker file is not visible; use a shared filesystem or --keep-checkpoints none)")
    return missing


IMPORT_ADVICE = ("every node needs the checkout on its PYTHONPATH (Ray hands workers only the driver's working "
                 "directory and its script's folder: docs/scaling.md)")
_ERROR_LINE = re.compile(r"^(\w+(?:Error|Exception)): (.+)$", re.M)


def probe_failure(error: BaseException) -> str:
    """What a probe task that raised instead of answering says, as one clause: the node could not import the
    harness (Ray unpickles the probe by importing its module), or the probe itself failed, or its worker died."""
    text = str(error)
    found = _ERROR_LINE.findall(text)
    cause = f"{found[-1][0]}: {found[-1][1].strip()[:200]}" if found else type(error).__name__
    if "failed to import on the worker" in text:
        module = re.search(r"No module named '([^']+)'", text)
        what = module.group(1).split(".")[0] if module else "the harness"
        return f"cannot import {what}: {cause}; {IMPORT_ADVICE}"
    if "RayTaskError" in type(error).__name__:
        return f"the probe failed there: {cause}"
    first = text.strip().splitlines()[0][:200] if text.strip() else ""
    return f"the probe task was lost ({type(error).__name__}{': ' + first if first else ''})"
