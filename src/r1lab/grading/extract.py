"""Find the final answer in a response, as a short string, in time linear in the response length.

Extraction is plain string work (no sympy), so it runs in the calling process and only the short
answer travels to a grading worker. Every pattern here is linear: a hostile 100 KB response costs
milliseconds, never a regex blow-up. The order of preference, each taking the LAST occurrence:

1. ``\\boxed{...}`` / ``\\fbox{...}`` with nested braces (also ``\\boxed 5``);
2. GSM8K's ``#### N``;
3. "final answer is X" (``$...$`` math or the rest of the line);
4. "Answer: X" (also markdown ``**Answer:**``);
5. the last number in the text (integers, decimals, ``1,000``, ``3/4``).
"""

from __future__ import annotations

import re

from r1lab.prompts import split_reasoning

BOX_COMMANDS = ("\\boxed", "\\fbox")
#: Longest answer we keep: anything longer is not an answer but a runaway box or line.
MAX_ANSWER_CHARS = 2000

_FINAL_ANSWER_RE = re.compile(r"final answer is\s*:?\s*", re.IGNORECASE)
_ANSWER_RE = re.compile(r"\banswer\b\s*\**\s*:\s*\**", re.IGNORECASE)
_GSM8K_RE = re.compile(r"####\s*")
_NUMBER_RE = re.compile(r"(?<![\w.])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:\s*/\s*\d+)?")
_THOUSANDS_RE = re.compile(r"^-?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_HOPE_RE = re.compile(r"\.?\s*I hope it is correct\.?\s*$", re.IGNORECASE)


def extract_answer(response: str | None, *, after_think: bool = True) -> str | None:
    """The final answer of a response as a string, or None when it holds no answer.

    With ``after_think`` (the default) a response containing ``</think>`` is searched only after
    the last ``</think>``, so an answer tried and dropped during reasoning never counts.
    """
    if not response:
        return None
    text = split_reasoning(response)[1] if after_think else response
    for finder in (last_boxed, _after_gsm8k_marker, _after_final_answer, _after_answer_label, last_number):
        found = finder(text)
        if found is not None:
            cleaned = clean_answer(found)
            if cleaned:
                return cleaned
    return None


def gold_answer(gold: object) -> str | None:
    """The answer part of a gold value: a plain answer, or a reference solution with ``\\boxed{}``/``####``.

    A gold that is a whole solution is reduced to its boxed (or ``####``) answer; anything else
    is taken as the answer itself, minus math delimiters. Numbers become their text.
    """
    if gold is None:
        return None
    if isinstance(gold, bool):
        return None
    if isinstance(gold, float) and gold.is_integer():
        gold = int(gold)
    text = str(gold).strip()
    if not text:
        return None
    if any(command in text for command in BOX_COMMANDS):
        found = last_boxed(text)
    elif "####" in text:
        found = _after_gsm8k_marker(text)
    else:
        found = text
    return clean_answer(found) if found is not None else None


def last_boxed(text: str) -> str | None:
    """The content of the last complete ``\\boxed{...}`` or ``\\fbox{...}`` (nested braces allowed)."""
    ends = sorted(m.end() for command in BOX_COMMANDS for m in re.finditer(re.escape(command), text))
    if not ends:
        return None
    closing = _matching_braces(text)
    for end in reversed(ends):
        rest = end
        while rest < len(text) and text[rest] == " ":
            rest += 1
        if rest < len(text) and text[rest] == "{":
            close = closing.get(rest)
            if close is not None:
                return text[rest + 1 : close]
        elif end < len(text) and text[end] == " ":  # "\boxed 5": one token after a space
            token = re.match(r"[^\s$.,;]+", text[rest:])
            if token:
                return token.group(0)
    return None


def _matching_braces(text: str) -> dict[int, int]:
    """Map each ``{`` to its ``}`` in one pass; escaped ``\\{``/``\\}`` are literal characters."""
    pairs: dict[int, int] = {}
    stack: list[int] = []
    index = 0
    length = len(text)
    while index < length:
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if char == "{":
            stack.append(index)
        elif char == "}" and stack:
            pairs[stack.pop()] = index
        index += 1
    return pairs


def _last_match(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    last = None
    for match in pattern.finditer(text):
        last = match
    return last


def _rest_after_last(pattern: re.Pattern[str], text: str) -> str | None:
    last = _last_match(pattern, text)
    return None if last is None else _answer_span(text[last.end() :])


def _answer_span(rest: str) -> str | None:
    """The answer at the start of ``rest``: a ``$...$``/``\\(...\\)``/``\\[...\\]`` span, else the line."""
    rest = rest.lstrip()
    for opener, closer in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
        if rest.startswith(opener):
            close = rest.find(closer, len(opener))
            if close > 0:
                return rest[len(opener) : close]
            if opener == "$":  # "$18" with no closing $: a currency sign, not math
                rest = rest[1:]
            break
    boxed = last_boxed(rest.split("\n", 1)[0])
    if boxed is not None:
        return boxed
    return rest.split("\n", 1)[0]


def _after_final_answer(text: str) -> str | None:
    return _rest_after_last(_FINAL_ANSWER_RE, text)


def _after_answer_label(text: str) -> str | None:
    return _rest_after_last(_ANSWER_RE, text)


def _after_gsm8k_marker(text: str) -> str | None:
    return _rest_after_last(_GSM8K_RE, text)


def last_number(text: str) -> str | None:
    """The last number in the text (GSM8K-style responses that state the result in prose)."""
    last = _last_match(_NUMBER_RE, text)
    return last.group(0).replace(" ", "") if last else None


def clean_answer(answer: str) -> str | None:
    """Trim an answer: whitespace, math delimiters, a closing period, markdown bold, thousands separators."""
    answer = _HOPE_RE.sub("", answer.strip())
    answer = answer.strip().strip("*").strip()
    for opener, closer in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
        if answer.startswith(opener) and answer.endswith(closer) and len(answer) >= len(opener) + len(closer):
            answer = answer[len(opener) : len(answer) - len(closer)].strip()
    answer = answer.rstrip(".").strip() if not answer.endswith("\\.") else answer
    if _THOUSANDS_RE.match(answer):
        answer = answer.replace(",", "")
    if not answer or len(answer) > MAX_ANSWER_CHARS:
        return None
    return answer
