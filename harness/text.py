"""Word splitting shared by `predict` (plain-text NER input) and the app playground, the [UNK] rate over which
a tokenizer's fit is flagged (pre-flight and the leaderboard), and log text without terminal escape codes (job logs,
and the console when it is a file or a pipe)."""
from __future__ import annotations

import logging
import re

UNK_WARN = 0.05  # a tokenizer turning more than this share of a task's tokens into [UNK] is flagged
TRUNCATION_MARK = 0.10  # a cell whose tokenizer truncates more than this share of its rows is marked ✂

_CJK_CLASS = r"\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
_TOKEN = re.compile(rf"[{_CJK_CLASS}]|[^\s{_CJK_CLASS}]+")
_CJK = re.compile(rf"[{_CJK_CLASS}]")


def split_tokens(text: str) -> list[str]:
    """NER words: each CJK character is a word (as in CLUENER), other text splits on whitespace."""
    return _TOKEN.findall(text)


def join_tokens(tokens: list[str]) -> str:
    """Inverse of split_tokens for display: no space between two CJK characters, one space elsewhere."""
    out = ""
    for t in tokens:
        if out and not (_CJK.match(t) and _CJK.match(out[-1])):
            out += " "
        out += t
    return out


# ECMA-48 escape sequences: CSI (colours, bold, cursor moves: ESC [ … final byte), OSC (ESC ] … ended by BEL or
# ESC-backslash) and the two-byte ones (ESC and one byte from @ to _)
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")


def strip_ansi(text: str) -> str:
    """The text without terminal escape sequences (e.g. the bold of transformers' load report)."""
    return _ANSI.sub("", text) if "\x1b" in text else text


class PlainFormatter(logging.Formatter):
    """A logging formatter whose lines hold no terminal escape sequences: for log files, pipes and redirects."""

    def format(self, record: logging.LogRecord) -> str:
        return strip_ansi(super().format(record))
