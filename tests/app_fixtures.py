"""Shared fixtures for the app tests: a tiny results folder made by the harness CLI, and variants of it."""
from __future__ import annotations

import gzip
import json
import shutil
import socket
from pathlib import Path

import pytest

TASKS = "demo_sentiment,demo_ner,demo_qa"


def free_port() -> int:
    """A port on 127.0.0.1 nothing listens on now (for an app served by a test)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
_CACHE: dict[str, Path] = {}


def make_results(models_yaml: Path, out: Path) -> Path:
    """Run the harness CLI with tiny models on three demo tasks (2 seeds, 2 steps): results/, checkpoints/."""
    from harness.cli import main

    rc = main(["run", "--models", str(models_yaml), "--tasks", TASKS, "--output-dir", str(out),
               "--max-train-samples", "24", "--max-eval-samples", "16", "--max-steps", "2", "--seeds", "1,2",
               "--quiet"])
    assert rc == 0, f"harness run failed with exit code {rc}"
    return out


def clone_model(root: Path, src: str, new: str, task: str, oracle: bool = False) -> None:
    """Copy model src's results (and checkpoints) on a task under a new model name; oracle: predictions = gold."""
    for kind in ("results", "checkpoints"):
        base = root / kind / src
        if not base.is_dir():
            continue
        for task_dir in base.glob(f"*/{task}"):
            dest = root / kind / new / task_dir.relative_to(base)
            shutil.copytree(task_dir, dest, dirs_exist_ok=True)
    for rfile in (root / "results" / new).rglob("seed*.json"):
        if rfile.name.endswith(".failed.json"):
            continue
        rec = json.loads(rfile.read_text(encoding="utf-8"))
        rec["job"]["model"] = new
        if rec.get("checkpoint"):
            rec["checkpoint"] = rec["checkpoint"].replace(f"checkpoints/{src}/", f"checkpoints/{new}/", 1)
        pfile = rfile.with_name(rfile.stem + ".predictions.jsonl.gz")
        if oracle:
            rows = [json.loads(line) for line in gzip.open(pfile, "rt", encoding="utf-8")]
            for r in rows:
                r["prediction"] = r["gold"]
            pfile.write_bytes(gzip.compress("".join(json.dumps(r, ensure_ascii=False) + "\n"
                                                    for r in rows).encode()))
            rec["metrics"] = {**rec["metrics"], "accuracy": 1.0, "main": 1.0}
        rfile.write_text(json.dumps(rec, ensure_ascii=False), encoding="utf-8")


@pytest.fixture(scope="session")
def tiny_results(tiny_models, tmp_path_factory) -> Path:
    """A results folder produced by the harness CLI with tiny local models (built once per session)."""
    if "base" not in _CACHE:
        _CACHE["base"] = make_results(tiny_models, tmp_path_factory.mktemp("app-results") / "out")
    return _CACHE["base"]


@pytest.fixture(scope="session")
def sig_results(tiny_results, tmp_path_factory) -> Path:
    """tiny_results plus 'oracle' (always right on demo_sentiment) and 'twin' (a copy of tiny-bert)."""
    if "sig" not in _CACHE:
        root = tmp_path_factory.mktemp("app-sig") / "out"
        shutil.copytree(tiny_results, root)
        clone_model(root, "tiny-bert", "oracle", "demo_sentiment", oracle=True)
        clone_model(root, "tiny-bert", "twin", "demo_sentiment")
        _CACHE["sig"] = root
    return _CACHE["sig"]
