"""The result a response's final sentence states, at any length: "Therefore, the degree is 3."

A long chain of thought often ends without a box or an "answer is" anchor, in a sentence that
states the result: "Therefore, the number of divisors of 196 is 9.", "The distance is 100
parsecs.", "Two people accept the position." This module reads such a sentence, and only such a
sentence: a complete one (it ends with ``.`` or ``!``) whose result closes it after a verb ("is",
"are", "equals", "=") with at most a few unit words after it, or opens it as a counted subject.
A number in the body of a long response, or a sentence cut off mid-way ("So far 3 + 4 = 7"), is
never an answer. Closing remarks about the answer ("I think that's the answer.") are skipped.
Numbers may be words: "nine", "twenty-one", "two thirds", "one hundred and five".
"""

from __future__ import annotations

import re

from r1lab.grading.latex_text import mask_spans, math_spans

#: How far back from the end the final sentence is looked for (a sentence longer than this is prose).
TAIL_CHARS = 1500

_UNITS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
]
_UNITS += ["sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80}
_TENS["ninety"] = 90
SMALL = {word: value for value, word in enumerate(_UNITS)} | _TENS
_DENOMINATORS = {"half": 2, "halves": 2, "third": 3, "quarter": 4, "fourth": 4, "fifth": 5, "sixth": 6}
_DENOMINATORS |= {"seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10}
_SMALL_RE = "|".join(sorted(SMALL, key=len, reverse=True))
_DENOM_RE = "|".join(sorted(_DENOMINATORS, key=len, reverse=True))
_WORD_NUMBER = (
    rf"(?:(?:{_SMALL_RE}|a)(?:[- ](?:{_SMALL_RE}))?\s+(?:hundred|thousand)(?:\s+(?:and\s+)?(?:{_SMALL_RE})"
    rf"(?:[- ](?:{_SMALL_RE}))?)?|(?:{_SMALL_RE})(?:-(?:{_SMALL_RE}))?)"
)
_FRACTION = rf"(?:(?:{_SMALL_RE}|a)[- ](?:{_DENOM_RE})s?|half)"
#: A number as written in prose: digits (with separators, a sign, a decimal part, a fraction, a
#: currency sign or percent), or number words.
NUMBER = (
    r"(?:\$\s?)?-?(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)(?:\s*/\s*\d+)?(?:\s*(?:\\?%|percent\b))?"
    rf"|\b(?:{_FRACTION}|{_WORD_NUMBER})\b"
)
_VERB = (
    r"(?:is|are|was|were|be|equals?|=|gives|yields|makes|totals?|comes\s+to|becomes|has|have|had|equal\s+to)"
)
_QUALIFIER = (
    r"(?:(?:exactly|approximately|about|around|roughly|only|just|now|therefore|then|also|indeed|still|"
    r"actually|simply|clearly|precisely|equal\s+to)\s+)?"
)
_UNIT_WORDS = (
    r"(?:\s+(?!(?:of|the|a|an|that|which|when|if|because|since|for|than|and|or|but|not)\b)[A-Za-z'’-]+){0,5}"
)
_RESULT_RE = re.compile(
    rf"(?:^|\s){_VERB}\s+{_QUALIFIER}(?P<result>{NUMBER}){_UNIT_WORDS}\s*(?:in\s+total|altogether)?\s*[.!]?$",
    re.IGNORECASE,
)
_SUBJECT_RE = re.compile(
    rf"^(?:(?:so|thus|therefore|hence|in\s+total|altogether|overall|finally|in\s+conclusion),?\s+)?"
    rf"(?:there\s+(?:are|is|were|was|will\s+be)\s+)?(?:only\s+)?(?P<result>{NUMBER})\s+[A-Za-z]",
    re.IGNORECASE,
)
_ANY_NUMBER_RE = re.compile(NUMBER, re.IGNORECASE)
_SENTENCE_END_RE = re.compile(r"[.!?](?=\s|$)|\n")
_CLOSING_RE = re.compile(
    r"\b(?:answer|correct|right|confident|sense|checks?\s+out|that'?s\s+it|should\s+be\s+it|done|hope)\b",
    re.IGNORECASE,
)


def word_number(text: str) -> str | None:
    """A number written in words as a plain number: "twenty-one" -> "21", "two thirds" -> "2/3"."""
    words = re.split(r"[\s-]+", text.strip().lower())
    if not words or not all(
        w in SMALL
        or w in _DENOMINATORS
        or w.rstrip("s") in _DENOMINATORS
        or w in ("a", "and", "hundred", "thousand")
        for w in words
    ):
        return None
    last = words[-1]
    denominator = _DENOMINATORS.get(last, _DENOMINATORS.get(last.rstrip("s")))
    if denominator is not None:
        numerator = _count(words[:-1]) if len(words) > 1 else 1
        return None if numerator is None else f"{numerator}/{denominator}"
    value = _count(words)
    return None if value is None else str(value)


def _count(words: list[str]) -> int | None:
    total = current = 0
    seen = False
    for word in words:
        if word == "and":
            continue
        if word == "a":
            current, seen = 1, True
        elif word in SMALL:
            current, seen = current + SMALL[word], True
        elif word == "hundred":
            current = max(current, 1) * 100
        elif word == "thousand":
            total, current = total + max(current, 1) * 1000, 0
        else:
            return None
    return total + current if seen else None


def plain_number(written: str) -> str:
    """A number as the grader reads it: words converted, a currency sign and spaces dropped."""
    spoken = word_number(written)
    if spoken is not None:
        return spoken
    number = re.sub(r"\s+", "", written).lstrip("$")
    return re.sub(r"percent$", "\\%", number).replace("%", "\\%").replace("\\\\%", "\\%")


def final_sentence(text: str) -> tuple[int, int, bool] | None:
    """(start, end, complete) of the last sentence of ``text`` that is not a closing remark.

    ``complete``: it ends with ``.`` or ``!`` (a sentence cut off mid-way does not).
    """
    tail_start = max(0, len(text) - TAIL_CHARS)
    tail = text[tail_start:]
    masked = mask_spans(tail, math_spans(tail))
    ends = [m.end() for m in _SENTENCE_END_RE.finditer(masked)]
    bounds = []
    start = 0
    for end in [*ends, len(masked)]:
        if masked[start:end].strip():
            bounds.append((start, end))
        start = end
    for start, end in reversed(bounds[-4:]):
        sentence = masked[start:end].strip()
        remark = not re.search(r"[\d\x00]", sentence) and not _ANY_NUMBER_RE.search(sentence)
        if remark and _CLOSING_RE.search(sentence):
            continue  # "I think that's the answer.", "Yes, that checks out."
        complete = sentence[-1] in ".!"
        return tail_start + start, tail_start + end, complete
    return None


def sentence_result(text: str) -> tuple[str, int, int] | None:
    """The result the final sentence of ``text`` states: (number, start, end), offsets into ``text``."""
    found = final_sentence(text)
    if found is None or not found[2]:
        return None
    start, end, _ = found
    masked = mask_spans(text[start:end], math_spans(text[start:end]))
    body = masked.strip()
    offset = start + (len(masked) - len(masked.lstrip()))
    match = _RESULT_RE.search(body)
    if match is None:
        subject = _SUBJECT_RE.match(body)
        # "Two people accept the position.": the counted subject, when it is the sentence's only number
        if subject is None or len(_ANY_NUMBER_RE.findall(body)) != 1 or "\x00" in body:
            return None
        match = subject
    written = match.group("result")
    return plain_number(written), offset + match.start("result"), offset + match.end("result")


__all__ = ["NUMBER", "final_sentence", "plain_number", "sentence_result", "word_number"]
