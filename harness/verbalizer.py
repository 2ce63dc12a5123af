"""Verbalizers for prompt learning: label words from the task YAML, a label_words.json or a label.txt."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

from .errors import HarnessError, did_you_mean
from .specs import TaskSpec


def parse_label_words(path: Path) -> dict[str, list[str]]:
    """Read {label: word | [words]} JSON, or label.txt lines 'label==word' (several words joined by '&')."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise HarnessError(f"{path}: label words file not found") from None
    out: dict[str, list[str]] = {}
    if path.suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise HarnessError(f"{path}: invalid JSON ({e.msg}, line {e.lineno})") from None
        if not isinstance(data, dict):
            raise HarnessError(f"{path}: expected a JSON object {{label: word or [words]}}")
        for label, words in data.items():
            out[str(label)] = [words] if isinstance(words, str) else [str(w) for w in words]
        return out
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if "==" not in line:
            raise HarnessError(f"{path}: line {lineno}: expected 'label==word' (words joined by '&'), got "
                               f"'{line.strip()[:60]}'")
        label, words = line.strip().split("==", 1)
        out.setdefault(label.strip(), []).extend(w.strip() for w in words.split("&") if w.strip())
    return out


def resolve_label_words(task: TaskSpec, task_file: Path, data_dir: Optional[Path]) -> TaskSpec:
    """The task with prompt.label_words filled in (from the file or text_to_text.label_words) for every label.

    The resolved words are stored in the job config and in checkpoints, so a checkpoint needs no data folder.
    """
    prompt = task.prompt
    if prompt is None:
        raise HarnessError(f"{task_file}: field 'prompt': task '{task.name}' has no prompt (template and label "
                           f"words) for the prompt method")
    where = f"{task_file}: field 'prompt.label_words'"
    if prompt.label_words_file is not None:
        ref = prompt.label_words_file
        if ref.relative_to == "data_dir" and data_dir is None:
            raise HarnessError(f"{task_file}: field 'prompt.label_words_file': '{ref.path}' is relative to the data "
                               f"folder; pass --data-dir DIR")
        base = Path(data_dir) if ref.relative_to == "data_dir" else task_file.parent
        path = base / ref.path
        words = parse_label_words(path)
        where = str(path)
    elif prompt.label_words:
        words = {k: [v] if isinstance(v, str) else list(v) for k, v in prompt.label_words.items()}
    else:
        words = {k: [v] for k, v in task.text_to_text.label_words.items()}
        where = f"{task_file}: field 'text_to_text.label_words' (used by the prompt)"
    for label in words:
        if label not in task.label_names:
            raise HarnessError(f"{where}: label '{label}' is not in label_names{did_you_mean(label, task.label_names)}")
    missing = [n for n in task.label_names if not words.get(n)]
    if missing:
        raise HarnessError(f"{where}: no label word for {', '.join(missing)}; every label needs at least one word")
    resolved = prompt.model_copy(update={"label_words": {n: words[n] for n in task.label_names},
                                         "label_words_file": None})
    return task.model_copy(update={"prompt": resolved})
