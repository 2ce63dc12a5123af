"""Label an unlabelled file with a saved checkpoint: plain text (one input per line) or jsonl with the task's fields.

Output is jsonl, one row per input in input order: {"line", ["id",] "input", "prediction", "scores", ...}.
"""
from __future__ import annotations

import gzip
import json
import logging
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Iterator, Optional

from tqdm.auto import tqdm

from .checkpoint import backend_name, checkpoint_task, load_checkpoint
from .errors import HarnessError, did_you_mean
from .specs import TaskSpec

log = logging.getLogger(__name__)
CHUNK = 512  # inputs per adapter.predict call: bounds memory and drives the progress bar
JSONL_SUFFIXES = (".jsonl", ".jsonl.gz")


def _is_jsonl(path: Path) -> bool:
    return path.name.endswith(JSONL_SUFFIXES)


def _open_text(path: Path, mode: str = "rt") -> IO[str]:
    return gzip.open(path, mode, encoding="utf-8") if path.name.endswith(".gz") else open(path, mode, encoding="utf-8")


def text_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of an input file; a byte that is not UTF-8 (or a .gz that is not gzip), or a NUL byte, is
    one line naming the file and the line."""
    from .data import text_lines as lines

    if not path.is_file():
        raise HarnessError(f"--input: file '{path}' does not exist")
    gz = path.name.endswith(".gz")

    def checked() -> Iterator[tuple[int, str]]:
        for lineno, line in lines(path, "jsonl.gz" if gz else "txt",
                                  "compress it with gzip, or drop .gz from its name"):
            if "\x00" in line:  # valid UTF-8, but no text: a binary file would be predicted as an input
                raise HarnessError(f"{path}: line {lineno}: holds NUL bytes; expected text (is it a binary file?)")
            yield lineno, line
    return checked()


def _from_text(path: Path, task: TaskSpec) -> Iterator[tuple[int, dict]]:
    kind = task.task_kind
    if not kind.text_input:
        fields = ", ".join(kind.input_fields)
        raise HarnessError(f"--input {path}: task '{task.name}' ({task.kind}) takes {len(kind.input_fields)} "
                           f"texts per input ({fields}); one line of plain text cannot hold them: give a .jsonl file "
                           f"with one object per line with fields {fields}")
    for lineno, line in text_lines(path):
        text = line.rstrip("\r\n")
        if not text.strip():
            continue  # blank lines are not inputs; 'line' in the output keeps rows traceable
        yield lineno, kind.from_text(text)


def _from_jsonl(path: Path, task: TaskSpec) -> Iterator[tuple[int, dict]]:
    kind = task.task_kind
    fields = kind.input_fields
    expected = ", ".join(fields)
    for lineno, line in text_lines(path):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise HarnessError(f"{path}: line {lineno}: invalid JSON ({e.msg})") from None
        if not isinstance(row, dict):
            raise HarnessError(f"{path}: line {lineno}: expected an object with fields {expected}, "
                               f"got {type(row).__name__}")
        ex: dict[str, Any] = {}
        for fld in fields:
            if fld not in row:
                raise HarnessError(f"{path}: line {lineno}: field '{fld}' is missing (task '{task.name}' "
                                   f"expects fields {expected}){did_you_mean(fld, row.keys()) if row else ''}")
            try:
                ex[fld] = kind.check_input(fld, row[fld])
            except ValueError as e:
                raise HarnessError(f"{path}: line {lineno}: {e}") from None
        if "id" in row:
            ex["id"] = row["id"]
        yield lineno, ex


def read_inputs(path: Path, task: TaskSpec) -> list[tuple[int, dict]]:
    """(line number, input example) for every input of a .txt or .jsonl(.gz) file; HarnessError on bad input."""
    path = Path(path)
    if not path.is_file():
        raise HarnessError(f"--input: file '{path}' does not exist")
    rows = list(_from_jsonl(path, task) if _is_jsonl(path) else _from_text(path, task))
    if not rows:
        raise HarnessError(f"--input {path}: no inputs (the file is empty)")
    return rows


@contextmanager
def _writer(output: Optional[Path]) -> Iterator[IO[str]]:
    if output is None:
        yield sys.stdout
        sys.stdout.flush()
        return
    output = Path(output)
    if output.parent and not output.parent.is_dir():
        raise HarnessError(f"--output: folder '{output.parent}' does not exist")
    with _open_text(output, "wt") as f:
        yield f


def predict_file(checkpoint: Path, input_path: Path, output: Optional[Path] = None,
                 batch_size: Optional[int] = None, backend: str = "auto", progress: bool = True) -> dict[str, Any]:
    """Predict every input of input_path with the checkpoint; write jsonl rows to output (stdout when None).

    Returns a summary: {"rows", "backend", "task", "output"}.
    """
    # the input file (readable, its fields those the task needs) and the output folder are checked before the
    # checkpoint's weights load: the task comes from its harness_task.json alone
    rows = read_inputs(Path(input_path), checkpoint_task(checkpoint))
    if output is not None and Path(output).parent and not Path(output).parent.is_dir():
        raise HarnessError(f"--output: folder '{Path(output).parent}' does not exist")
    adapter, model = load_checkpoint(checkpoint, backend=backend)
    task = adapter.task
    bs = batch_size or adapter.cfg.eval_batch_size
    if bs < 1:
        raise HarnessError(f"--batch-size: expected a positive integer, got {bs}")
    log.info("%s: %d inputs, task %s (%s), backend %s", input_path, len(rows), task.name, task.kind,
             backend_name(model))
    fields = task.task_kind.input_fields
    with _writer(output) as out, tqdm(total=len(rows), desc="predict", unit="input",
                                      disable=not progress or len(rows) <= CHUNK) as bar:
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start:start + CHUNK]
            preds = adapter.predict(model, [ex for _, ex in chunk], bs)
            for (lineno, ex), pred in zip(chunk, preds):
                row: dict[str, Any] = {"line": lineno}
                if "id" in ex:
                    row["id"] = ex["id"]
                row.update({"input": {f: ex[f] for f in fields}, **pred})
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
            bar.update(len(chunk))
    return {"rows": len(rows), "backend": backend_name(model), "task": task.name,
            "output": str(output) if output else "-"}
