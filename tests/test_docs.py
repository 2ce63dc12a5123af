"""Doc check: every harness command in docs/ parses with the real CLI parser, every script it names exists."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from harness.cli import build_parser

DOCS = sorted((Path(__file__).resolve().parents[1] / "docs").glob("*.md"))
REPO = Path(__file__).resolve().parents[1]


def commands(text: str) -> list[str]:
    """`python ...` commands in bash blocks (backslash continuations joined) and in inline code."""
    out = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("#")[0].strip()
            if line.startswith("python "):
                out.append(line)
    out += re.findall(r"`(python bench/[^`]+)`", text)  # inline: scripts (inline harness runs are fragments)
    return out


@pytest.mark.parametrize("doc", DOCS, ids=[d.name for d in DOCS])
def test_doc_commands_parse(doc):
    cmds = commands(doc.read_text(encoding="utf-8"))
    assert cmds, f"{doc.name} shows no command"
    for cmd in cmds:
        argv = shlex.split(cmd)[1:]
        if argv[:2] == ["-m", "harness"]:
            build_parser().parse_args(argv[2:])  # SystemExit on an unknown flag or a bad value
        else:
            assert (REPO / argv[0]).is_file(), f"{doc.name}: {cmd}: no such script"
