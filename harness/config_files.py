"""Reading config files: YAML parsing and strict validation into specs, with one-line errors (file, field, hint).
Task files are loaded by the catalogue (harness.catalog.load_task_file) and models files by harness.models
(load_models_file), which add the registries' checks."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from .errors import HarnessError, did_you_mean
from .specs import ModelsFile, ModelSpec, TaskSpec

def format_validation_error(path: Path | str, err: ValidationError, prefix: str = "") -> str:
    """One line: file, field, what was expected."""
    errors = err.errors()
    # a misspelt key usually also shows up as a missing field: report the misspelling
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = ".".join(str(p) for p in ((prefix,) if prefix else ()) + tuple(first["loc"]))
    msg = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        field = str(first["loc"][-1])
        parent = _model_at(err.title, first["loc"][:-1])
        hint = did_you_mean(field, parent.model_fields) if parent else ""
        msg = f"unknown key '{field}'{hint}"
    elif first["type"] == "missing":
        msg = "required field is missing"
    more = f" (+{err.error_count() - 1} more)" if err.error_count() > 1 else ""
    return f"{path}: field '{loc}': {msg}{more}" if loc else f"{path}: {msg}{more}"


def _model_at(title: str, loc: tuple) -> type[BaseModel] | None:
    model: Any = {"TaskSpec": TaskSpec, "ModelSpec": ModelSpec, "ModelsFile": ModelsFile}.get(title)
    for part in loc:
        if model is None or isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            return None
        ann = field.annotation
        args = [a for a in getattr(ann, "__args__", ()) if isinstance(a, type) and issubclass(a, BaseModel)]
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            model = ann
        elif args:
            model = args[0]
        else:
            model = None
    return model


class DuplicateKey(yaml.YAMLError):
    """A mapping that names one key twice (YAML's last-one-wins would silently drop the first)."""

    def __init__(self, key: Any, line: int, first: int):
        super().__init__(f"duplicate key '{key}' (first at line {first}); each key may appear once in a mapping")
        self.line = line


class StrictLoader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses a mapping with a key given twice, naming both lines."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.setdefault(key, key_node.start_mark.line + 1)
            except TypeError:  # an unhashable key: SafeLoader's own error follows
                continue
            if first != key_node.start_mark.line + 1:
                raise DuplicateKey(key, key_node.start_mark.line + 1, first)
        return super().construct_mapping(node, deep)


def load_yaml_text(text: str) -> Any:
    """yaml.safe_load, strict: a key given twice in a mapping raises DuplicateKey."""
    return yaml.load(text, Loader=StrictLoader)  # noqa: S506 - a SafeLoader subclass


def read_yaml(path: Path) -> Any:
    """Parse a YAML file, turning syntax errors into one-line HarnessErrors."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise HarnessError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise HarnessError(f"{path}: is a folder; expected a YAML file") from None
    except UnicodeDecodeError as e:
        data = Path(path).read_bytes()
        line = data.count(b"\n", 0, e.start) + 1
        raise HarnessError(f"{path}: line {line}: byte {data[e.start]:#04x} is not UTF-8; expected a UTF-8 YAML "
                           "file") from None
    except OSError as e:
        raise HarnessError(f"{path}: cannot read ({e.strerror or type(e).__name__})") from None
    try:
        return load_yaml_text(text)
    except DuplicateKey as e:
        raise HarnessError(f"{path}: line {e.line}: {e}") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise HarnessError(f"{path}:{where}: invalid YAML: {getattr(e, 'problem', e)}") from None
