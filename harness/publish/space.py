"""`python -m harness space`: create or update a Gradio Space that serves published results.

The Space gets, in ONE commit: app.py, webapp/ (the app, with the bundled sample), leaderboard/, the harness
package (what the app imports; no __pycache__), space/requirements.txt as its requirements.txt (what the app needs to
serve, no training-only packages) and a README.md whose front matter (built with huggingface_hub's SpaceCardData)
says: sdk gradio at the installed gradio version, app_file app.py, this Python's version. Then its variable RESULTS is
set to the hf://datasets/ORG/NAME[@rev] it should read. Like push, only what differs from the Space's tree is
uploaded (files under webapp/, leaderboard/ and harness/ gone locally are deleted there) and a rerun with nothing
changed makes no commit. A name that exists as another repo type or as a Space with another SDK is refused (one
line, exit 2).
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

from . import api as hub
from .push import Content, operations, remote_files

log = logging.getLogger(__name__)
REPO = Path(__file__).resolve().parents[2]
REQUIREMENTS = REPO / "space" / "requirements.txt"
PACKAGES = ("webapp", "leaderboard", "harness")  # folders uploaded whole (mirrored: files gone locally deleted there)
SKIP_PARTS = {"__pycache__", "outputs", "tests", ".pytest_cache", ".ipynb_checkpoints"}
SKIP_SUFFIXES = (".pyc", ".pyo", ".tmp")
VARIABLE = "RESULTS"
SDK = "gradio"
TEMPLATE = """---
{{ card_data }}
---

# {{ title }}

A leaderboard of fine-tuned models, served by this repository's `app.py` from the published results
`{{ results }}` (the Space variable `RESULTS`; change it in the Space's settings or rerun
`python -m harness space`). Deployed with `python -m harness space --space {{ space }} --results {{ results }}`.
"""


def space_files(results: str, space: str) -> dict[str, Content]:
    """path in the Space -> local file or bytes: app.py, webapp/, leaderboard/, harness/, requirements.txt and
    README.md."""
    files: dict[str, Content] = {"app.py": REPO / "app.py", "requirements.txt": REQUIREMENTS}
    for pkg in PACKAGES:
        for path in sorted((REPO / pkg).rglob("*")):
            rel = path.relative_to(REPO)
            if path.is_file() and not SKIP_PARTS.intersection(rel.parts) and not path.name.startswith(".") \
                    and not path.name.endswith(SKIP_SUFFIXES):
                files[rel.as_posix()] = path
    files["README.md"] = readme(results, space).encode("utf-8")
    return files


def readme(results: str, space: str) -> str:
    """The Space's README.md: front matter from SpaceCardData (rendered by huggingface_hub's card template)."""
    import gradio
    from huggingface_hub import SpaceCard, SpaceCardData

    title = space.split("/", 1)[1]
    data = SpaceCardData(title=title, sdk=SDK, sdk_version=gradio.__version__, app_file="app.py",
                         python_version=f"{sys.version_info.major}.{sys.version_info.minor}", emoji="📊",
                         colorFrom="blue", colorTo="indigo", pinned=False, short_description="model leaderboard")
    return str(SpaceCard.from_template(data, template_str=TEMPLATE, title=title, results=results, space=space))


def deploy(space: str, results: str, private: bool = False) -> str:
    """Create or update the Space (module docstring); returns what was done and the Space's URL. Hub and network
    problems raise HarnessError with one line; nothing is written before the token and the name are checked."""
    where = f"space {space}"
    api = hub.get_api()
    url = f"{hub.endpoint()}/spaces/{space}"
    with hub.hub_errors(where):
        api.whoami()
        exists = hub.check_repo_type(api, space, "space", sdk=SDK)
        files = space_files(results, space)
        remote = remote_files(api, space, "space") if exists else {}
        ops = operations(files, remote, mirror=tuple(f"{p}/" for p in PACKAGES))
        if not exists:
            api.create_repo(space, repo_type="space", space_sdk=SDK, private=private, exist_ok=True)
        if ops:
            api.create_commit(space, ops, repo_type="space",
                              commit_message=f"harness space: app, {len(files)} files (RESULTS={results})")
        current: Any = api.get_space_variables(space).get(VARIABLE) if exists else None
        var_changed = getattr(current, "value", None) != results
        if var_changed:
            api.add_space_variable(space, VARIABLE, results,
                                   description="the published results this app reads (python -m harness space)")
    what = f"{len(ops)} of {len(files)} files changed in one commit" if ops else "files unchanged"
    var = f"{VARIABLE}={results}" + (" (set)" if var_changed else " (unchanged)")
    log.info("space %s: %s; %s", space, what, var)
    return f"space: {url}: {what}; {var}"
