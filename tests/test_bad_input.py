"""The project's bad-input table: each case is files to write, a command line and what its one error line says.

Every case must exit 2 with one `error:` line (no traceback) naming the file, field or flag, and leave nothing
under the output folder (nothing trained, nothing half-written). Add a case here for every new way a user can get
an input wrong; `{tmp}` in a file's content or an argument is the case's temporary folder.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from test_cli import assert_user_error, harness

TINY_TASK = ("name: x\nlanguage: en\nbenchmark: b\nkind: single_cls\nlabel_names: [neg, pos]\nmetrics: [accuracy]\n"
             "main_score: accuracy\nsources:\n  - {type: local, relative_to: task_file, dir: data, format: jsonl, "
             "splits: {train: train, test: test}}\n")
TINY_ROWS = "".join(f'{{"text": "w{i}", "label": "{"pos" if i % 2 else "neg"}"}}\n' for i in range(8))


@dataclass
class Case:
    id: str
    args: tuple[str, ...]
    needles: tuple[str, ...]
    files: dict[str, str] = field(default_factory=dict)


CASES: list[Case] = [
    Case("unknown-set-key", ("run", "--models", "demo.yaml", "--tasks", "demo_sentiment", "--set", "learning_rat=1"),
         ("unknown training option 'learning_rat'", "did you mean 'learning_rate'")),
    Case("task-yaml-unknown-key", ("run", "--models", "demo.yaml", "--tasks", "x", "--task-dir", "{tmp}/tasks"),
         ("x.yaml", "unknown key 'label_name'", "did you mean 'label_names'"),
         {"tasks/x.yaml": TINY_TASK.replace("label_names:", "label_name:"), "tasks/data/train.jsonl": TINY_ROWS,
          "tasks/data/test.jsonl": TINY_ROWS}),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, tmp_path):
    for name, content in case.files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content.replace("{tmp}", str(tmp_path)), encoding="utf-8")
    out = tmp_path / "out"
    args = [a.replace("{tmp}", str(tmp_path)) for a in case.args]
    if args[0] == "run" and "--output-dir" not in args:
        args += ["--output-dir", str(out)]
    assert_user_error(harness(*args), *(n.replace("{tmp}", str(tmp_path)) for n in case.needles))
    assert not out.exists() or not any(out.rglob("*.json")), sorted(out.rglob("*"))
