"""Model families (harness/families.yaml), read once into strict typed values: which adapter kind runs a family's
models, its default training options (the lowest precedence level after TrainConfig's own defaults), the modules
the lora method wraps by default and the small config a random-init model is built from. An unknown key is an
error naming the file and the field."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from pydantic import ValidationError

from .config_files import format_validation_error, read_yaml
from .errors import HarnessError
from .trainconfig import Strict, TrainOverrides

FILE = Path(__file__).parent / "families.yaml"


class LoraDefaults(Strict):
    target_modules: Optional[list[str]] = None  # what the lora method wraps when lora_target_modules is not set


class Family(Strict):
    adapter: str  # the adapter kind its models run through (the kinds declare their adapters per adapter kind)
    train: TrainOverrides = TrainOverrides()
    lora: LoraDefaults = LoraDefaults()
    random_config: dict[str, Any]  # model_type and the sizes of an init: random model


def _load(path: Path) -> dict[str, Family]:
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise HarnessError(f"{path}: expected a mapping of family names to families")
    out = {}
    for name, fields in data.items():
        try:
            out[str(name)] = Family(**(fields if isinstance(fields, dict) else {}))
        except ValidationError as e:
            raise HarnessError(format_validation_error(path, e, prefix=str(name))) from None
    return out


FAMILIES: dict[str, Family] = _load(FILE)


def family_names() -> tuple[str, ...]:
    return tuple(FAMILIES)


def adapter_kinds() -> list[str]:
    """The adapter kinds of every family, sorted."""
    return sorted({f.adapter for f in FAMILIES.values()})


def unknown_family(name: str) -> str:
    """The complaint about a family that is not in harness/families.yaml, worded as a models file's field error."""
    *rest, last = [f"'{n}'" for n in FAMILIES]
    return f"Input should be {', '.join(rest)} or {last}" if rest else f"Input should be {last}"


def get_family(name: str) -> Family:
    if name not in FAMILIES:
        raise HarnessError(f"models: family '{name}': {unknown_family(name)}")
    return FAMILIES[name]
