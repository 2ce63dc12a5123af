"""Offline stand-ins for the Hugging Face Hub (huggingface_hub 2.4), for tests.

    from hub_stub import FolderHub, stub_api, serve, hub_subprocess

- `FolderHub(root)`: Hub repos kept in a folder (tests/hub_stub_store.py: layout; tests/hub_stub_git.py: the LFS rule,
  blob and tree ids as git computes them).
- `stub_api(hub, *, token=True, writable=True, online=True, user="tester")`: an HfApi stand-in with HfApi's exact
  signatures acting on the folder (tests/hub_stub_api.py); tests monkeypatch `harness.publish.api.get_api` with it.
- `serve(root)`: a local HTTP server with the Hub's read routes over the folder, yields the endpoint URL
  (tests/hub_server.py); real huggingface_hub talks to it in a `hub_subprocess`.
- `hub_subprocess(code, endpoint, env=None, timeout=120)`: run Python code with HF_ENDPOINT=endpoint, online.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Optional

from hub_server import serve
from hub_stub_api import stub_api
from hub_stub_git import DEFAULT_GITATTRIBUTES, git_blob_sha1, is_lfs, lfs_pointer
from hub_stub_store import FolderHub, HubError

__all__ = ["FolderHub", "HubError", "stub_api", "serve", "hub_subprocess", "git_blob_sha1", "lfs_pointer", "is_lfs",
           "DEFAULT_GITATTRIBUTES"]

REPO = Path(__file__).resolve().parents[1]
_OFFLINE_VARS = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_EVALUATE_OFFLINE")


def hub_subprocess(code: str, endpoint: str, env: Optional[dict[str, Optional[str]]] = None,
                   timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `python -c code` (this interpreter) online against `endpoint`: HF_HUB_OFFLINE & co unset, HF_ENDPOINT set,
    HF_HOME a fresh temporary folder, HF_TOKEN a dummy token (override or drop it with env={"HF_TOKEN": ...}; a value
    of None removes a variable), cwd = the repo root, PYTHONPATH = repo root + tests/. Returns the CompletedProcess
    (text); check `returncode` and read `stderr` yourself."""
    with tempfile.TemporaryDirectory(prefix="hf-home-") as home:
        full = {k: v for k, v in os.environ.items() if k not in _OFFLINE_VARS and not k.startswith("HF_")}
        full.update(HF_ENDPOINT=endpoint, HF_HOME=home, HF_TOKEN="hf_dummy_token_for_tests",
                    HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_DISABLE_PROGRESS_BARS="1",
                    PYTHONPATH=os.pathsep.join(p for p in (str(REPO), str(REPO / "tests"),
                                                           os.environ.get("PYTHONPATH")) if p))
        for k, v in (env or {}).items():
            if v is None:
                full.pop(k, None)
            else:
                full[k] = v
        return subprocess.run([sys.executable, "-c", code], cwd=REPO, env=full, capture_output=True, text=True,
                              timeout=timeout)
