"""The project's packages import only downward (docs/design.md, section Layers).

Every import of the project's own files is read with `ast` — at module level, inside functions and under
`TYPE_CHECKING` — and checked against the Layers table of docs/design.md, which is the one statement of the rule:
a module may import its own layer or a lower one, never a higher one; no import circle, even within a layer; no
module inside a package imports that package's face (`__init__.py`); every module belongs to a layer.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DESIGN = REPO / "docs" / "design.md"
PACKAGES = ("harness", "leaderboard", "webapp")  # the project's packages; plus the entry module app.py
SKIP = ("harness/tasks/",)  # task YAMLs and demo data, no code


@dataclass(frozen=True)
class Layer:
    number: int
    name: str
    patterns: tuple[str, ...]  # `a.b` the module a.b; `a.b.*` the package a.b and everything under it
    banned: tuple[str, ...] = ()  # third-party packages the layer may not import (e.g. a UI toolkit)


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    file: str
    line: int
    face: bool = False  # a name taken from the target package's __init__


def read_layers(text: str) -> list[Layer]:
    """The table under '## Layers': `| n | name | `mod`, `pkg.*`, ... |`."""
    section = text.split("\n## Layers", 1)[1].split("\n## ", 1)[0]
    layers = []
    for row in re.findall(r"^\|\s*(\d+)\s*\|([^|]+)\|([^|]+)\|([^|]*)\|", section, re.M):
        layers.append(Layer(int(row[0]), row[1].strip(), tuple(re.findall(r"`([\w.*]+)`", row[2])),
                            tuple(re.findall(r"`([\w.]+)`", row[3]))))
    assert layers and [x.number for x in layers] == list(range(1, len(layers) + 1)), "Layers table unreadable"
    return layers


def modules(root: Path) -> dict[str, Path]:
    found = {}
    files = [p for pkg in PACKAGES for p in (root / pkg).rglob("*.py")] + [root / "app.py"]
    for path in files:
        rel = path.relative_to(root).as_posix()
        if not path.exists() or any(rel.startswith(s) for s in SKIP):
            continue
        parts = rel[:-3].split("/")
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _known(name: str, mods: dict[str, Path]) -> str | None:
    parts = name.split(".")
    while parts and ".".join(parts) not in mods:
        parts.pop()
    return ".".join(parts) or None


def edges(root: Path, mods: dict[str, Path], external: list[Edge] | None = None) -> list[Edge]:
    """Imports between the project's modules; imports of anything else go to `external` when given."""
    out: dict[Edge, None] = {}
    for mod, path in mods.items():
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        rel = path.relative_to(root).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), rel)):
            if isinstance(node, ast.Import):
                targets = [(a.name, a.name, False) for a in node.names]  # (project name, external name, face)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                    base = ".".join(anchor + ([node.module] if node.module else []))
                targets = []
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    targets.append((sub, sub, False) if sub in mods else (base, sub, True))
            else:
                continue
            for name, external_name, from_face in targets:
                target = _known(name, mods)
                if target and target != mod:
                    face = from_face and target == name and mods[target].name == "__init__.py"
                    out[Edge(mod, target, rel, node.lineno, face)] = None
                elif target is None and external is not None and not getattr(node, "level", 0):
                    external.append(Edge(mod, external_name, rel, node.lineno))
    return list(out)


def layer_of(module: str, layers: list[Layer]) -> Layer | None:
    for layer in layers:
        for pattern in layer.patterns:
            if module == pattern.removesuffix(".*") or (pattern.endswith(".*") and
                                                        module.startswith(pattern[:-1])):
                return layer
    return None


def _circles(mods: dict[str, Path], found: list[Edge]) -> list[list[str]]:
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for e in found:
        graph[e.source].add(e.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def problems(root: Path, layers: list[Layer]) -> list[str]:
    mods = modules(root)
    external: list[Edge] = []
    found = edges(root, mods, external)
    out = [f"{mods[m].relative_to(root).as_posix()}: module {m} is in no layer (add it to docs/design.md, Layers)"
           for m in sorted(mods) if layer_of(m, layers) is None]
    for e in found:
        src, tgt = layer_of(e.source, layers), layer_of(e.target, layers)
        if src and tgt and tgt.number > src.number:
            out.append(f"{e.file}:{e.line}: {e.source} imports {e.target}: layer {src.number} ({src.name}) may not "
                       f"import layer {tgt.number} ({tgt.name})")
        if e.face and e.source.startswith(e.target + "."):
            out.append(f"{e.file}:{e.line}: {e.source} imports its own package face {e.target} (__init__.py): "
                       f"import the module that defines the name")
    for e in external:
        layer = layer_of(e.source, layers)
        for banned in layer.banned if layer else ():
            if e.target == banned or e.target.startswith(banned + "."):
                out.append(f"{e.file}:{e.line}: {e.source} imports {e.target}: layer {layer.number} ({layer.name}) "
                           f"may not import {banned}")
    for comp in _circles(mods, found):
        inside = sorted((e for e in found if e.source in comp and e.target in comp), key=lambda e: (e.file, e.line))
        out.append("import circle " + " -> ".join(comp) + ": " +
                   "; ".join(f"{e.file}:{e.line} imports {e.target}" for e in inside))
    return out


def test_the_project_imports_only_downward():
    assert problems(REPO, read_layers(DESIGN.read_text(encoding="utf-8"))) == []


def test_every_layer_pattern_names_something():
    mods = modules(REPO)
    for layer in read_layers(DESIGN.read_text(encoding="utf-8")):
        for pattern in layer.patterns:
            assert any(layer_of(m, [Layer(0, "", (pattern,))]) for m in mods), \
                f"docs/design.md Layers: `{pattern}` ({layer.name}) names no module"


def _plant(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


LAYERS = [Layer(1, "plain data", ("harness", "harness.errors", "harness.kinds.*")),
          Layer(2, "leaderboard data", ("leaderboard.*",), ("gradio", "urllib.request")),
          Layer(3, "entry points", ("app",))]


def test_a_planted_upward_import_fails_naming_file_line_and_rule(tmp_path):
    _plant(tmp_path, {"harness/__init__.py": "", "harness/errors.py": "import os\n\n\ndef f():\n"
                      "    from leaderboard.table import x\n", "leaderboard/__init__.py": "",
                      "leaderboard/table.py": "from harness.errors import f\nimport urllib.parse\n\n\ndef g():\n"
                      "    import gradio as gr\n    from urllib import request\n",
                      "app.py": "import leaderboard.table\nimport gradio\n"})
    assert problems(tmp_path, LAYERS) == [
        "harness/errors.py:5: harness.errors imports leaderboard.table: layer 1 (plain data) may not import layer 2 "
        "(leaderboard data)",
        "leaderboard/table.py:6: leaderboard.table imports gradio: layer 2 (leaderboard data) may not import gradio",
        "leaderboard/table.py:7: leaderboard.table imports urllib.request: layer 2 (leaderboard data) may not import "
        "urllib.request",
        "import circle harness.errors -> leaderboard.table: harness/errors.py:5 imports leaderboard.table; "
        "leaderboard/table.py:1 imports harness.errors"]


def test_a_planted_circle_within_a_layer_type_checking_and_a_package_face_fail(tmp_path):
    _plant(tmp_path, {"harness/__init__.py": "", "harness/errors.py": "", "app.py": "",
                      "harness/kinds/__init__.py": "from .base import KIND\nX = 1\n",
                      "harness/kinds/base.py": "from typing import TYPE_CHECKING\nKIND = 1\nif TYPE_CHECKING:\n"
                      "    from .ner import Ner\n",
                      "harness/kinds/ner.py": "from . import base\nfrom harness.kinds import X\n",
                      "harness/stray.py": "from . import errors\n"})
    assert problems(tmp_path, LAYERS) == [
        "harness/stray.py: module harness.stray is in no layer (add it to docs/design.md, Layers)",
        "harness/kinds/ner.py:2: harness.kinds.ner imports its own package face harness.kinds (__init__.py): "
        "import the module that defines the name",
        "import circle harness.kinds -> harness.kinds.base -> harness.kinds.ner: harness/kinds/__init__.py:1 imports "
        "harness.kinds.base; harness/kinds/base.py:4 imports harness.kinds.ner; harness/kinds/ner.py:1 imports "
        "harness.kinds.base; harness/kinds/ner.py:2 imports harness.kinds"]
