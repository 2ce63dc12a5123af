"""Shared fixture for the predict/export tests: tiny checkpoints made by the harness CLI (built once per session)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

SMOKE = ["--max-train-samples", "24", "--max-eval-samples", "16", "--max-steps", "2", "--quiet"]
# tiny-bert runs every encoder head (and a pair task); the other families only sentiment
RUNS = (("tiny-bert", "demo_sentiment,demo_ner,demo_qa,demo_paraphrase"),
        ("tiny-ernie,tiny-albert,tiny-t5", "demo_sentiment"))
_CACHE: dict[str, Path] = {}


@pytest.fixture(scope="session")
def tiny_checkpoints(tiny_models, tmp_path_factory) -> dict[tuple[str, str], Path]:
    """{(model, task): checkpoint folder}; treat them as read-only (copy with `fresh_copy` before exporting)."""
    from harness.cli import main

    if "out" not in _CACHE:
        out = tmp_path_factory.mktemp("export-ckpts") / "out"
        for models, tasks in RUNS:
            rc = main(["run", "--models", str(tiny_models), "--only-models", models, "--tasks", tasks,
                       "--output-dir", str(out), *SMOKE])
            assert rc == 0, f"harness run failed with exit code {rc}"
        _CACHE["out"] = out
    found = {}
    for seed_dir in (_CACHE["out"] / "checkpoints").glob("*/*/*/finetune/*/seed*"):
        model, task = seed_dir.parts[-6], seed_dir.parts[-4]
        found[(model, task)] = seed_dir
    return found


def fresh_copy(src: Path, dst_root: Path) -> Path:
    """A private copy of a checkpoint folder (an export writes into the folder it exports)."""
    dst = dst_root / "-".join(src.parts[-6:-4] + src.parts[-4:-3])
    shutil.copytree(src, dst)
    return dst
