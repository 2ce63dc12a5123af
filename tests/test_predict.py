"""`python -m harness predict`: txt and jsonl inputs, output equals the adapter's predictions, user errors exit 2."""
from __future__ import annotations

import gzip
import json

import pytest

from export_fixtures import fresh_copy, tiny_checkpoints  # noqa: F401 - fixture
from harness.checkpoint import load_checkpoint
from harness.cli import main
from harness.text import split_tokens

SENTENCES = ["the food was very good", "", "bad service", "这家餐厅很好吃", "alice works for acme"]


def run_predict(capsys, *args: str) -> tuple[int, list[dict], str]:
    rc = main(["predict", "--quiet", *args])
    cap = capsys.readouterr()
    rows = [json.loads(line) for line in cap.out.splitlines() if line.strip()]
    return rc, rows, cap.err


def error_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_txt_single_cls_matches_adapter(tiny_checkpoints, tmp_path, capsys):
    ckpt = tiny_checkpoints[("tiny-bert", "demo_sentiment")]
    src = tmp_path / "in.txt"
    src.write_text("\n".join(SENTENCES) + "\n", encoding="utf-8")
    rc, rows, _ = run_predict(capsys, "--checkpoint", str(ckpt), "--input", str(src), "--batch-size", "2")
    assert rc == 0
    texts = [s for s in SENTENCES if s]  # the blank line is not an input
    assert [r["input"]["text"] for r in rows] == texts and [r["line"] for r in rows] == [1, 3, 4, 5]
    adapter, model = load_checkpoint(ckpt, backend="torch")
    expected = adapter.predict(model, [{"text": t} for t in texts], 8)
    assert [r["prediction"] for r in rows] == [p["prediction"] for p in expected]
    for r, p in zip(rows, expected):
        assert set(r["scores"]) == set(adapter.task.label_names)
        assert r["scores"] == pytest.approx(p["scores"], abs=1e-6)


def test_txt_ner_splits_words_like_the_playground(tiny_checkpoints, tmp_path, capsys):
    ckpt = tiny_checkpoints[("tiny-bert", "demo_ner")]
    src = tmp_path / "in.txt"
    lines = ["张伟在北京工作", "alice lives in paris"]
    src.write_text("\n".join(lines), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    rc, stdout_rows, _ = run_predict(capsys, "--checkpoint", str(ckpt), "--input", str(src), "--output", str(out))
    assert rc == 0 and stdout_rows == []
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["input"]["tokens"] for r in rows] == [split_tokens(t) for t in lines]
    adapter, model = load_checkpoint(ckpt, backend="torch")
    expected = adapter.predict(model, [{"tokens": split_tokens(t)} for t in lines], 8)
    assert [r["prediction"] for r in rows] == [p["prediction"] for p in expected]
    assert all(len(r["prediction"]) == len(r["input"]["tokens"]) for r in rows)


def test_jsonl_qa_to_gzip_output(tiny_checkpoints, tmp_path, capsys):
    ckpt = tiny_checkpoints[("tiny-bert", "demo_qa")]
    qs = [{"id": "q1", "context": "Alice works for Acme in Paris.", "question": "Who works for Acme?"},
          {"context": "张伟在北京工作。", "question": "张伟在哪里工作？", "extra": 1}]
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in qs) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl.gz"
    assert run_predict(capsys, "--checkpoint", str(ckpt), "--input", str(src), "--output", str(out))[0] == 0
    with gzip.open(out, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    assert len(rows) == 2 and rows[0]["id"] == "q1" and "id" not in rows[1]
    assert rows[1]["input"] == {"context": qs[1]["context"], "question": qs[1]["question"]}
    adapter, model = load_checkpoint(ckpt, backend="torch")
    expected = adapter.predict(model, [{k: q[k] for k in ("context", "question")} for q in qs], 8)
    assert [(r["prediction"], r["scores"]) for r in rows] == [(p["prediction"], p["scores"]) for p in expected]


def test_jsonl_pair_task(tiny_checkpoints, tmp_path, capsys):
    ckpt = tiny_checkpoints[("tiny-bert", "demo_paraphrase")]
    src = tmp_path / "in.jsonl.gz"
    pairs = [{"text_a": "the food was good", "text_b": "the food was great"}] * 3
    with gzip.open(src, "wt", encoding="utf-8") as f:
        f.write("\n".join(json.dumps(p) for p in pairs))
    rc, rows, _ = run_predict(capsys, "--checkpoint", str(ckpt), "--input", str(src))
    assert rc == 0 and len(rows) == 3 and rows[0]["input"] == pairs[0]
    adapter, _ = load_checkpoint(ckpt, backend="torch")
    assert all(r["prediction"] in adapter.task.label_names for r in rows)


def test_onnx_backend_gives_the_same_rows(tiny_checkpoints, tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    from harness.export import export_checkpoint
    from harness.predict import predict_file

    ckpt = fresh_copy(tiny_checkpoints[("tiny-bert", "demo_sentiment")], tmp_path)
    src = tmp_path / "in.txt"
    src.write_text("\n".join(s for s in SENTENCES if s), encoding="utf-8")
    rc, torch_rows, _ = run_predict(capsys, "--checkpoint", str(ckpt), "--input", str(src))
    assert rc == 0
    export_checkpoint(ckpt, verify=False)
    rc, onnx_rows, _ = run_predict(capsys, "--checkpoint", str(ckpt), "--input", str(src), "--backend", "auto")
    assert rc == 0
    assert [r["prediction"] for r in onnx_rows] == [r["prediction"] for r in torch_rows]
    for a, b in zip(onnx_rows, torch_rows):
        assert a["scores"] == pytest.approx(b["scores"], abs=1e-5)
    out = tmp_path / "o.jsonl"
    assert predict_file(ckpt, src, out, progress=False)["backend"] == "onnx fp32"
    assert predict_file(ckpt, src, out, backend="torch", progress=False)["backend"] == "torch"
    assert len(out.read_text().splitlines()) == len(onnx_rows)


def test_missing_checkpoint_and_input(tiny_checkpoints, tmp_path, capsys):
    src = tmp_path / "in.txt"
    src.write_text("hello\n")
    rc, _, err = run_predict(capsys, "--checkpoint", str(tmp_path / "nope"), "--input", str(src))
    assert rc == 2 and "--checkpoint: folder" in error_line(err) and "does not exist" in error_line(err)
    ckpt = tiny_checkpoints[("tiny-bert", "demo_sentiment")]
    rc, _, err = run_predict(capsys, "--checkpoint", str(ckpt), "--input", str(tmp_path / "missing.txt"))
    assert rc == 2 and "missing.txt' does not exist" in error_line(err)


def test_jsonl_row_missing_a_field(tiny_checkpoints, tmp_path, capsys):
    ckpt = tiny_checkpoints[("tiny-bert", "demo_paraphrase")]
    src = tmp_path / "bad.jsonl"
    src.write_text('{"text_a": "a", "text_b": "b"}\n\n{"text_a": "a", "text_bb": "b"}\n', encoding="utf-8")
    rc, rows, err = run_predict(capsys, "--checkpoint", str(ckpt), "--input", str(src))
    line = error_line(err)
    assert rc == 2 and rows == []
    for needle in (str(src), "line 3", "field 'text_b' is missing", "expects fields text_a, text_b",
                   "did you mean 'text_bb'"):
        assert needle in line, line


@pytest.mark.parametrize("content,needle", [('{"text": "a"\n', "line 1: invalid JSON"),
                                            ('["a"]\n', "line 1: expected an object"),
                                            ('{"text": 3}\n', "field 'text' must be a string"),
                                            ("", "no inputs")])
def test_bad_jsonl(tiny_checkpoints, tmp_path, capsys, content, needle):
    src = tmp_path / "bad.jsonl"
    src.write_text(content, encoding="utf-8")
    ckpt = tiny_checkpoints[("tiny-bert", "demo_sentiment")]
    rc, _, err = run_predict(capsys, "--checkpoint", str(ckpt), "--input", str(src))
    assert rc == 2 and needle in error_line(err)


@pytest.mark.parametrize("task", ["demo_paraphrase", "demo_qa"])
def test_two_text_task_refuses_txt(tiny_checkpoints, tmp_path, capsys, task):
    src = tmp_path / "in.txt"
    src.write_text("one text\n")
    rc, _, err = run_predict(capsys, "--checkpoint", str(tiny_checkpoints[("tiny-bert", task)]), "--input", str(src))
    line = error_line(err)
    assert rc == 2 and "give a .jsonl file" in line and "cannot hold them" in line


def test_onnx_backend_without_export(tiny_checkpoints, tmp_path, capsys):
    src = tmp_path / "in.txt"
    src.write_text("hello\n")
    ckpt = tiny_checkpoints[("tiny-bert", "demo_sentiment")]
    rc, _, err = run_predict(capsys, "--checkpoint", str(ckpt), "--input", str(src), "--backend", "onnx")
    assert rc == 2 and "has no ONNX export" in error_line(err)


def test_t5_checkpoint_predicts_with_torch(tiny_checkpoints, tmp_path, capsys):
    src = tmp_path / "in.txt"
    src.write_text("good\nbad\n")
    rc, rows, _ = run_predict(capsys, "--checkpoint", str(tiny_checkpoints[("tiny-t5", "demo_sentiment")]),
                              "--input", str(src))
    assert rc == 0 and len(rows) == 2 and all("generated" in r for r in rows)
    rc, _, err = run_predict(capsys, "--checkpoint", str(tiny_checkpoints[("tiny-t5", "demo_sentiment")]),
                             "--input", str(src), "--backend", "onnx")
    assert rc == 2 and "not supported" in error_line(err)


def test_txt_file_has_one_row_per_nonblank_line(tiny_checkpoints, tmp_path, capsys):
    """Larger than one chunk: order kept, nothing dropped."""
    from harness import predict

    ckpt = tiny_checkpoints[("tiny-bert", "demo_sentiment")]
    src = tmp_path / "big.txt"
    n = predict.CHUNK + 37
    src.write_text("\n".join(f"text number {i}" for i in range(n)), encoding="utf-8")
    rc, rows, _ = run_predict(capsys, "--checkpoint", str(ckpt), "--input", str(src), "--batch-size", "64")
    assert rc == 0 and [r["input"]["text"] for r in rows] == [f"text number {i}" for i in range(n)]
    assert [r["line"] for r in rows] == list(range(1, n + 1))


@pytest.mark.parametrize("content,output,needle", [("", None, "no inputs"),
                                                   ('{"text_a": "a", "text_bb": "b"}\n', None, "field 'text_b'"),
                                                   ('{"text_a": "a", "text_b": "b"}\n', "no/such/dir/out.jsonl",
                                                    "--output: folder")])
def test_input_and_output_are_checked_before_the_model_loads(tiny_checkpoints, tmp_path, capsys, monkeypatch,
                                                             content, output, needle):
    """An empty or mis-fielded input file and a missing --output folder fail before any weights load (the task
    comes from the checkpoint's harness_task.json alone)."""
    def no_load(*a, **k):
        raise AssertionError("the checkpoint's model was loaded")

    monkeypatch.setattr("harness.predict.load_checkpoint", no_load)
    src = tmp_path / "in.jsonl"
    src.write_text(content, encoding="utf-8")
    extra = ["--output", str(tmp_path / output)] if output else []
    rc, rows, err = run_predict(capsys, "--checkpoint", str(tiny_checkpoints[("tiny-bert", "demo_paraphrase")]),
                                "--input", str(src), *extra)
    assert rc == 2 and rows == [] and needle in error_line(err), err
