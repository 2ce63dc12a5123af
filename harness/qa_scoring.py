"""Extractive-QA answer scoring, exactly as the benchmarks' official evaluation scripts compute it.

- ``squad_pair``: SQuAD v1.1 (``evaluate-v1.1.py``): lowercase, drop ASCII punctuation and articles, split on
  whitespace; EM compares the normalised strings (two answers that both normalise to nothing match), F1 is the
  bag-of-tokens overlap (0 when nothing overlaps).
- ``cmrc_pair``: CMRC 2018 (``cmrc2018_evaluate.py`` v6): the script's own punctuation list; EM compares the
  lowercased, edge-stripped strings with that punctuation removed (inner spaces kept); F1 is the longest common
  contiguous run of tokens of a mixed segmentation (each CJK character U+4E00–U+9FA5 a token, other runs through
  nltk's word tokenizer).

The metrics (exact_match, qa_f1 in harness.metrics) take the best pair over a question's gold answers.
"""
from __future__ import annotations

import re
import string
from collections import Counter
from typing import Optional

_ASCII_PUNCT = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")

# cmrc2018_evaluate.py's `sp_char`, verbatim. '……' is one entry of two characters: no single character equals it,
# so the script never removes a lone '…' — kept as is, to score as the script does.
CMRC_PUNCT = frozenset(["-", ":", "_", "*", "^", "/", "\\", "~", "`", "+", "=",
                        "，", "。", "：", "？", "！", "“", "”", "；", "’", "《", "》", "……", "·", "、",
                        "「", "」", "（", "）", "－", "～", "『", "』"])
_CMRC_CJK = re.compile("[\u4e00-\u9fa5]")


def squad_tokens(text: Optional[str]) -> list[str]:
    """SQuAD v1.1 normalisation: lowercase, drop punctuation and articles, split on whitespace."""
    text = "".join(ch for ch in (text or "").lower() if ch not in _ASCII_PUNCT)
    return _ARTICLES.sub(" ", text).split()


def squad_pair(pred: Optional[str], gold: str) -> tuple[float, float]:
    """(exact match, F1) of one prediction against one gold answer, as SQuAD v1.1's script."""
    p, g = squad_tokens(pred), squad_tokens(gold)
    same = sum((Counter(p) & Counter(g)).values())
    if same == 0:
        return float(p == g), 0.0
    precision, recall = 1.0 * same / len(p), 1.0 * same / len(g)
    return float(p == g), (2 * precision * recall) / (precision + recall)


def _word_tokenize(text: str) -> list[str]:
    from nltk.tokenize import word_tokenize  # no sentence splitter with preserve_line: no downloaded data

    return word_tokenize(text, preserve_line=True)


def cmrc_tokens(text: Optional[str]) -> list[str]:
    """CMRC 2018 mixed segmentation with punctuation removed (the script's ``mixed_segmentation(s, rm_punc=True)``).

    A removed punctuation character does not end a run of other characters ("COVID-19" is one run, "covid19")."""
    tokens: list[str] = []
    run = ""
    for ch in (text or "").lower().strip():
        if ch in CMRC_PUNCT:
            continue
        if _CMRC_CJK.match(ch):
            if run:
                tokens += _word_tokenize(run)
                run = ""
            tokens.append(ch)
        else:
            run += ch
    return tokens + (_word_tokenize(run) if run else [])


def cmrc_strip(text: Optional[str]) -> str:
    """The string CMRC 2018's EM compares (the script's ``remove_punctuation``)."""
    return "".join(ch for ch in (text or "").lower().strip() if ch not in CMRC_PUNCT)


def _longest_common_run(a: list[str], b: list[str]) -> int:
    """Length of the longest common contiguous run of two token lists."""
    best, prev = 0, [0] * (len(b) + 1)
    for x in a:
        cur = [0] * (len(b) + 1)
        for j, y in enumerate(b):
            if x == y:
                cur[j + 1] = prev[j] + 1
                best = max(best, cur[j + 1])
        prev = cur
    return best


def cmrc_pair(pred: Optional[str], gold: str) -> tuple[float, float]:
    """(exact match, F1) of one prediction against one gold answer, as CMRC 2018's script (v6).

    A None prediction (no answer) scores as an empty string, where the script would score the text 'None'."""
    em = float(cmrc_strip(pred) == cmrc_strip(gold))
    p, g = cmrc_tokens(pred), cmrc_tokens(gold)
    common = _longest_common_run(g, p)
    if common == 0:
        return em, 0.0
    precision, recall = 1.0 * common / len(p), 1.0 * common / len(g)
    return em, (2 * precision * recall) / (precision + recall)
