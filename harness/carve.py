"""Carving missing splits out of the labelled data a task has, so that no carved evaluation row shares a text
with a training row.

Examples are linked when they share the value of any of their kind's `link_fields` (a pair task: either
sentence; NLI premises come with several hypotheses). A carve moves whole connected components of that link
graph: seeded hash order of the components, each into the first part it brings nearer to its target size, the
rest to train. The order depends on the texts only (not on file order), so the same data and seed give the same
carve.
"""
from __future__ import annotations

import hashlib
from typing import Any, Iterable

METHOD = "grouped by shared input text (connected components), seeded hash order"


def text(value: Any) -> str:
    """One input value as a string (a word list joined by spaces)."""
    return " ".join(value) if isinstance(value, list) else str(value)


def components(examples: list[dict], fields: Iterable[str]) -> list[list[int]]:
    """Indices of the examples linked through an equal value of any of `fields` (union-find), each component in
    file order, components in order of their first example."""
    parent = list(range(len(examples)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for f in fields:
        first: dict[str, int] = {}
        for i, ex in enumerate(examples):
            j = first.setdefault(text(ex[f]), i)
            a, b = root(i), root(j)
            if a != b:
                parent[max(a, b)] = min(a, b)
    groups: dict[int, list[int]] = {}
    for i in range(len(examples)):
        groups.setdefault(root(i), []).append(i)
    return list(groups.values())


def carve(examples: list[dict], fields: tuple[str, ...], key: Any, fractions: dict[str, float], seed: int,
          caps: dict[str, int]) -> dict[str, list[dict]]:
    """Split examples into the parts of `fractions` (each near round(fraction × n), at most its cap) and "rest".

    `key(example)` names an example's whole input: a component's place in the order is the seeded hash of its
    smallest key. A component goes to the first part it brings nearer to its target (2·len + size < 2·target),
    else to "rest"; every part keeps file order."""
    n = len(examples)
    targets = {name: min(int(round(frac * n)), caps.get(name, n)) for name, frac in fractions.items()}
    comps = components(examples, fields)
    rank = {id(c): hashlib.sha1(f"{seed}\x1f{min(key(examples[i]) for i in c)}".encode()).hexdigest() for c in comps}
    chosen: dict[str, list[int]] = {name: [] for name in [*fractions, "rest"]}
    for comp in sorted(comps, key=lambda c: rank[id(c)]):
        dest = next((p for p in fractions if 2 * len(chosen[p]) + len(comp) < 2 * targets[p]), "rest")
        chosen[dest].extend(comp)
    return {name: [examples[i] for i in sorted(idx)] for name, idx in chosen.items()}


def shared_text(train: list[dict], evaluated: list[dict], fields: tuple[str, ...]) -> float:
    """Share of `evaluated` examples that share the value of any of `fields` with a training example."""
    if not evaluated:
        return 0.0
    seen = {f: {text(ex[f]) for ex in train} for f in fields}
    hits = sum(any(text(ex[f]) in seen[f] for f in fields) for ex in evaluated)
    return round(hits / len(evaluated), 4)
