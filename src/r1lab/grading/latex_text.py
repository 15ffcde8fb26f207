"""LaTeX structure in model output, found in linear time: boxes and math environments.

Plain string scans (no sympy, no backtracking regexes over the whole text), so they are safe on
hostile 100 KB responses; `r1lab.grading.extract` builds its tiers on them.
"""

from __future__ import annotations

import re

BOX_COMMANDS = ("\\boxed", "\\fbox")
_DELIMITER_RE = re.compile(r"(?<!\\)(?:\$\$|\$|\\\[|\\\]|\\\(|\\\))")
_CLOSER = {"$$": "$$", "$": "$", "\\[": "\\]", "\\(": "\\)"}
_PROSE_RE = re.compile(r"(?<![\\\w])[A-Za-z]{2,}\s+[A-Za-z]{2,}(?!\s*[({])")


def boxes(text: str) -> list[tuple[int, int, str]]:
    """Every complete ``\\boxed{...}``/``\\fbox{...}`` (nested braces) or ``\\boxed 5``: (start, end, content)."""
    starts = sorted(
        (m.start(), m.end()) for command in BOX_COMMANDS for m in re.finditer(re.escape(command), text)
    )
    if not starts:
        return []
    closing = _matching_braces(text)
    found = []
    for start, end in starts:
        rest = end
        while rest < len(text) and text[rest] == " ":
            rest += 1
        if rest < len(text) and text[rest] == "{":
            close = closing.get(rest)
            if close is not None:
                found.append((start, close + 1, text[rest + 1 : close]))
        elif end < len(text) and text[end] == " ":  # "\boxed 5": one token after a space
            token = re.match(r"[^\s$.,;]+", text[rest:])
            if token:
                found.append((start, rest + token.end(), token.group(0)))
    return found


def last_boxed(text: str) -> str | None:
    """The content of the last complete ``\\boxed{...}`` or ``\\fbox{...}`` (nested braces allowed)."""
    found = boxes(text)
    return found[-1][2] if found else None


def math_spans(text: str) -> list[tuple[int, int, int, int]]:
    """Math environments in one linear pass: (start, end, content start, content end).

    Inline ``$..$`` and ``\\(..\\)`` stay on one line (as in math-verify); a ``$..$`` holding prose
    ("costs $5 and she pays $") is two currency amounts, not math.
    """
    spans = []
    opener: re.Match[str] | None = None
    for match in _DELIMITER_RE.finditer(text):
        token = match.group(0)
        if opener is None:
            if token in _CLOSER:
                opener = match
            continue
        inline = opener.group(0) in ("$", "\\(")
        if inline and "\n" in text[opener.end() : match.start()]:
            opener = match if token in _CLOSER else None
            continue
        if token != _CLOSER[opener.group(0)]:
            continue
        content = text[opener.end() : match.start()]
        currency = opener.group(0) == "$" and (
            _PROSE_RE.search(strip_text_commands(content)) or text[match.end() : match.end() + 1].isdigit()
        )  # "$5 and she pays $", "9 * $2 = $18": amounts of money, not math
        if content.strip() and not currency:
            spans.append((opener.start(), match.end(), opener.end(), match.start()))
            opener = None
        else:
            opener = match if token == "$" else None  # the closing "$" may open the next span
    return spans


def looks_like_math(line: str) -> bool:
    """No prose outside LaTeX commands and ``\\text{}``: no word of three letters or more, no two
    words in a row ("so it is 9"), only short suffixes like "th" and "pm"."""
    bare = re.sub(r"\\[A-Za-z]+", " ", strip_text_commands(line))
    if not any(c.isdigit() or c in "=+-^/\\" for c in line):
        return False
    return not re.search(r"[A-Za-z]{3,}|(?<![A-Za-z])[A-Za-z]{2}\s+[A-Za-z]{1,2}(?![A-Za-z])", bare)


def strip_text_commands(content: str) -> str:
    return re.sub(r"\\(?:text|mathrm|textbf|mbox|operatorname)\s*\{[^{}]*\}", " ", content)


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


def mask_spans(text: str, spans: list[tuple[int, int, int, int]]) -> str:
    """``text`` with every math span replaced by NUL characters (same length: offsets stay valid)."""
    if not spans:
        return text
    pieces, position = [], 0
    for start, end, _, _ in spans:
        pieces.append(text[position:start])
        pieces.append("\x00" * (end - start))
        position = end
    pieces.append(text[position:])
    return "".join(pieces)
