"""Result files on disk: paths, atomic writes, environment (versions, git sha). The record itself: harness.record."""
from __future__ import annotations

import gzip
import hashlib
import importlib.metadata
import json
import os
import platform
import subprocess
import tempfile
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Optional

PACKAGES = ("torch", "transformers", "tokenizers", "datasets", "accelerate", "scikit-learn", "scipy", "seqeval",
            "numpy", "pydantic")


def job_key(model: str, revision: str, task: str, method: str, chash: str) -> Path:
    """The shared relative path of a job's results and checkpoints: <model>/<revision>/<task>/<method>/<hash>."""
    safe_rev = revision.replace("/", "--")
    return Path(model) / safe_rev / task / method / chash


def result_path(output_dir: Path, key: Path, seed: int) -> Path:
    return Path(output_dir) / "results" / key / f"seed{seed}.json"


def predictions_path(result_file: Path) -> Path:
    return result_file.with_name(result_file.stem + ".predictions.jsonl.gz")


def failure_path(result_file: Path) -> Path:
    return result_file.with_name(result_file.stem + ".failed.json")


def log_path(result_file: Path) -> Path:
    """The job's own log (Trainer steps, warnings), beside its result."""
    return result_file.with_name(result_file.stem + ".log")


def checkpoint_dir(output_dir: Path, key: Path, seed: int) -> Path:
    return Path(output_dir) / "checkpoints" / key / f"seed{seed}"


def _atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str) -> None:
    """Write text atomically."""
    _atomic(Path(path), text.encode("utf-8"))


def write_json(path: Path, obj: Any) -> None:
    """Write JSON atomically (temp file + rename): a reader never sees half a file."""
    _atomic(Path(path), (json.dumps(obj, ensure_ascii=False, indent=1, default=str) + "\n").encode())


def write_predictions(path: Path, rows: Iterable[dict]) -> None:
    """Per-example predictions as gzipped JSON lines, atomically."""
    lines = "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in rows)
    _atomic(Path(path), gzip.compress(lines.encode(), mtime=0))


def read_predictions(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@lru_cache(maxsize=1)
def git_sha() -> Optional[str]:
    """The harness checkout's commit, with '-dirty-<hash of the diff>' when tracked files have uncommitted changes
    (two checkouts with different edits differ here, which the Ray probe compares), or None."""
    root = Path(__file__).resolve().parent.parent
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5)
        if sha.returncode != 0:
            return None
        diff = subprocess.run(["git", "diff", "HEAD", "--no-color", "--no-ext-diff"], cwd=root,
                              capture_output=True, timeout=10).stdout
        return sha.stdout.strip() + (f"-dirty-{hashlib.sha256(diff).hexdigest()[:8]}" if diff.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def environment(device: str) -> dict[str, Any]:
    """Library versions, git sha, python, platform and device of this run."""
    versions = {}
    for pkg in PACKAGES:
        try:
            versions[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            versions[pkg] = None
    from . import __version__

    env = {"harness": __version__, "git_sha": git_sha(), "python": platform.python_version(),
           "platform": platform.platform(), "versions": versions, "device": device,
           "host": platform.node(), "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES")}
    if device == "cuda":
        import torch

        env["gpu"] = torch.cuda.get_device_name(0)
    return env


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def read_json(path: Path) -> Any:
    with open(path, encoding="utf-8") as f:
        return json.load(f)
