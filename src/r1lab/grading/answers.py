"""What the grader keeps of an answer once found, and the gold side of every comparison.

`r1lab.grading.extract` finds where a response states its answer; this module turns what it found
into an `Extraction` (each part trimmed and normalised by `clean_answer`, parts joined as a set)
and reads gold values the same way (`gold_extraction`), so prediction and gold pass through one
clean-up. Gold values also get the repairs a reference column needs and a model's answer never
does (`normalize_gold`): ``-1./3``, a float literal's trailing dot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

from r1lab.grading.latex_text import BOX_COMMANDS, boxes, math_spans
from r1lab.grading.normalize import normalize_latex, normalize_plain_number

#: Longest answer we keep: anything longer is not an answer but a runaway box or line.
MAX_ANSWER_CHARS = 2000
#: Joins the parts of a multi-part answer inside a `Found` (split again by `to_extraction`).
PART_SEPARATOR = "\x1f"
#: "I hope it is correct." (Minerva's prompt) ends an answer.
HOPE_RE = re.compile(r"\.?\s*I hope it is correct", re.IGNORECASE)
_EMPTY_BOX_RE = re.compile(r"^\\(?:boxed|fbox)\s*\{\s*\}$")
_TRAILING_DOT_RE = re.compile(r"(?<![\d.])(\d+)\.(?=\s*/)")
#: An exclusion qualifying an answer ("for ω² ≠ 4"): the values where the expression is undefined,
#: which the expression already implies. A condition that restricts the answer ("for ω < 2", "for
#: t > 0") is a claim of its own and is kept (math-verify then compares the whole).
_EXCLUSION_RE = re.compile(
    r"(?:,|\\q?quad|\\[,;:!]|\s)*\\text\s*\{\s*(?:for|where|if|when|provided)\b[^{}]*\}"
    r"[^<>≤≥]*?(?:\\neq?\b|≠)[^<>≤≥]*$",
    re.DOTALL,
)
_GSM8K_RE = re.compile(r"####\s*")
_BOX_GAP_RE = re.compile(
    r"^(?:[\s$,;&]|\\[()\[\]]|\\q?quad|\\text\s*\{\s*(?:and|or)\s*\}|\band\b|\bor\b"
    r"|[A-Za-z](?:_\{?\w+\}?)?\s*=)*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Extraction:
    """The answer a response states, the tier (one of `TIERS`) that found it, and where it is."""

    answer: str
    tier: str
    #: The separate answers of a multi-part answer (several boxes, "$1$ and $2$"), else ``(answer,)``.
    parts: tuple[str, ...] = ()
    #: (start, end) of the text the answer was read from, as offsets into the response.
    span: tuple[int, int] | None = None
    #: The response format its sections were read in (`r1lab.formats`).
    format: str | None = None


class Found(NamedTuple):
    """A tier's find, before cleaning: the raw answer (parts joined by `PART_SEPARATOR`) and where."""

    raw: str
    plain: bool
    tier: str
    start: int
    end: int


def to_extraction(found: Found, offset: int = 0, fmt: str | None = None) -> Extraction | None:
    """Clean each part of a found answer; the answer is the parts joined (math-verify reads a set)."""
    parts = [clean_answer(part, plain=found.plain) for part in found.raw.split(PART_SEPARATOR)]
    parts = list(dict.fromkeys(part for part in parts if part))
    joined = ", ".join(parts)
    if not parts or len(joined) > MAX_ANSWER_CHARS:
        return None
    return Extraction(joined, found.tier, tuple(parts), (offset + found.start, offset + found.end), fmt)


def normalize_gold(text: str) -> str:
    """A plain gold value as its author meant it, where a reference column writes it as code does.

    ``-1./3`` and ``-3./2`` (float literals with a trailing dot, as Minerva's golds write them) are
    ``-1/3`` and ``-3/2``; math-verify cannot parse them at all. Scientific notation (``1e-5``) is
    left as it is: rewritten as ``1 \\times 10^{-5}`` it makes math-verify compare tiny values with
    an absolute tolerance (``13.252 \\times 10^{-27}`` would equal ``1.325e-27``), which the corpus
    showed wrong 50 times for the one row it would fix.
    """
    return _TRAILING_DOT_RE.sub(r"\1", text)


def gold_answer(gold: object) -> str | None:
    """The answer part of a gold value (see `gold_extraction`)."""
    found = gold_extraction(gold)
    return found.answer if found else None


def gold_extraction(gold: object) -> Extraction | None:
    """The answer part of a gold value: a plain answer, or a reference solution with ``\\boxed{}``/``####``.

    A gold that is a whole solution is reduced to its boxed answer (several boxes of its final
    statement: a set) or its ``####`` answer; anything else is the answer itself, minus math
    delimiters. Numbers become their text.
    """
    if gold is None or isinstance(gold, bool):
        return None
    if isinstance(gold, float) and gold.is_integer():
        gold = int(gold)
    text = str(gold).strip()
    if not text:
        return None
    if any(command in text for command in BOX_COMMANDS):
        group = final_boxes(text)
        found = (
            Found(join_parts([c for _, _, c in group]), False, "gold", 0, 0) if group else _unclosed_box(text)
        )
    elif "####" in text:
        found = gsm8k_answer(text)
    else:
        text = normalize_gold(text)
        found = Found(text, False, "gold", 0, len(text))
    return to_extraction(found._replace(tier="gold")) if found is not None else None


def _unclosed_box(text: str) -> Found | None:
    """A gold whose box never closes (a cut reference): the rest of it, as math-verify reads it."""
    start = max(text.rfind(command + "{") for command in BOX_COMMANDS)
    if start < 0:
        return None
    rest = text[text.index("{", start) + 1 :].strip().rstrip("$").strip()
    return Found(rest, False, "gold", start, len(text)) if rest else None


def final_boxes(text: str) -> list[tuple[int, int, str]]:
    """The boxes of the final statement: the last non-empty box and those before it joined by
    separators only, or sharing its display-math environment (``$$\boxed{a} \text{ and } \boxed{b}$$``)."""
    found = [box for box in boxes(text) if box[2].strip()]
    if not found:
        return []
    last = found[-1]
    display = [s for s in math_spans(text) if s[0] <= last[0] and last[1] <= s[1]]
    group = [last]
    for box in reversed(found[:-1]):
        if box[1] > group[0][0]:
            break  # nested in the next box
        same_env = bool(display) and display[0][0] <= box[0]
        if not same_env and not _BOX_GAP_RE.match(text[box[1] : group[0][0]]):
            break  # separated from it by words: an earlier statement
        group.insert(0, box)
    return group


def gsm8k_answer(text: str) -> Found | None:
    last = last_match(_GSM8K_RE, text)
    if last is None:
        return None
    line = text[last.end() :].split("\n", 1)[0]
    return Found(line.strip(), True, "gsm8k", last.start(), last.end() + len(line))


def join_parts(contents: list[str]) -> str:
    """Several answers as one string, split again (and cleaned one by one) in `_extraction`."""
    return PART_SEPARATOR.join(c.strip() for c in contents if c.strip())


def last_match(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    last = None
    for match in pattern.finditer(text):
        last = match
    return last


def clean_answer(answer: str, *, plain: bool = False) -> str | None:
    """Trim an answer (whitespace, math delimiters, a closing period, markdown bold) and normalise it.

    ``plain``: the answer was written as plain text, not LaTeX, so ``1,000`` and ``2,74`` are
    numbers as math-verify's expression extraction reads them (inside LaTeX, ``1,2`` is a set).
    An empty box (``\\boxed{}``) is no answer. An exclusion after the answer ("\\text{for } \\omega^2
    \\neq 4") is dropped: the expression implies it.
    """
    answer = HOPE_RE.split(answer, 1)[0].strip().strip("*").strip()
    for opener, closer in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
        if answer.startswith(opener) and answer.endswith(closer) and len(answer) >= len(opener) + len(closer):
            answer = answer[len(opener) : len(answer) - len(closer)].strip()
    if not answer.endswith("\\."):
        answer = answer.rstrip(".").strip()
    exclusion = _EXCLUSION_RE.search(answer)
    if (
        exclusion and exclusion.start() > 0
    ):  # "\\frac{1}{4 - \\omega^2}, \\quad \\text{for } \\omega^2 \\neq 4"
        answer = answer[: exclusion.start()].strip()
    if plain:
        answer = normalize_plain_number(answer.lstrip("$") if re.match(r"^\$\d", answer) else answer)
    if not answer or len(answer) > MAX_ANSWER_CHARS or _EMPTY_BOX_RE.match(answer):
        return None
    return normalize_latex(answer) or None


__all__ = [
    "HOPE_RE",
    "MAX_ANSWER_CHARS",
    "PART_SEPARATOR",
    "Extraction",
    "Found",
    "clean_answer",
    "final_boxes",
    "gold_answer",
    "gold_extraction",
    "gsm8k_answer",
    "join_parts",
    "normalize_gold",
    "last_match",
    "to_extraction",
]
