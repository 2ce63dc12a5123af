"""ONNX export of tiny encoder checkpoints: logits match PyTorch, int8 runs, backend auto picks ONNX, errors."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from export_fixtures import fresh_copy, tiny_checkpoints  # noqa: F401 - fixture
from harness.checkpoint import backend_name, load_checkpoint
from harness.cli import main
from harness.errors import HarnessError
from harness.onnx_model import OnnxModel

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

CASES = [("tiny-bert", "demo_sentiment"), ("tiny-bert", "demo_ner"), ("tiny-bert", "demo_qa"),
         ("tiny-ernie", "demo_sentiment"), ("tiny-albert", "demo_sentiment")]
QUANTIZED = ("tiny-bert", "demo_sentiment")
TEXTS = ["the food was very good", "bad", "alice works for acme in paris and bob lives in london, " * 6]


@pytest.fixture(scope="module")
def exported(tiny_checkpoints, tmp_path_factory) -> dict[tuple[str, str], tuple[Path, dict]]:
    """Each case exported once (into a private copy); the quantized case also times latency briefly."""
    from harness.export import export_checkpoint

    root = tmp_path_factory.mktemp("exported")
    out = {}
    for case in CASES:
        folder = fresh_copy(tiny_checkpoints[case], root)
        q = case == QUANTIZED
        report = export_checkpoint(folder, quantize="int8" if q else None, latency_runs=2 if q else 0,
                                   latency_threads=(1,))
        out[case] = (folder, report)
    return out


def raw_outputs(model, batch: dict) -> list[torch.Tensor]:
    out = model(**batch)
    names = ("start_logits", "end_logits") if hasattr(out, "start_logits") else ("logits",)
    return [getattr(out, n).detach().float() for n in names]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{c[1]}")
def test_onnx_logits_match_torch(exported, case):
    folder, report = exported[case]
    adapter, tmodel = load_checkpoint(folder, backend="torch")
    omodel = OnnxModel(folder / "onnx" / "model.onnx", tmodel.config)  # fp32 (backend onnx prefers int8)
    assert backend_name(tmodel) == "torch" and backend_name(omodel) == "onnx fp32"
    if case != QUANTIZED:
        assert backend_name(load_checkpoint(folder, backend="onnx")[1]) == "onnx fp32"
    tok = adapter.tok
    batches = [tok(TEXTS, padding=True, return_tensors="pt"), tok(TEXTS[:1], return_tensors="pt"),
               tok(["the", "alice"], ["who is alice", "paris"], padding=True, return_tensors="pt")]
    with torch.no_grad():
        for batch in batches:  # batch sizes 3, 1, 2; sequence lengths differ from the export's dummy input
            for t, o in zip(raw_outputs(tmodel, batch), raw_outputs(omodel, batch)):
                assert t.shape == o.shape
                diff = float((t - o).abs().max())
                # tiny random models have logits near 0.01: also bound the error relative to their scale
                assert diff < 1e-4 and diff <= 1e-3 * float(t.abs().max())
    v = report["verification"]
    assert v["max_abs_logit_diff"]["onnx_fp32"] < 1e-4
    assert v["main_score"]["onnx_fp32"] == pytest.approx(v["main_score"]["torch"])


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{c[1]}")
def test_adapter_predictions_identical(exported, case):
    from harness.verify import eval_examples

    folder, _ = exported[case]
    adapter, tmodel = load_checkpoint(folder, backend="torch")
    omodel = OnnxModel(folder / "onnx" / "model.onnx", tmodel.config)
    examples, _ = eval_examples(folder, adapter, None, 16)
    assert examples
    tp, op = adapter.predict(tmodel, examples, 4), adapter.predict(omodel, examples, 4)
    assert [p["prediction"] for p in tp] == [p["prediction"] for p in op]


def test_export_report(exported):
    folder, report = exported[QUANTIZED]
    on_disk = json.loads((folder / "onnx" / "export.json").read_text())
    assert on_disk == json.loads(json.dumps(report))
    assert report["opset"] >= 17 and report["versions"]["onnxruntime"] and report["versions"]["torch"]
    assert set(report["inputs"]) >= {"input_ids", "attention_mask"}
    assert all(dims == ["batch", "sequence"] for dims in report["inputs"].values())
    v = report["verification"]
    assert set(v["main_score"]) == {"torch", "onnx_fp32", "onnx_int8"}
    assert v["int8_minus_fp32_points"] == pytest.approx(v["main_score"]["onnx_int8"] - v["main_score"]["onnx_fp32"],
                                                        abs=1e-2)
    assert v["data"].startswith("demo_sentiment test split")
    lat = v["latency_ms_p50"]["threads_1"]
    assert set(lat) == {"16_tokens", "32_tokens"}
    assert all(ms > 0 for row in lat.values() for ms in row.values()) and set(lat["16_tokens"]) == set(v["main_score"])
    qa = exported[("tiny-bert", "demo_qa")][1]
    assert set(qa["outputs"]) == {"start_logits", "end_logits"} and "latency_ms_p50" not in qa["verification"]


def test_int8_is_quantized_from_the_fused_graph(exported):
    """Fused attention with the raw mask becomes QAttention; the intermediate file is gone; fp32 stays plain ONNX."""
    import onnx

    folder, report = exported[QUANTIZED]
    fusion = report["quantization"]["fusion"]
    assert fusion["used"] and fusion["attention_mask_rewired"] > 0 and fusion["max_abs_diff"] <= 1e-3
    ops = {n.op_type for n in onnx.load(str(folder / "onnx" / "model.int8.onnx")).graph.node}
    assert "QAttention" in ops and "Attention" not in ops
    assert not {n.domain for n in onnx.load(str(folder / "onnx" / "model.onnx")).graph.node} - {"", "ai.onnx"}
    assert sorted(p.name for p in (folder / "onnx").iterdir()) == ["export.json", "model.int8.onnx", "model.onnx"]


def test_fusion_that_changes_outputs_falls_back_to_the_plain_graph(tiny_checkpoints, tmp_path, monkeypatch, caplog):
    import onnx

    from harness import onnx_fusion
    from harness.export import export_checkpoint

    monkeypatch.setattr(onnx_fusion, "TOLERANCE", -1.0)  # any difference, even 0, now counts as a mismatch
    folder = fresh_copy(tiny_checkpoints[QUANTIZED], tmp_path)
    report = export_checkpoint(folder, quantize="int8", latency_runs=0)
    fusion = report["quantization"]["fusion"]
    assert not fusion["used"] and "differs from the plain export" in fusion["reason"]
    assert "quantizing the plain graph" in caplog.text
    ops = {n.op_type for n in onnx.load(str(folder / "onnx" / "model.int8.onnx")).graph.node}
    assert "MatMulInteger" in ops and "QAttention" not in ops
    assert report["verification"]["main_score"]["onnx_int8"] >= 0


def test_int8_loads_and_backend_auto_prefers_it(exported):
    from harness.verify import eval_examples

    folder, report = exported[QUANTIZED]
    assert (folder / "onnx" / "model.int8.onnx").is_file() and report["file_mb"]["int8"] > 0
    adapter, model = load_checkpoint(folder)  # auto
    assert backend_name(model) == "onnx int8"
    examples, _ = eval_examples(folder, adapter, None, None)
    preds = adapter.predict(model, examples, 8)
    assert len(preds) == len(examples) and all(p["prediction"] in adapter.task.label_names for p in preds)
    assert backend_name(load_checkpoint(folder, backend="onnx-fp32")[1]) == "onnx fp32"
    assert backend_name(load_checkpoint(folder, backend="onnx-int8")[1]) == "onnx int8"
    (folder / "onnx" / "model.int8.onnx").rename(folder / "onnx" / "set-aside.onnx")
    try:
        assert backend_name(load_checkpoint(folder)[1]) == "onnx fp32"
    finally:
        (folder / "onnx" / "set-aside.onnx").rename(folder / "onnx" / "model.int8.onnx")
    fp32_only = exported[("tiny-ernie", "demo_sentiment")][0]
    with pytest.raises(HarnessError, match=r"no ONNX export \(onnx/model.int8.onnx\).*--quantize int8"):
        load_checkpoint(fp32_only, backend="onnx-int8")


def test_backend_auto_is_torch_without_export(tiny_checkpoints):
    folder = tiny_checkpoints[("tiny-bert", "demo_sentiment")]
    assert not (folder / "onnx").exists()
    assert backend_name(load_checkpoint(folder)[1]) == "torch"
    with pytest.raises(HarnessError, match="has no ONNX export"):
        load_checkpoint(folder, backend="onnx")
    with pytest.raises(HarnessError, match="unknown backend 'onx'.*did you mean 'onnx'"):
        load_checkpoint(folder, backend="onx")


@pytest.mark.parametrize("kind_task", ["demo_sentiment", "demo_paraphrase", "demo_ner", "demo_qa"])
def test_fixed_length_latency_inputs(tiny_checkpoints, kind_task):
    from harness.verify import _n_tokens, eval_examples, example_of_length

    folder = tiny_checkpoints[("tiny-bert", kind_task)]
    adapter, _ = load_checkpoint(folder, backend="torch")
    pool, _ = eval_examples(folder, adapter, None, 16)
    for n in (16, 32):
        ex = example_of_length(adapter, n, pool)
        assert ex is not None and _n_tokens(adapter, ex) == n


def error_line(capsys) -> str:
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1
    return lines[0]


def test_export_t5_is_a_user_error(tiny_checkpoints, tmp_path, capsys):
    folder = fresh_copy(tiny_checkpoints[("tiny-t5", "demo_sentiment")], tmp_path)
    assert main(["export", "--checkpoint", str(folder), "--format", "onnx"]) == 2
    assert "not supported" in error_line(capsys)
    assert not (folder / "onnx").exists()


def test_export_missing_checkpoint(tmp_path, capsys):
    assert main(["export", "--checkpoint", str(tmp_path / "nope"), "--format", "onnx"]) == 2
    assert "does not exist" in error_line(capsys)


def test_export_cli_prints_summary(tiny_checkpoints, tmp_path, capsys):
    folder = fresh_copy(tiny_checkpoints[("tiny-bert", "demo_ner")], tmp_path)
    assert main(["export", "--checkpoint", str(folder), "--format", "onnx", "--quantize", "int8",
                 "--max-eval-samples", "8", "--latency-runs", "0"]) == 0
    out = capsys.readouterr().out
    assert "model.int8.onnx" in out and "int8 - fp32" in out and "8 of" in out
    report = json.loads((folder / "onnx" / "export.json").read_text())
    assert report["kind"] == "ner" and report["verification"]["max_abs_logit_diff"]["onnx_fp32"] < 1e-4


def test_playground_answers_with_onnx_when_exported(tiny_checkpoints, tmp_path):
    """The app loads checkpoints with backend auto: an exported checkpoint answers on ONNX, others on torch."""
    import shutil

    from harness.export import export_checkpoint
    from leaderboard.data import load_app_data
    from webapp.playground import Playground, run_compare

    src_out = tiny_checkpoints[("tiny-bert", "demo_sentiment")].parents[6]
    root = tmp_path / "out"
    shutil.copytree(src_out, root)
    data = load_app_data(root)
    labels = data.checkpoints["demo_sentiment"]
    bert = next(lab for lab in labels if "tiny-bert" in lab)
    export_checkpoint(root / labels[bert], verify=False)
    pg = Playground(data)
    out, ms = pg.predict("demo_sentiment", bert, "the food was good")
    assert out["backend"] == "onnx fp32" and ms > 0 and out["text"].startswith("prediction:")
    other = next(lab for lab in labels if "tiny-ernie" in lab)
    assert pg.predict("demo_sentiment", other, "the food was good")[0]["backend"] == "torch"
    table = run_compare(pg, "demo_sentiment", [bert, other], "the food was good")
    assert list(table["backend"]) == ["onnx fp32", "torch"]


def test_export_without_task_data_skips_accuracy_with_a_note(tiny_checkpoints, tmp_path):
    from harness.export import export_checkpoint

    folder = fresh_copy(tiny_checkpoints[("tiny-bert", "demo_sentiment")], tmp_path)
    spec = json.loads((folder / "harness_task.json").read_text())
    spec.update(name="my_private_task", sources=[{"type": "local", "dir": "my_private_task", "splits": {"test": "dev"}}])
    (folder / "harness_task.json").write_text(json.dumps(spec))
    report = export_checkpoint(folder, latency_runs=1, latency_threads=(1,))
    v = report["verification"]
    assert "main_score" not in v and "accuracy skipped" in v["notes"][0] and "--data-dir" in v["notes"][0]
    assert set(v["latency_ms_p50"]["threads_1"]) == {"16_tokens", "32_tokens"}
    assert load_checkpoint(folder, backend="onnx")[1].backend == "onnx fp32"
