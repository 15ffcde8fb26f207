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
6. ``sentence``: the result the final sentence states, at any length: "Therefore, the degree of
   \\(f(x)\\) is 3.", "Two people accept the position." (`r1lab.grading.sentences`).
7. ``number``: the last number of the final sentence, only for a SHORT response (GSM8K style,
   at most `SHORT_RESPONSE_CHARS` of answer section); never a number from the body of a long one.
   Tiers 5 to 7 compete by position: the rightmost wins, as math-verify's equal priorities do.

The response is first split into sections by its format (`r1lab.formats`: ``<think>``, Sky-T1's
thought/solution blocks, a "**Final Answer**" heading, ToRA's program output, plain): the tiers
search the answer section first, then the rest; a closed reasoning block never. Anything after a
chat-template token (``<|im_end|>``, ``<|eot_id|>``, ``</s>``, by name) is not part of the
response, and "I hope it is correct." ends an answer. A response that was cut off
(``finish_reason == "length"``; reasoning or a Sky-T1 solution opened and never closed; or, with
no finish reason recorded, text that stops mid-sentence, `sentences.stops_mid_sentence`) keeps
only what it *stated*: tiers 1-3 (a solution cut off after a thought that closed with its own
"**Final Answer**" keeps that). Without one of those it has no answer: a truncated trace whose
last number happens to equal the gold is not a correct answer. Empty boxes are no answer, and a response whose every
box is empty has declined to answer: no unanchored tier (latex, sentence, number) reads it.

Tiers 5-7 live in `r1lab.grading.bare`. What is found is cleaned into an `Extraction` by
`r1lab.grading.answers`, which reads gold values through the same clean-up.
"""

from __future__ import annotations

import re

from r1lab.formats import AUTO, ResponseFormat, chat_bounds, get_format, split_sections
from r1lab.grading.answers import (
    HOPE_RE,
    MAX_ANSWER_CHARS,
    Extraction,
    Found,
    clean_answer,
    final_boxes,
    gsm8k_answer,
    join_parts,
    last_match,
    to_extraction,
)
from r1lab.grading.bare import SENTENCE_END_RE, SHORT_RESPONSE_CHARS, bare_answer, joined_spans, last_number
from r1lab.grading.latex_text import BOX_COMMANDS, boxes, last_boxed, looks_like_math, mask_spans, math_spans
from r1lab.grading.sentences import confirmed_result, sentence_result, stops_mid_sentence, word_number

TIERS = ("boxed", "gsm8k", "final_answer", "answer_is", "latex", "sentence", "number")
#: What a cut-off response must have stated to have an answer at all.
STATED_TIERS = ("boxed", "gsm8k", "final_answer")

_FINAL_ANSWER_RE = re.compile(
    # "Final answer for Subproblem 1:" names the part it answers
    r"\bfinal\s+answer\b(?:\s+(?:for|to)\s+[\w ().-]{1,40}?)?(?:\s*\**\s*(?:is\b|:|=|\n))\s*:?\s*\**\s*:?"
    r"|^[ \t>#*_-]*answer\s*\**\s*:\s*\**",  # "Answer:" as a label, not "check our answer: ..."
    re.IGNORECASE | re.MULTILINE,
)
#: A heading that opens a closing summary list of the answers.
_SUMMARY_RE = re.compile(
    r"(?:\bto\s+summari[sz]e|\bin\s+summary|\bfinal\s+answers\s+are|\bsummary)\s*\**\s*:\s*\**[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
_LINE_RE = re.compile(r"^.*$", re.MULTILINE)
#: A list item that names a quantity and gives its value: "- NCP = 11,000 kcal", "2. NaHCO₃: 84.01".
_ITEM_RE = re.compile(r"^[ \t]*(?:[-*•]|\d{1,2}[.)])[ \t]+[^\n:=]{1,80}?\s*[:=]\s*(?P<value>\S.*)$")
_ANSWER_IS_RE = re.compile(r"\banswer\s+(?:is|would\s+be|should\s+be|=)\s*:?", re.IGNORECASE)
#: What follows "our answer is" when it judges an answer instead of stating one.
_JUDGEMENT_RE = re.compile(
    r"^\W*(?:not\s+)?(?:correct|right|wrong|incorrect|consistent|reasonable|valid|plausible|accurate|"
    r"confirmed|indeed|likely|unlikely|the\s+same|as\s+follows|below|above|clear|obvious|"
    r"positive|negative|an?\s+(?:integer|number|fraction|expression))\b",
    re.IGNORECASE,
)
#: Anchors ("answer is") tried from the last back, skipping judgements and restated problems.
_ANCHORS_TRIED = 3
#: The opening of a sentence up to its first real word: numbers, symbols, short tokens ("p.m.", "cm").
_LEADING_MATH_RE = re.compile(
    r"^[^A-Za-z\x00]*(?:(?!(?:is|as|so|of|an|at|by|in|it|on|to|we|be|if|no|or)\b)[A-Za-z]{1,2}\b[^A-Za-z\x00]*)*"
    r"(?<!\s)(?=\s+[A-Za-z]{2,}|\s*$)",
    re.IGNORECASE,
)
_NUMBER_WORDS_RE = re.compile(
    r"((?:[A-Za-z]+[- ]){0,3}?[A-Za-z]+)\s+(?!(?:and|or|hundred|thousand)\b)[A-Za-z]"
)
_JOINER_RE = re.compile(r",?\s*(?:and|or)\s+", re.IGNORECASE)
_VERB_RE = re.compile(r"\s(?:is|are|was|equals|be)\s", re.IGNORECASE)


def extract_answer(
    response: str | None,
    *,
    after_think: bool = True,
    finish_reason: str | None = None,
    response_format: str | ResponseFormat | None = AUTO,
    problem: str | None = None,
) -> str | None:
    """The final answer of a response as a string, or None when it states none (see `find_answer`)."""
    found = find_answer(
        response,
        after_think=after_think,
        finish_reason=finish_reason,
        response_format=response_format,
        problem=problem,
    )
    return found.answer if found else None


def find_answer(
    response: str | None,
    *,
    after_think: bool = True,
    finish_reason: str | None = None,
    response_format: str | ResponseFormat | None = AUTO,
    problem: str | None = None,
) -> Extraction | None:
    """The answer a response states, with its tier and span; None when it states none.

    ``response_format``: a name from `r1lab.formats.FORMATS` (or an alias), or "auto" (the
    default) to detect it from the response. With ``after_think`` (the default) a closed reasoning
    block (``<think>...</think>``, a Sky-T1 thought) is never searched, so an answer tried and
    dropped while reasoning never counts. ``problem``: the problem text, when known; an "answer
    is" sentence that only restates it is not the response's conclusion.
    """
    if not response:
        return None
    fmt = get_format(response_format) if isinstance(response_format, str) else response_format
    start, end = chat_bounds(response)
    sections = split_sections(response, fmt, start=start, end=end, skip_reasoning=after_think)
    regions = ([sections.answer] if sections.answer else []) + list(sections.rest)
    truncated = (
        finish_reason == "length"
        or sections.unclosed
        or sections.answer_unclosed
        or (finish_reason is None and stops_mid_sentence(response[start:end]))
    )
    if sections.answer_unclosed and sections.reasoning_answer:
        # the solution was cut off, but the reasoning closed with its own "**Final Answer**
        # \boxed{7}": that stated answer counts (searched last, by the stated tiers only)
        regions.append(sections.reasoning_answer)
    texts = [response[a:b] for a, b in regions]
    declined = _declined(texts)
    if truncated or declined:
        tiers = [t for t in STATED_TIERS if not (declined and t == "boxed")]
    else:
        tiers = list(_FINDERS)
    for (offset, _), text in zip(regions, texts, strict=True):
        for tier in tiers:
            found = _FINDERS[tier](text, problem) if tier in _TAKES_PROBLEM else _FINDERS[tier](text)
            if found is None:
                continue
            extraction = to_extraction(found, offset, sections.format)
            if extraction is not None:
                return extraction
    return None


def _declined(texts: list[str]) -> bool:
    """Whether the response has boxes and every one is empty (``\\boxed{}``): it states no answer."""
    found = [box for text in texts for box in boxes(text)]
    return bool(found) and all(not content.strip() for _, _, content in found)


def strip_chat_tail(text: str) -> str:
    """The response without chat-template tokens (named in `r1lab.formats.CHAT_TOKENS`)."""
    start, end = chat_bounds(text)
    return text[start:end]


# ----------------------------------------------------------------------------- tiers
def _boxed(text: str) -> Found | None:
    group = final_boxes(text)
    if not group:
        return None
    label = last_match(_FINAL_ANSWER_RE, text)
    if label is not None and label.start() >= group[-1][1]:
        # "... \boxed{255} ... Final Answer: The final answer is $10,455$.": the last statement wins,
        # if it states math ("this is the final answer: we are done" does not replace a box)
        stated = _final_answer(text)
        if stated is not None and re.search(r"[\d\\]", stated.raw):
            return None
    return Found(join_parts([content for _, _, content in group]), False, "boxed", group[0][0], group[-1][1])


def _final_answer(text: str, problem: str | None = None) -> Found | None:
    """After the last "Final answer:" label, or the last item of a closing summary list, whichever
    comes later."""
    found = _anchored(_FINAL_ANSWER_RE, text, "final_answer", problem)
    summary = _summary(text)
    return summary if summary is not None and (found is None or summary.start > found.start) else found


def _summary(text: str) -> Found | None:
    """The last item of a summary list ("So, to summarize:\\n- NH₄OH: 35.06 g/mol\\n- NaHCO₃: 84.01
    g/mol"): a multi-part problem answers the part it asks last, as Minerva's subproblems do."""
    head = last_match(_SUMMARY_RE, text)
    if head is None:
        return None
    item = None
    for line in _LINE_RE.finditer(text, head.end()):
        if not line.group(0).strip():
            continue
        match = _ITEM_RE.match(line.group(0))
        if match is None:
            break  # the list has ended
        item = (line.start() + match.start("value"), match)
    if item is None:
        return None
    found = _answer_span(text, item[0])
    return None if found is None else found._replace(tier="final_answer", start=head.start())


def _answer_is(text: str, problem: str | None = None) -> Found | None:
    """After the last "the answer is", or a value confirmed as the answer ("x = 4 is indeed the
    correct solution"), whichever comes later; a result sentence after both is the conclusion."""
    found = _anchored(_ANSWER_IS_RE, text, "answer_is", problem)
    confirmed = confirmed_result(text)
    if confirmed is not None and (found is None or confirmed[1] >= found.end):
        found = Found(confirmed[0], confirmed[3], "answer_is", confirmed[1], confirmed[2])
        if confirmed[4]:
            # a verdict on a value ("x = 4 is indeed the correct solution") is final: an aside after
            # it ("... recognize that 10 to the power of 4 is 10000.") does not replace it
            return found
    if found is None:
        return None
    later = sentence_result(text)
    if later is not None and later[1] >= _sentence_end(text, found.end):
        # "... so the answer is 5. [more checking] Therefore, the total is 7.": the conclusion
        return Found(later[0], True, "sentence", later[1], later[2])
    return found


def _anchored(pattern: re.Pattern[str], text: str, tier: str, problem: str | None) -> Found | None:
    """The answer after the last anchor that states one: not a judgement ("our answer is correct"),
    not a sentence of the problem restated."""
    for match in list(pattern.finditer(text))[-_ANCHORS_TRIED:][::-1]:
        found = _answer_span(text, match.end())
        if found is None or _JUDGEMENT_RE.match(text[match.end() : match.end() + 40]):
            continue
        if problem and _restates(text, match.start(), found.end, problem):
            continue
        return Found(found.raw, found.plain, tier, match.start(), found.end)
    return None


def _restates(text: str, anchor: int, end: int, problem: str) -> bool:
    """Whether the sentence holding ``text[anchor:end]`` is copied from the problem."""
    start = max(text.rfind(".", 0, anchor), text.rfind("\n", 0, anchor)) + 1
    sentence = " ".join(text[start:end].split())
    return len(sentence) >= 12 and sentence in " ".join(problem.split())


def _sentence_end(text: str, position: int) -> int:
    match = SENTENCE_END_RE.search(text, position)
    return match.end() if match else len(text)


def _answer_span(text: str, position: int) -> Found | None:
    """The answer opening ``text[position:]``: a math span, else the final token sequence of the sentence."""
    rest = text[position : position + MAX_ANSWER_CHARS * 2]
    stripped = rest.lstrip(" \t*:")
    if stripped.startswith("\n"):
        stripped = stripped.lstrip()
    base = position + len(rest) - len(stripped)
    rest = HOPE_RE.split(stripped, 1)[0]
    spans = math_spans(rest)
    if spans and spans[0][0] == 0:  # "$\frac{3}{4}$. I hope ...": the span itself
        return _shift(joined_spans(rest, spans, 0), base)
    sentence = _sentence(rest, spans)
    masked = mask_spans(sentence, spans)
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
        return Found(
            join_parts([part.strip().rstrip(".,;:") for part in parts]), True, "", base, base + position
        )
    verbs = list(_VERB_RE.finditer(masked))
    start = verbs[-1].end() if verbs else 0
    inner = [s for s in spans if s[0] >= start and s[1] <= len(sentence)]
    if inner:  # "the integer $34$": the math, not the words around it
        return _shift(joined_spans(sentence, inner, len(inner) - 1), base)
    tail = sentence[start:].strip().strip("*").strip()
    tail_start = base + sentence.find(tail, start) if tail else base
    if tail and not looks_like_math(tail) and len(tail) <= SHORT_RESPONSE_CHARS:
        # "Jane started growing Sphere 3 hours ago", "34 apples", "nine": the number, not the words
        opening = _NUMBER_WORDS_RE.match(tail)
        if opening is not None and word_number(opening.group(1)) is not None:
            # "three boxes contain neither pens nor pencils": the count the answer opens with
            return Found(
                word_number(opening.group(1)) or "", True, "", tail_start, tail_start + opening.end(1)
            )
        number = last_number(tail)
        if number is not None:
            return Found(number[0], True, "", tail_start + number[1], tail_start + number[2])
        spoken = sentence_result(f"is {tail}.")
        if spoken is not None:
            return Found(spoken[0], True, "", tail_start + spoken[1] - 3, tail_start + spoken[2] - 3)
    return Found(tail, True, "", tail_start, tail_start + len(tail)) if tail else None


_FINDERS = {
    "boxed": _boxed,
    "gsm8k": gsm8k_answer,
    "final_answer": _final_answer,
    "answer_is": _answer_is,
    "bare": bare_answer,
}
_TAKES_PROBLEM = ("final_answer", "answer_is")


# ----------------------------------------------------------------------------- helpers
def _shift(found: Found, offset: int) -> Found:
    return found._replace(start=found.start + offset, end=found.end + offset)


def _sentence(rest: str, spans: list[tuple[int, int, int, int]]) -> str:
    """``rest`` up to the end of its first sentence (a period inside math does not end it)."""
    masked = mask_spans(rest, spans)
    end = SENTENCE_END_RE.search(masked)
    return rest[: end.start()] if end else rest


__all__ = [
    "BOX_COMMANDS",
    "STATED_TIERS",
    "TIERS",
    "Extraction",
    "boxes",
    "clean_answer",
    "extract_answer",
    "find_answer",
    "last_boxed",
    "math_spans",
    "strip_chat_tail",
]
