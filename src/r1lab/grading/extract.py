"""Find the final answer a response states, as a short string, in time linear in its length.

Extraction is plain string work (no sympy), so it runs in the calling process and only the short
answer travels to a grading worker. Tiers, tried in this order; the first that finds something wins:

1. ``boxed``: every ``\\boxed{}``/``\\fbox{}`` of the final statement (boxes joined only by
   commas, "and", "or", ``$``, ``x =``); several boxes are one answer, a set: ``1, -2``.
2. ``gsm8k``: the last ``#### N``.
3. ``final_answer``: after the last "final answer is" / "Final Answer:" / "Answer:" label, the
   math span, else the final token sequence of that sentence (``The largest $n$ is 34.`` -> 34).
4. ``answer_is``: the same after "the answer is" (math-verify's weaker "answer" anchor).
5. ``latex``: the last math environment (``$..$``, ``$$..$$``, ``\\(..\\)``, ``\\[..\\]``, or a
   plain ``\\frac{a}{b}``), with its neighbours joined by "and"/"or"/"," as math-verify reads them;
   a one-line response with no prose is read whole (``35.0\\%``, ``x = 5``).
6. ``number``: the last number of the final sentence, only for a SHORT response (GSM8K style,
   at most `SHORT_RESPONSE_CHARS` after ``</think>``); never a number from the body of a long one.
   Tiers 5 and 6 compete by position: the rightmost wins, as math-verify's equal priorities do.

Anything after a chat-template token (``<|im_start|>user``, ``<|im_end|>``, ``</s>``) is not part
of the response, and "I hope it is correct." ends an answer. A response that was cut off
(``finish_reason == "length"``, or a ``<think>`` never closed) keeps only what it *stated*:
tiers 1-3. Without one of those it has no answer: a truncated trace whose last number happens
to equal the gold is not a correct answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from r1lab.grading.latex_text import BOX_COMMANDS, boxes, last_boxed, looks_like_math, math_spans
from r1lab.grading.normalize import normalize_latex, normalize_plain_number
from r1lab.prompts import THINK_END, THINK_START, split_reasoning

#: Longest answer we keep: anything longer is not an answer but a runaway box or line.
MAX_ANSWER_CHARS = 2000
#: A response (after ``</think>``) up to this long may state its answer as a bare number.
SHORT_RESPONSE_CHARS = 1000
#: A one-line response up to this long with no prose is read whole, as math-verify reads a box.
BARE_LINE_CHARS = 200
TIERS = ("boxed", "gsm8k", "final_answer", "answer_is", "latex", "number")
#: What a cut-off response must have stated to have an answer at all.
STATED_TIERS = ("boxed", "gsm8k", "final_answer")

_PART_SEPARATOR = "\x1f"
_CHAT_TOKEN_RE = re.compile(r"<\|[A-Za-z_][\w.-]{1,40}\|>|<｜[^｜<>\n]{1,40}｜>|</s>")
_HOPE_RE = re.compile(r"\.?\s*I hope it is correct", re.IGNORECASE)
_FINAL_ANSWER_RE = re.compile(
    r"\bfinal\s+answer\b(?:\s*\**\s*(?:is\b|:|=|\n))\s*:?\s*\**\s*:?"
    r"|^[ \t>#*_-]*answer\s*\**\s*:\s*\**",  # "Answer:" as a label, not "check our answer: ..."
    re.IGNORECASE | re.MULTILINE,
)
_ANSWER_IS_RE = re.compile(r"\banswer\s+(?:is|would\s+be|should\s+be|=)\s*:?", re.IGNORECASE)
_GSM8K_RE = re.compile(r"####\s*")
_PLAIN_FRACTION_RE = re.compile(r"-?\\[dt]?frac\{-?\d+(?:[.,]\d+)?\}\{-?\d+(?:[.,]\d+)?\}")
_JOIN_RE = re.compile(r"^\s*(?:,?\s*and|,?\s*or|,)\s*$", re.IGNORECASE)
_BOX_GAP_RE = re.compile(
    r"^(?:[\s$,;&]|\\[()\[\]]|\\q?quad|\\text\s*\{\s*(?:and|or)\s*\}|\band\b|\bor\b"
    r"|[A-Za-z](?:_\{?\w+\}?)?\s*=)*$",
    re.IGNORECASE,
)
_PERCENT_AFTER_RE = re.compile(r"^\s*(?:\\?%|percent\b)", re.IGNORECASE)
_SENTENCE_END_RE = re.compile(r"[.!?](?=\s|$)|\n")
#: The opening of a sentence up to its first real word: numbers, symbols, short tokens ("p.m.", "cm").
_LEADING_MATH_RE = re.compile(
    r"^[^A-Za-z\x00]*(?:(?!(?:is|as|so|of|an|at|by|in|it|on|to|we|be|if|no|or)\b)[A-Za-z]{1,2}\b[^A-Za-z\x00]*)*"
    r"(?<!\s)(?=\s+[A-Za-z]{2,}|\s*$)",
    re.IGNORECASE,
)
_JOINER_RE = re.compile(r",?\s*(?:and|or)\s+", re.IGNORECASE)
_VERB_RE = re.compile(r"\s(?:is|are|was|equals|be)\s", re.IGNORECASE)
_NUMBER_RE = re.compile(
    r"(?<![\w.^_{}\\/])-?(?:[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?|\d+(?:[.,]\d+)?|\.\d+)"
    r"(?:\s*/\s*\d+(?!\d|\.\d))?(?![\d^_{}\\/]|\.\d)"
)


@dataclass(frozen=True)
class Extraction:
    """The answer a response states, and the tier (one of `TIERS`) that found it."""

    answer: str
    tier: str
    #: The separate answers of a multi-part answer (several boxes, "$1$ and $2$"), else ``(answer,)``.
    parts: tuple[str, ...] = ()


def extract_answer(
    response: str | None, *, after_think: bool = True, finish_reason: str | None = None
) -> str | None:
    """The final answer of a response as a string, or None when it states none.

    With ``after_think`` (the default) a response containing ``</think>`` is searched only after
    the last ``</think>``, so an answer tried and dropped during reasoning never counts.
    """
    found = find_answer(response, after_think=after_think, finish_reason=finish_reason)
    return found.answer if found else None


def find_answer(
    response: str | None, *, after_think: bool = True, finish_reason: str | None = None
) -> Extraction | None:
    """Like `extract_answer`, with the tier that found the answer."""
    if not response:
        return None
    text = strip_chat_tail(response)
    unclosed = THINK_START in text and THINK_END not in text.rsplit(THINK_START, 1)[1]
    truncated = finish_reason == "length" or unclosed
    if unclosed:
        text = text.replace(THINK_START, " ")
    elif after_think:
        text = split_reasoning(text)[1]
    for tier in STATED_TIERS if truncated else _FINDERS:
        found = _FINDERS[tier](text)
        if found is None:
            continue
        extraction = _extraction(found[0], found[1], found[2] if len(found) > 2 else tier)
        if extraction is not None:
            return extraction
    return None


def _extraction(answer: str, plain: bool, tier: str) -> Extraction | None:
    """Clean each part of a found answer; the answer is the parts joined (math-verify reads a set)."""
    parts = [clean_answer(part, plain=plain) for part in answer.split(_PART_SEPARATOR)]
    parts = list(dict.fromkeys(part for part in parts if part))
    joined = ", ".join(parts)
    if not parts or len(joined) > MAX_ANSWER_CHARS:
        return None
    return Extraction(joined, tier, tuple(parts))


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
        group = _final_boxes(text)
        found = (_join([content for _, _, content in group]), False) if group else _unclosed_box(text)
    elif "####" in text:
        found = _gsm8k(text)
    else:
        found = (text, False)
    return _extraction(*found, "gold") if found is not None else None


def _unclosed_box(text: str) -> tuple[str, bool] | None:
    """A gold whose box never closes (a cut reference): the rest of it, as math-verify reads it."""
    start = max(text.rfind(command + "{") for command in BOX_COMMANDS)
    if start < 0:
        return None
    rest = text[text.index("{", start) + 1 :].strip().rstrip("$").strip()
    return (rest, False) if rest else None


def strip_chat_tail(text: str) -> str:
    """The response without chat-template tokens: leading ones dropped, everything from the next one cut."""
    while True:
        match = _CHAT_TOKEN_RE.search(text)
        if match is None:
            return text
        if text[: match.start()].strip():
            return text[: match.start()]
        text = text[match.end() :]


# ----------------------------------------------------------------------------- tiers
def _boxed(text: str) -> tuple[str, bool] | None:
    group = _final_boxes(text)
    if not group:
        return None
    label = _last_match(_FINAL_ANSWER_RE, text)
    if label is not None and label.start() >= group[-1][1]:
        # "... \boxed{255} ... Final Answer: The final answer is $10,455$.": the last statement wins,
        # if it states math ("this is the final answer: we are done" does not replace a box)
        stated = _final_answer(text)
        if stated is not None and re.search(r"[\d\\]", stated[0]):
            return None
    return _join([content for _, _, content in group]), False


def _final_boxes(text: str) -> list[tuple[int, int, str]]:
    """The boxes of the final statement: the last box and those before it joined by separators only,
    or sharing its display-math environment (``$$\boxed{a} \text{ and } \boxed{b}$$``)."""
    found = boxes(text)
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


def _gsm8k(text: str) -> tuple[str, bool] | None:
    last = _last_match(_GSM8K_RE, text)
    if last is None:
        return None
    return text[last.end() :].split("\n", 1)[0].strip(), True


def _final_answer(text: str) -> tuple[str, bool] | None:
    last = _last_match(_FINAL_ANSWER_RE, text)
    return None if last is None else _answer_span(text[last.end() :])


def _answer_is(text: str) -> tuple[str, bool] | None:
    last = _last_match(_ANSWER_IS_RE, text)
    return None if last is None else _answer_span(text[last.end() :])


def _answer_span(rest: str) -> tuple[str, bool] | None:
    """The answer opening ``rest``: a math span, else the final token sequence of the sentence."""
    rest = rest.lstrip(" \t*:")
    if rest.startswith("\n"):
        rest = rest.lstrip()
    rest = _HOPE_RE.split(rest, 1)[0]
    spans = math_spans(rest[: MAX_ANSWER_CHARS * 2])
    if spans and spans[0][0] == 0:  # "$\frac{3}{4}$. I hope ...": the span itself
        return _joined_spans(rest, spans, 0)
    sentence = _sentence(rest, spans)
    masked = _mask(sentence, spans)
    lead = _LEADING_MATH_RE.match(masked)
    if lead and re.search(r"\d", lead.group(0)) and "\x00" not in lead.group(0):
        # "12,000,023", "5 because it is the only even prime", "4:30 p.m.": what opens the sentence;
        # "2 and 3": several of them, a set
        parts, position = [sentence[: lead.end()]], lead.end()
        while len(parts) < 6:
            joiner = _JOINER_RE.match(masked, position)
            more = _LEADING_MATH_RE.match(masked[joiner.end() :]) if joiner else None
            if not more or not re.search(r"\d", more.group(0)) or "\x00" in more.group(0):
                break
            parts.append(sentence[joiner.end() : joiner.end() + more.end()])
            position = joiner.end() + more.end()
        return _join([part.strip().rstrip(".,;:") for part in parts]), True
    verbs = list(_VERB_RE.finditer(masked))
    start = verbs[-1].end() if verbs else 0
    tail = sentence[start:].strip()
    inner = [s for s in spans if s[0] >= start and s[1] <= len(sentence)]
    if inner:  # "the integer $34$": the math, not the words around it
        return _joined_spans(sentence, inner, len(inner) - 1)
    tail = tail.strip().strip("*").strip()
    if tail and not looks_like_math(tail) and len(tail) <= SHORT_RESPONSE_CHARS:
        # "Jane started growing Sphere 3 hours ago", "34 apples": the number, not the words
        number = _last_number(tail)
        if number is not None:
            return number, True
    return (tail, True) if tail else None


def _bare(text: str) -> tuple[str, bool, str] | None:
    """Bare math: the last math environment; in a short response, the last number of the final
    sentence when it comes after that environment (math-verify gives both the same priority and
    reads the rightmost: "costs $2. She pays 9 * 2 = 18" is 18)."""
    latex = _latex(text)
    number = _number(text)
    if number is not None and (latex is None or text.rfind(number[0].replace("\\%", "")) >= latex[2]):
        return number[0], True, "number"
    return None if latex is None else (latex[0], latex[1], "latex")


def _latex(text: str) -> tuple[str, bool, int] | None:
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
            return line, True, len(text)  # the whole (one-line) response is an expression: "35.0\%"
        return None
    return (*_joined_spans(text, candidates, len(candidates) - 1), candidates[-1][1])


def _number(text: str) -> tuple[str, bool] | None:
    if len(text) > SHORT_RESPONSE_CHARS:
        return None
    text = text.rstrip()
    sentences = [m.end() for m in _SENTENCE_END_RE.finditer(text) if m.end() < len(text.rstrip(".!? \n"))]
    final = text[sentences[-1] :] if sentences else text
    number = _last_number(final)
    return None if number is None else (number, True)


def _last_number(text: str) -> str | None:
    """The last plain number of ``text`` (with its percent sign), as written."""
    last = _last_match(_NUMBER_RE, text)
    if last is None:
        return None
    number = last.group(0).replace(" ", "")
    if _PERCENT_AFTER_RE.match(text[last.end() :]):
        number += "\\%"
    return number


_FINDERS = {
    "boxed": _boxed,
    "gsm8k": _gsm8k,
    "final_answer": _final_answer,
    "answer_is": _answer_is,
    "bare": _bare,
}


# ----------------------------------------------------------------------------- helpers
def _joined_spans(text: str, spans: list[tuple[int, int, int, int]], last: int) -> tuple[str, bool]:
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
    return _join(contents), False


def _join(contents: list[str]) -> str:
    """Several answers as one string, split again (and cleaned one by one) in `_extraction`."""
    return _PART_SEPARATOR.join(c.strip() for c in contents if c.strip())


def _sentence(rest: str, spans: list[tuple[int, int, int, int]]) -> str:
    """``rest`` up to the end of its first sentence (a period inside math does not end it)."""
    masked = _mask(rest, spans)
    end = _SENTENCE_END_RE.search(masked)
    return rest[: end.start()] if end else rest


def _mask(text: str, spans: list[tuple[int, int, int, int]]) -> str:
    if not spans:
        return text
    chars = list(text)
    for start, end, _, _ in spans:
        for index in range(start, min(end, len(chars))):
            chars[index] = "\x00"
    return "".join(chars)


def _inside(match: re.Match[str], spans: list[tuple[int, int, int, int]]) -> bool:
    return any(start <= match.start() and match.end() <= end for start, end, _, _ in spans)


def _last_match(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    last = None
    for match in pattern.finditer(text):
        last = match
    return last


def clean_answer(answer: str, *, plain: bool = False) -> str | None:
    """Trim an answer (whitespace, math delimiters, a closing period, markdown bold) and normalise it.

    ``plain``: the answer was written as plain text, not LaTeX, so ``1,000`` and ``2,74`` are
    numbers as math-verify's expression extraction reads them (inside LaTeX, ``1,2`` is a set).
    """
    answer = _HOPE_RE.split(answer, 1)[0].strip().strip("*").strip()
    for opener, closer in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
        if answer.startswith(opener) and answer.endswith(closer) and len(answer) >= len(opener) + len(closer):
            answer = answer[len(opener) : len(answer) - len(closer)].strip()
    if not answer.endswith("\\."):
        answer = answer.rstrip(".").strip()
    if plain:
        answer = normalize_plain_number(answer.lstrip("$") if re.match(r"^\$\d", answer) else answer)
    if not answer or len(answer) > MAX_ANSWER_CHARS:
        return None
    return normalize_latex(answer) or None


__all__ = [
    "BOX_COMMANDS",
    "STATED_TIERS",
    "TIERS",
    "Extraction",
    "boxes",
    "clean_answer",
    "extract_answer",
    "find_answer",
    "gold_answer",
    "gold_extraction",
    "last_boxed",
    "math_spans",
    "strip_chat_tail",
]
