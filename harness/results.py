"""Result files on disk: paths, atomic writes, environment (versions, git sha). The record itself: harness.record."""
from __future__ import annotations

import gzip
import hashlib
import importlib.metadata
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import time
import tempfile
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Optional

VERSION = "0.1.0"  # the harness's version, recorded in every result (environment.harness)

PACKAGES = ("torch", "transformers", "tokenizers", "datasets", "accelerate", "scikit-learn", "scipy", "seqeval",
            "numpy", "pydantic")


def confined(root: Path | str, rel: Optional[str]) -> Optional[Path]:
    """The real path of ``rel`` (a path a result file names, e.g. its checkpoint) when it lies inside ``root`` with
    every link followed, and, for a folder, every file below it too; None otherwise. Absolute paths, '..' that climb
    out and links that point out are all outside: a result file is data, not a permission."""
    from pathlib import PureWindowsPath

    if not rel or Path(rel).is_absolute() or PureWindowsPath(rel).drive:
        return None
    base = os.path.realpath(root)

    def inside(path: str) -> bool:
        real = os.path.realpath(path)
        return os.path.commonpath([base, real]) == base

    target = os.path.join(base, rel)
    if not inside(target):
        return None
    if os.path.isdir(target):
        for folder, dirs, files in os.walk(target, followlinks=False):
            if not all(inside(os.path.join(folder, n)) for n in (*dirs, *files)):
                return None
    return Path(os.path.realpath(target))


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


def latency_path(result_file: Path) -> Path:
    """The run's measured CPU latency (harness.record.Latency), beside its result (``latency.seed<k>.json``):
    refreshed without touching the record; not a seed* file, so nothing that reads records takes it for one."""
    return result_file.with_name(LATENCY_PREFIX + result_file.name)


LATENCY_PREFIX = "latency."


def log_path(result_file: Path) -> Path:
    """The job's own log (Trainer steps, warnings), beside its result."""
    return result_file.with_name(result_file.stem + ".log")


def checkpoint_dir(output_dir: Path, key: Path, seed: int) -> Path:
    return Path(output_dir) / "checkpoints" / key / f"seed{seed}"


LEFTOVER_AGE_S = 600  # a temporary file of another host's writer this old is a leftover
_TMP = re.compile(r"^\..+\.(?P<host>[A-Za-z0-9_-]+)-(?P<pid>\d+)\.(?:[^.]*\.)?tmp$")


def writer_tag() -> str:
    """`<host>-<pid>`: put in every temporary name, so a later run can tell whether its writer is gone."""
    return f"{re.sub(r'[^A-Za-z0-9_-]', '_', socket.gethostname())[:40]}-{os.getpid()}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def remove_leftovers(output_dir: Path, max_age_s: float = LEFTOVER_AGE_S) -> list[Path]:
    """Remove the temporary files and folders (`.<name>.<host>-<pid>.….tmp`) that killed writes left under an output
    folder. Several harness processes may share the folder, so only a leftover whose writer is gone is removed: on
    this host, when its PID no longer runs; from another host (or without a writer tag), when older than
    `max_age_s`. Returns what was removed."""
    here, now, removed = writer_tag().rsplit("-", 1)[0], time.time(), []
    for folder, dirs, files in os.walk(output_dir):
        for name in [n for n in (*dirs, *files) if n.startswith(".") and n.endswith(".tmp")]:
            path = Path(folder) / name
            m = _TMP.match(name)
            try:
                age = now - path.stat().st_mtime
            except OSError:
                continue
            gone = (not _pid_alive(int(m["pid"]))) if m and m["host"] == here else age > max_age_s
            if gone:
                shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
                removed.append(path)
        dirs[:] = [d for d in dirs if not (d.startswith(".") and d.endswith(".tmp"))]
    return removed


def move_aside(path: Path) -> Path:
    """Rename a damaged file to `<name>.corrupt` (or `<name>.<n>.corrupt` when that exists) and return the new path;
    no reader takes it for a result, and nothing is deleted."""
    target, n = path.with_name(path.name + ".corrupt"), 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.{n}.corrupt")
    os.replace(path, target)
    return target


def _atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{writer_tag()}.", suffix=".tmp")
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
    """The rows of a predictions file (JSON Lines, gzip), parsed as one JSON array (three times faster than a
    parse per line; the app and the decision read every run's file)."""
    with gzip.open(path, "rb") as f:
        lines = [line for line in f.read().splitlines() if line.strip()]
    return json.loads(b"[" + b",".join(lines) + b"]")


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
    env = {"harness": VERSION, "git_sha": git_sha(), "python": platform.python_version(),
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
