"""The unanchored tiers: what a response states without a box or an "answer is" anchor.

`r1lab.grading.extract` tries these last (tiers 5-7 of its list) on a response that was not cut
off: the last math environment (``latex``), the result the final sentence states (``sentence``,
`r1lab.grading.sentences`), and in a short response the final sentence's last number (``number``).
They compete by position, as math-verify's equal priorities do; the sentence tier, when it reads
the final sentence, is preferred to that sentence's last number. The helpers that read a math span
or a number out of a sentence (`joined_spans`, `last_number`) serve the anchored tiers too.
"""

from __future__ import annotations

import re

from r1lab.grading.answers import Found, join_parts, last_match
from r1lab.grading.latex_text import BOX_COMMANDS, looks_like_math, math_spans
from r1lab.grading.sentences import sentence_result

#: A response (after ``</think>``) up to this long may state its answer as a bare number.
SHORT_RESPONSE_CHARS = 1000
#: A one-line response up to this long with no prose is read whole, as math-verify reads a box.
BARE_LINE_CHARS = 200
_PLAIN_FRACTION_RE = re.compile(r"-?\\[dt]?frac\{-?\d+(?:[.,]\d+)?\}\{-?\d+(?:[.,]\d+)?\}")
_JOIN_RE = re.compile(r"^\s*(?:,?\s*and|,?\s*or|,)\s*$", re.IGNORECASE)
_PERCENT_AFTER_RE = re.compile(r"^\s*(?:\\?%|percent\b)", re.IGNORECASE)
SENTENCE_END_RE = re.compile(r"[.!?](?=\s|$)|\n")
_NUMBER_RE = re.compile(
    r"(?<![\w.^_{}\\/])-?(?:[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?|\d+(?:[.,]\d+)?|\.\d+)"
    r"(?:\s*/\s*\d+(?!\d|\.\d))?(?![\d^_{}\\/]|\.\d)"
)


def bare_answer(text: str) -> Found | None:
    """Bare math: the last math environment, the result the final sentence states, or (in a short
    response) the last number of the final sentence; the rightmost wins, as math-verify gives them
    the same priority ("costs $2. She pays 9 * 2 = 18" is 18)."""
    sentence = _sentence_tier(text)
    # the sentence tier reads the final sentence more closely than its last number does
    number = None if sentence is not None else _number(text)
    candidates = [found for found in (_latex(text), sentence, number) if found is not None]
    return max(candidates, key=lambda found: found.end) if candidates else None


def _latex(text: str) -> Found | None:
    spans = math_spans(text)
    fractions = [
        (m.start(), m.end(), m.start(), m.end())
        for m in _PLAIN_FRACTION_RE.finditer(text)
        if not _inside(m, spans)
    ]
    candidates = sorted(spans + fractions, key=lambda s: (s[1], -s[0]))
    if not candidates:
        line = text.strip()
        unclosed_box = any(command in line for command in BOX_COMMANDS)
        if len(line) <= BARE_LINE_CHARS and "\n" not in line and not unclosed_box and looks_like_math(line):
            # the whole (one-line) response is an expression: "35.0\%"
            start = text.find(line)
            return Found(line, True, "latex", start, start + len(line))
        return None
    return joined_spans(text, candidates, len(candidates) - 1)._replace(tier="latex")


def _sentence_tier(text: str) -> Found | None:
    found = sentence_result(text)
    return None if found is None else Found(found[0], True, "sentence", found[1], found[2])


def _number(text: str) -> Found | None:
    if len(text) > SHORT_RESPONSE_CHARS:
        return None
    text = text.rstrip()
    sentences = [m.end() for m in SENTENCE_END_RE.finditer(text) if m.end() < len(text.rstrip(".!? \n"))]
    start = sentences[-1] if sentences else 0
    number = last_number(text[start:])
    return None if number is None else Found(number[0], True, "number", start + number[1], start + number[2])


def last_number(text: str) -> tuple[str, int, int] | None:
    """The last plain number of ``text`` (with its percent sign), as written, and where it is."""
    last = last_match(_NUMBER_RE, text)
    if last is None:
        return None
    number = last.group(0).replace(" ", "")
    if _PERCENT_AFTER_RE.match(text[last.end() :]):
        number += "\\%"
    return number, last.start(), last.end()


def joined_spans(text: str, spans: list[tuple[int, int, int, int]], last: int) -> Found:
    """Span ``last`` with the spans before it joined by "and"/"or"/"," (math-verify reads them as a set)."""
    group = [spans[last]]
    for span in reversed(spans[:last]):
        if len(group) >= 6 or not _JOIN_RE.match(text[span[1] : group[0][0]]):
            break
        group.insert(0, span)
    contents = []
    for _, end, inner_start, inner_end in group:
        content = text[inner_start:inner_end]
        if _PERCENT_AFTER_RE.match(text[end : end + 20]) and "%" not in content:
            content += "\\%"
        contents.append(content)
    return Found(join_parts(contents), False, "", group[0][0], group[-1][1])


def _inside(match: re.Match[str], spans: list[tuple[int, int, int, int]]) -> bool:
    return any(start <= match.start() and match.end() <= end for start, end, _, _ in spans)


__all__ = [
    "BARE_LINE_CHARS",
    "SENTENCE_END_RE",
    "SHORT_RESPONSE_CHARS",
    "bare_answer",
    "joined_spans",
    "last_number",
]
