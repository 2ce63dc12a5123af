"""Argument types of the command line: each turns one flag's text into a checked value, or says in one line
what was expected (argparse prints it as `error: --flag: …`, exit 2)."""
from __future__ import annotations

import argparse
import re
from typing import Any

from pydantic import ValidationError

from .config_files import format_validation_error
from .errors import HarnessError, did_you_mean
from .trainconfig import TRAIN_FIELDS, TrainConfig


def int_list(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got '{text}'") from None


def seed_list(text: str) -> tuple[int, ...]:
    seeds = int_list(text)
    if not seeds:
        raise argparse.ArgumentTypeError(f"expected one or more comma-separated integers, got '{text}'")
    bad = [s for s in seeds if not 0 <= s < 2**32]
    if bad:
        raise argparse.ArgumentTypeError(f"seed {bad[0]} is out of range (expected 0 to {2**32 - 1})")
    repeated = sorted({s for s in seeds if seeds.count(s) > 1})
    if repeated:
        raise argparse.ArgumentTypeError(f"seed {repeated[0]} is given twice (seeds must be unique)")
    return seeds


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got '{text}'")
    return value


def name_list(text: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in text.split(",") if s.strip())


def method_list(text: str) -> tuple[str, ...]:
    from .methods import method_names

    names, known = name_list(text), method_names()
    if not names:
        raise argparse.ArgumentTypeError(f"expected one or more of {', '.join(known)}, got '{text}'")
    if len(set(names)) < len(names):
        raise argparse.ArgumentTypeError(f"method '{next(n for n in names if names.count(n) > 1)}' is given twice")
    for n in names:
        if n not in known:
            raise argparse.ArgumentTypeError(f"unknown method '{n}' (expected {', '.join(known)})"
                                             f"{did_you_mean(n, known)}")
    return names


def executor_name(text: str) -> str:
    from .execute.executors import executor_names

    names = executor_names()
    if text not in names:
        raise argparse.ArgumentTypeError(f"unknown executor '{text}'{did_you_mean(text, names)}")
    return text


def executor_help() -> str:
    """--executor's help: each registered executor and what it does, the default first."""
    from .execute.executors import DEFAULT_EXECUTOR, load_all

    return "; ".join(f"{name}{' (default)' if name == DEFAULT_EXECUTOR else ''}: {kind.summary}"
                     for name, kind in load_all().items())


def set_option(text: str) -> tuple[str, Any]:
    import yaml

    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got '{text}'")
    key, value = text.split("=", 1)
    if key not in TRAIN_FIELDS:
        raise argparse.ArgumentTypeError(f"unknown training option '{key}'{did_you_mean(key, TRAIN_FIELDS)}")
    if not value.strip():
        raise argparse.ArgumentTypeError(f"'{text}' gives no value; expected {key}=VALUE (leave the option out for "
                                         "its default)")
    parsed = yaml.safe_load(value)
    if isinstance(parsed, bool) and value.strip().lower() not in ("true", "false"):
        return key, value.strip()  # YAML 1.1 reads on/off/yes/no as booleans: bf16=off means the word "off"
    return key, parsed


def search_option(text: str) -> tuple[str, list[Any]]:
    key, value = set_option(text)
    import yaml

    values = str(text.split("=", 1)[1]).split(",")
    if any(not v.strip() for v in values):
        raise argparse.ArgumentTypeError(f"'{text}' has an empty value; expected {key}=V1,V2,... with no empty item")
    return key, [yaml.safe_load(v) for v in values]


def check_train_options(values: dict[str, Any]) -> None:
    """The command line's training options alone must make a valid TrainConfig (one-line error otherwise)."""
    try:
        TrainConfig(**values)
    except ValidationError as e:
        raise HarnessError(format_validation_error("--set", e)) from None


class Parser(argparse.ArgumentParser):
    """argparse with a user error as one line on stderr ('error: <flag>: <what>'), exit 2, no usage dump."""

    def error(self, message: str) -> None:  # type: ignore[override]
        message = re.sub(r"^argument (\S+?)(/\S+)?: ", r"\1: ", message)
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got '{text}'")
    return value


def race_range(text: str) -> tuple[int, int]:
    """--race MIN:MAX: seeds per cell, at least MIN (>= 2: the seed spread must be estimable) and at most MAX."""
    parts = text.split(":")
    try:
        low, high = (int(x) for x in parts) if len(parts) == 2 else (None, None)
    except ValueError:
        low = high = None
    if low is None or high is None:
        raise argparse.ArgumentTypeError(f"expected MIN:MAX seeds per cell (e.g. 2:5), got '{text}'")
    if low < 2:
        raise argparse.ArgumentTypeError(f"MIN must be at least 2 (the seed spread must be estimable), got '{text}'")
    if low > high:
        raise argparse.ArgumentTypeError(f"MIN must not be above MAX, got '{text}'")
    return low, high
