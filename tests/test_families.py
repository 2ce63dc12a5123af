"""Model families are validated data (harness/families.py), and a model is resolved once per plan."""
from __future__ import annotations

from pathlib import Path

import pytest

from harness import families, models
from harness.models import load_models_file
from harness.errors import HarnessError
from harness.plan import RunOptions, plan
from harness.catalog import discover


def test_families_yaml_is_read_into_strict_typed_values(tmp_path):
    assert families.family_names() == ("bert", "ernie", "albert", "t5")
    assert families.adapter_kinds() == ["encoder", "seq2seq"]
    t5 = families.FAMILIES["t5"]
    assert t5.adapter == "seq2seq" and t5.train.values == {"learning_rate": 3.0e-4}
    assert t5.lora.target_modules == ["q", "v"]
    bad = tmp_path / "families.yaml"
    bad.write_text("bert:\n  adapter: encoder\n  random_config: {}\n  lora: {target_module: [q]}\n")
    with pytest.raises(HarnessError, match=r"families.yaml: field 'bert.lora.target_module': unknown key"):
        families._load(bad)


def test_a_models_file_family_is_checked_against_the_registry(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text("models:\n  - {name: m, id: prajjwal1/bert-tiny, family: bret}\n")
    with pytest.raises(HarnessError) as e:
        load_models_file(path)
    assert str(e.value) == f"{path}: field 'models.0.family': Input should be 'bert', 'ernie', 'albert' or 't5'"


def test_one_model_is_resolved_once_per_plan(tiny_models: Path, monkeypatch):
    calls = {"tokenizer_for": 0, "family": 0, "revision_label": 0, "model_config": 0}
    for name in calls:
        real = getattr(models, name)

        def counted(*a, _real=real, _name=name, **kw):
            calls[_name] += 1
            return _real(*a, **kw)

        monkeypatch.setattr(models, name, counted)
    specs = [m for m in load_models_file(tiny_models) if m.name == "tiny-bert"]
    reg = discover([])
    opts = RunOptions(output_dir=Path("/nonexistent"), max_train_samples=8)
    jobs, _ = plan(specs, [reg["demo_sentiment"], reg["demo_ner"]], opts)
    assert len(jobs) == 2 and {(j.revision, j.family.adapter) for j in jobs} == {("local", "encoder")}
    assert calls == {"tokenizer_for": 1, "family": 1, "revision_label": 1, "model_config": 1}
