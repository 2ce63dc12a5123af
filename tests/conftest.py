"""Shared fixtures: no network, tiny local models, the real data folder when present."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_EVALUATE_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# the app's significance cache (leaderboard/sig_cache.py): one fresh folder per test session, never ~/.cache
os.environ.setdefault("HARNESS_CACHE_DIR", tempfile.mkdtemp(prefix="harness-test-cache-"))

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = Path(os.environ.get("HARNESS_DATA_DIR", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> Path:
    """models.yaml listing tiny BERT, ERNIE, ALBERT and T5 models saved locally."""
    from tiny import models_yaml

    return models_yaml(tmp_path_factory.mktemp("tiny-models"))


@pytest.fixture
def data_dir() -> Path:
    if not DATA_DIR.is_dir():
        pytest.skip(f"real data folder {DATA_DIR} not found (set HARNESS_DATA_DIR or place ../shared/data)")
    return DATA_DIR
