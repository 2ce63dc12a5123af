"""The lora method: what trains, what a checkpoint holds, reload through predict / merged weights / ONNX, T5, NER
and QA, the leaderboard's size columns, option errors."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from harness import results
from harness.checkpoint import load_checkpoint
from harness.cli import main
from harness.record import ResultRecord

SMOKE = ["--max-train-samples", "24", "--max-eval-samples", "16", "--max-steps", "3", "--learning-rate", "5e-3",
         "--quiet"]
RUNS = (("tiny-bert", "demo_sentiment,demo_ner,demo_qa", "lora"), ("tiny-bert", "demo_sentiment", "finetune"),
        ("tiny-t5", "demo_sentiment", "lora"))


@pytest.fixture(scope="module")
def out(tiny_models, tmp_path_factory) -> Path:
    """tiny-bert with LoRA on a classification, an NER and a QA task, fine-tuned on the first; tiny-t5 with LoRA."""
    out = tmp_path_factory.mktemp("lora") / "out"
    for model, tasks, method in RUNS:
        assert main(["run", "--models", str(tiny_models), "--only-models", model, "--tasks", tasks, "--methods",
                     method, "--output-dir", str(out), *SMOKE]) == 0
    return out


def record(out: Path, model: str, task: str, method: str = "lora") -> tuple[Path, ResultRecord]:
    (path,) = (out / "results" / model).glob(f"*/{task}/{method}/*/seed42.json")
    return path, ResultRecord.read(path)


def checkpoint(out: Path, model: str, task: str, method: str = "lora") -> Path:
    return out / record(out, model, task, method)[1].checkpoint


def base_path(tiny_models: Path, model: str) -> Path:
    return tiny_models.parent / model


def tiny_spec(tiny_models: Path, name: str):
    from harness.models import load_models_file

    return next(m for m in load_models_file(tiny_models) if m.name == name)


def test_only_the_adapter_and_the_head_train(tiny_models):
    """requires_grad: LoRA A/B on query and value, and the head's trainable copy; nothing of the base."""
    from harness import models
    from harness.adapters import make_adapter
    from harness.methods import get_method
    from harness.trainconfig import TrainConfig
    from harness.catalog import discover

    spec = tiny_spec(tiny_models, "tiny-bert")
    task = discover([])["demo_sentiment"].spec
    tok = models.tokenizer_for(spec)
    for r in (8, 2):
        adapter = make_adapter("encoder", task, tok, TrainConfig(lora_r=r))
        model = get_method("lora").build(adapter, spec, tok, 42)
        trained = {n: p.numel() for n, p in model.named_parameters() if p.requires_grad}
        assert all(".lora_A." in n or ".lora_B." in n or "classifier.modules_to_save" in n for n in trained), trained
        assert {n.split(".")[-4] for n in trained if "lora_" in n} == {"query", "value"}
        # 2 layers x (query, value) x (A: r x 32 + B: 32 x r), plus the head (32 x 2 + 2)
        assert sum(trained.values()) == 2 * 2 * 2 * 32 * r + 66


def test_a_hub_base_gets_no_merged_copy(tiny_models, tmp_path):
    """merged/ only where the base cannot be fetched again: a Hub id's checkpoint is the adapter alone."""
    from harness import models
    from harness.adapters import make_adapter
    from harness.methods import get_method
    from harness.specs import ModelSpec
    from harness.trainconfig import TrainConfig
    from harness.catalog import discover

    hub = ModelSpec(name="h", id="google-bert/bert-base-uncased", family="bert")
    assert models.from_hub(hub) and not models.from_hub(tiny_spec(tiny_models, "tiny-bert"))
    assert not models.from_hub(ModelSpec(name="r", init="random", family="bert", tokenizer="x"))
    spec = tiny_spec(tiny_models, "tiny-bert")
    tok = models.tokenizer_for(spec)
    adapter = make_adapter("encoder", discover([])["demo_sentiment"].spec, tok, TrainConfig())
    model = get_method("lora").build(adapter, spec, tok, 0)
    model.harness_portable = False  # as build() marks a Hub base
    size = get_method("lora").save(tmp_path / "c", model, tok)
    assert size == (tmp_path / "c" / "adapter_model.safetensors").stat().st_size
    assert not (tmp_path / "c" / "merged").exists() and not (tmp_path / "c" / "README.md").exists()


def test_head_weights_change_and_base_weights_do_not(out, tiny_models):
    from transformers import AutoModelForSequenceClassification

    from harness import models

    ckpt = checkpoint(out, "tiny-bert", "demo_sentiment")
    merged = load_file(ckpt / "merged" / "model.safetensors")
    base = load_file(base_path(tiny_models, "tiny-bert") / "model.safetensors")
    for key, value in base.items():
        name = "bert." + key if "bert." + key in merged else key
        if key.endswith((".query.weight", ".value.weight")):
            assert not torch.equal(merged[name], value), key  # the LoRA update, merged in (biases stay)
        elif "pooler" not in key:  # the pooler is not in the checkpoint
            assert torch.equal(merged[name], value), key
    spec = tiny_spec(tiny_models, "tiny-bert")
    names = ["negative", "positive"]
    initial = models.load_model(spec, AutoModelForSequenceClassification, models.tokenizer_for(spec), 42,
                                num_labels=2, id2label=dict(enumerate(names)), label2id={n: i for i, n in
                                                                                         enumerate(names)})
    assert not torch.allclose(merged["classifier.weight"], initial.classifier.weight.detach())


def test_checkpoint_holds_an_adapter_naming_its_base(out, tiny_models):
    path, rec = record(out, "tiny-bert", "demo_sentiment")
    ckpt = out / rec.checkpoint
    config = json.loads((ckpt / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == str(base_path(tiny_models, "tiny-bert"))
    assert config["revision"] is None and config["peft_type"] == "LORA"
    assert sorted(config["target_modules"]) == ["query", "value"] and config["modules_to_save"] == ["classifier"]
    assert not (ckpt / "model.safetensors").exists() and (ckpt / "config.json").is_file()
    assert rec.checkpoint_bytes == (ckpt / "adapter_model.safetensors").stat().st_size
    assert (ckpt / "merged" / "model.safetensors").is_file()  # a local base: the checkpoint runs without it
    _, full = record(out, "tiny-bert", "demo_sentiment", "finetune")
    assert full.checkpoint_bytes == (out / full.checkpoint / "model.safetensors").stat().st_size
    assert rec.checkpoint_bytes < full.checkpoint_bytes / 5
    assert rec.model_info.trainable_parameters == 2 * 2 * 2 * 32 * 8 + 66 < full.model_info.trainable_parameters


def test_predict_reloads_the_checkpoint_with_identical_predictions(out, tmp_path):
    path, rec = record(out, "tiny-bert", "demo_sentiment")
    saved = results.read_predictions(results.predictions_path(path))
    inputs = tmp_path / "in.jsonl"
    inputs.write_text("".join(json.dumps(r["input"]) + "\n" for r in saved), encoding="utf-8")
    assert main(["predict", "--checkpoint", str(out / rec.checkpoint), "--input", str(inputs), "--output",
                 str(tmp_path / "p.jsonl"), "--quiet"]) == 0
    again = [json.loads(line) for line in (tmp_path / "p.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["prediction"] for r in again] == [r["prediction"] for r in saved]
    for a, b in zip(again, saved):
        assert a["scores"] == pytest.approx(b["scores"], abs=1e-5)


def test_merged_weights_and_base_plus_adapter_give_the_same_logits(out, tmp_path):
    """Without merged/ the loader takes the base model (as training did) and merges the adapter in; then ONNX."""
    from harness.export import export_checkpoint

    ckpt = checkpoint(out, "tiny-bert", "demo_sentiment")
    bare = tmp_path / "bare"
    shutil.copytree(ckpt, bare, ignore=shutil.ignore_patterns("merged"))
    adapter, merged = load_checkpoint(ckpt, backend="torch")
    _, rebuilt = load_checkpoint(bare, backend="torch")
    assert type(merged) is type(rebuilt) and not hasattr(rebuilt, "peft_config")
    batch = adapter.tok(["the food was very good", "bad service , not fresh"], padding=True, return_tensors="pt")
    with torch.no_grad():
        assert torch.allclose(merged(**batch).logits, rebuilt(**batch).logits, atol=1e-6)
    pytest.importorskip("onnxruntime")
    report = export_checkpoint(bare, latency_runs=0, latency_threads=(1,), max_eval_samples=16)
    assert report["verification"]["max_abs_logit_diff"]["onnx_fp32"] < 1e-4
    assert backend_of(bare) == "onnx fp32"


def backend_of(folder: Path) -> str:
    from harness.checkpoint import backend_name

    return backend_name(load_checkpoint(folder)[1])


def test_t5_text_to_text_trains_lora_only(out):
    """No task head: LoRA on q and v of every attention block; the LM head and embeddings stay frozen."""
    path, rec = record(out, "tiny-t5", "demo_sentiment")
    ckpt = out / rec.checkpoint
    # encoder self-attention (2 layers) + decoder self- and cross-attention (2 layers), q and v, r=8, d=32
    assert rec.model_info.trainable_parameters == (2 + 2 * 2) * 2 * 8 * (32 + 32)
    keys = load_file(ckpt / "adapter_model.safetensors")
    assert keys and all("lora_" in k for k in keys)
    assert json.loads((ckpt / "adapter_config.json").read_text())["modules_to_save"] is None
    adapter, model = load_checkpoint(ckpt)
    saved = results.read_predictions(results.predictions_path(path))
    again = adapter.predict(model, [{"id": r["id"], **r["input"]} for r in saved], 8)
    assert [p["prediction"] for p in again] == [r["prediction"] for r in saved]


@pytest.mark.parametrize("task, head", [("demo_ner", "classifier"), ("demo_qa", "qa_outputs")])
def test_ner_and_qa_train_their_own_head(out, task, head):
    _, rec = record(out, "tiny-bert", task)
    assert rec.status == "ok" and rec.job.method == "lora" and rec.data.sizes["test"] == 16
    ckpt = out / rec.checkpoint
    assert json.loads((ckpt / "adapter_config.json").read_text())["modules_to_save"] == [head]
    assert f"base_model.model.{head}.weight" in load_file(ckpt / "adapter_model.safetensors")


def test_leaderboard_shows_trainable_parameters_and_checkpoint_size(out):
    from leaderboard.filters import Filters, filter_table
    from leaderboard.report import write_tables
    from leaderboard.table import to_markdown

    table = write_tables(out).table
    rows = table.set_index("row")
    lora, full = rows.loc["tiny-bert [lora]"], rows.loc["tiny-bert"]
    assert lora["trainable_parameters"] < full["trainable_parameters"] / 10
    assert lora["checkpoint_mb"] < full["checkpoint_mb"] / 5
    md = to_markdown(table)
    assert "| params | trainable | ckpt MB |" in md and "tiny-t5 [lora]" in md
    shown, _ = filter_table(table, {}, Filters(columns=["trainable params", "checkpoint MB"]))
    cell = shown.set_index("model").loc["tiny-bert [lora]"]
    assert cell["trainable params"].endswith("K") and float(cell["checkpoint MB"]) > 0


def test_lora_options_belong_to_the_lora_method(tiny_models, tmp_path, capsys):
    common = ["run", "--models", str(tiny_models), "--only-models", "tiny-bert", "--tasks", "demo_sentiment",
              "--output-dir", str(tmp_path / "o"), "--max-steps", "1"]
    assert main([*common, "--set", "lora_r=4"]) == 2
    assert "field 'lora_r': applies to the lora method only" in capsys.readouterr().err
    assert main([*common, "--methods", "prompt", "--set", "lora_target_modules=query"]) == 2  # lora x prompt
    assert "applies to the lora method only" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
