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
    r"(?:\$\s?)?-?(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)(?:\s*/\s*\d+)?"
    r"(?:\s*(?:\\?%|percent\b)|°\s?[CF]?\b)?"
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
    r"\b(?:answer|correct(?:ly)?|right|confident|sense|checks?\s+out|adds?\s+up|that'?s\s+it|should\s+be\s+it|"
    r"done|hope|helpful|demonstrates|illustrates)\b",
    re.IGNORECASE,
)
#: A clause after the result that comments on it (", which is a terminating decimal"): not the result.
_COMMENT_CLAUSE_RE = re.compile(r",\s*(?:which|as|since|because|so\s+that)\b.*$", re.IGNORECASE | re.DOTALL)
#: A sentence drawing the conclusion: one number in it is its result ("So, Karla would have saved
#: 550 gallons by driving the hybrid.").
_CONCLUDING_RE = re.compile(
    r"^(?:(?:so|thus|therefore|hence|overall|finally|in\s+conclusion|in\s+summary|in\s+total),?\s+)+",
    re.IGNORECASE,
)
_ORDINAL_RE = re.compile(r"\d+(?:st|nd|rd|th)\b", re.IGNORECASE)
#: A value confirmed as the answer: "x = 4 is indeed the correct solution", "44 is the correct answer",
#: "I'm confident that the product is 22". The value precedes (or closes) the confirmation.
_CONFIRMED_RE = re.compile(
    rf"(?:(?P<value>{NUMBER}|\x00+)\s+(?:is|was)\s+(?:indeed\s+|definitely\s+|also\s+|actually\s+)?"
    r"(?:the|our|my)\s+(?:correct|right|final|true)\s+(?:answer|solution|value|result|number|count|total)\b"
    rf"|\b(?:confident|sure|certain|convinced)\s+that\s+[^.!?\n]{{0,120}}?\s(?:is|are|equals|=)\s+"
    rf"{_QUALIFIER}(?P<stated>{NUMBER}|\x00+)(?=\s*[.!,]|\s*$))",
    re.IGNORECASE,
)


#: Words a sentence cannot end on: a response whose text stops on one was cut off mid-sentence.
_DANGLING = (
    "a an the of to in on at by for from with into onto per as than that which who whose is are was were "
    "be been being am and or but nor so if then since because while whereas although though when where "
    "let let's we i it its our their this these those can could will would should must may might shall "
    "has have had do does did not alternatively wait hmm now therefore thus hence also however first "
    "next finally similarly moreover furthermore"
)
_DANGLING_WORDS = frozenset(_DANGLING.split())
#: Characters a complete response cannot end on: an operator, an opening bracket, a separator.
_DANGLING_CHARS = "+-/=×÷≈<^_,:;(\\[{&"
_WORD_RE = re.compile(r"(?<![A-Za-z\\])[A-Za-z']+$")
_RULE_LINE_RE = re.compile(r"^[-=*_~\s]*$")


def stops_mid_sentence(text: str) -> bool:
    """Whether ``text`` stops mid-sentence: the mark of a response cut off by a token limit when
    its finish reason is not recorded.

    It stops mid-sentence when it ends on an operator, an opening bracket or a separator ("= 24 +",
    "\\frac{1"), on a word no sentence ends with ("413 (base 5) is", "Alternatively"), or inside
    an open math environment (``\\(``, ``\\[`` or a brace left open on its last line; not ``$``,
    which is also a currency sign). A response that ends on a number, another word, a closing bracket, a closing marker
    (``<|end_of_solution|>``, ``**``) or punctuation may be complete and is not judged.
    """
    text = text.rstrip()
    last_line = text.rsplit("\n", 1)[-1]
    if not text or _RULE_LINE_RE.match(last_line):  # a markdown rule ("---") closes a section
        return False
    if text[-1] in _DANGLING_CHARS:
        return True
    word = _WORD_RE.search(text[-40:])
    if word and word.group(0).lower() in _DANGLING_WORDS:
        return True
    opened = last_line.count("\\(") > last_line.count("\\)") or last_line.count("\\[") > last_line.count(
        "\\]"
    )
    return opened or last_line.count("{") > last_line.count("}")


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
    """The result the final sentence of ``text`` states: (number, start, end), offsets into ``text``.

    Read, in order: a result closing the sentence after a verb ("... is 9.", "= $78."; a comment
    clause after it, ", which is a terminating decimal", set aside); a counted subject opening it
    ("Two people accept the position.", "5 cars drove through in the first 15 minutes."); the one
    number of a concluding sentence ("So, Karla would have saved 550 gallons by driving the
    hybrid."; ordinals such as "8th" are names, not numbers). Markdown bold is read through.
    """
    found = final_sentence(text)
    if found is None or not found[2]:
        return None
    start, end, _ = found
    masked = _unbold(mask_spans(text[start:end], math_spans(text[start:end])))
    body = masked.strip()
    offset = start + (len(masked) - len(masked.lstrip()))
    clause = _COMMENT_CLAUSE_RE.search(body)
    main = body[: clause.start()] + "." if clause else body
    match = _RESULT_RE.search(main)
    if match is not None:
        return (
            plain_number(match.group("result")),
            offset + match.start("result"),
            offset + match.end("result"),
        )
    if "\x00" in body:
        return None
    numbers = [m for m in _ANY_NUMBER_RE.finditer(body) if not _ORDINAL_RE.match(body, m.start())]
    subject = _SUBJECT_RE.match(body)
    if subject is not None and (len(numbers) == 1 or subject.start("result") == 0):
        # a count opening the sentence is its subject; numbers after it restate the problem
        return (
            plain_number(subject.group("result")),
            offset + subject.start("result"),
            offset + subject.end("result"),
        )
    if _CONCLUDING_RE.match(body) and len(numbers) == 1:
        number = numbers[0]
        return plain_number(number.group(0)), offset + number.start(), offset + number.end()
    return None


def confirmed_result(text: str) -> tuple[str, int, int, bool, bool] | None:
    """The last value the end of ``text`` confirms as its answer: (value, start, end, plain, verdict).

    "So, \\(x = 4\\) is indeed the correct solution.", "I think $1250 is the right answer.", "I'm
    confident that the product is 22." state an answer as surely as "the answer is" does, with the
    value before the words. ``plain``: the value is prose (a number), not a math span.
    ``verdict``: it is named the correct answer or solution (final: not replaced by a later aside).
    """
    tail_start = max(0, len(text) - TAIL_CHARS)
    tail = text[tail_start:]
    spans = math_spans(tail)
    masked = _unbold(mask_spans(tail, spans))
    matches = list(_CONFIRMED_RE.finditer(masked))
    last = matches[-1] if matches else None
    if last is None:
        return None
    group = "value" if last.group("value") else "stated"
    value_start, value_end = last.span(group)
    if "\x00" in last.group(group):
        span = next((sp for sp in spans if sp[0] <= value_start < sp[1]), None)
        if span is None:
            return None
        return tail[span[2] : span[3]], tail_start + span[0], tail_start + span[1], False, group == "value"
    return (
        plain_number(last.group(group)),
        tail_start + value_start,
        tail_start + value_end,
        True,
        group == "value",
    )


def _unbold(text: str) -> str:
    """``text`` with markdown bold marks blanked (same length, so offsets hold): "**4 up quarks**"."""
    return text.replace("**", "  ").replace("__", "  ")


__all__ = [
    "NUMBER",
    "confirmed_result",
    "final_sentence",
    "plain_number",
    "sentence_result",
    "stops_mid_sentence",
    "word_number",
]
