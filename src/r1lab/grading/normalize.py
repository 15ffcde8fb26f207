"""What a careful human grader reads past, and math-verify does not: plain string rewrites.

math-verify already normalises a great deal (``\\dfrac``/``\\tfrac``, ``10,\\!080``, ``10{,}000``,
``^\\circ``, trailing ``\\text{ cm}`` units, ``\\$``, integer percentages, ``x = 5`` against ``5``,
sets and intervals), so this module only adds what it misses, measured case by case (see
docs/grading.md and tests/grading/test_rules.py):

* ordinals: ``12^{\\mathrm{th}}``, ``12^{th}``, ``12\\text{th}``, ``12th`` read as 12;
* a mixed number ``15\\frac{39}{40}`` read as ``\\frac{639}{40}`` (latex2sympy multiplies);
* a degree sign ``°`` / ``\\degree`` read as ``^\\circ`` (math-verify drops ``^\\circ`` itself), and a
  temperature's scale letter after it dropped (``700°C``, ``700^\\circ\\text{C}``: a unit); inside
  an answer with a trigonometric function, degrees become radians (``\\cos(2t - 45^\\circ)`` is
  ``\\cos(2t - \\frac{45\\pi}{180})``: math-verify would drop the sign and read 45 radians);
* a percentage with a zero fraction, ``35.0\\%``, read as ``35\\%`` (math-verify equates an
  integer percentage with the plain integer, but not a float one);
* times of day, ``4:30 \\text{ p.m.}`` and ``\\text{4:30 p.m.}``, read as ``\\text{16:30}``
  (math-verify reads ``4:30`` as the ratio 4/30);
* base subscripts kept: ``4343_6`` becomes ``\\text{4343}_{6}``, which math-verify keeps apart
  from ``4343`` (it drops a plain numeric subscript);
* plain-text numbers (not LaTeX): ``12,000,023`` -> ``12000023`` and, as math-verify's own
  expression extraction reads them, ``2,74`` -> ``2.74`` and ``0,111`` -> ``0.111`` (never 111).

Every function is linear in its input: they run in the caller on untrusted model output.
"""

from __future__ import annotations

import re

_ORDINAL_RE = re.compile(
    r"(?<=\d)\s*(?:\^\s*\{?\s*(?:\\(?:mathrm|text|textrm|rm)\s*\{\s*)?(?:st|nd|rd|th)\s*\}?\s*\}?"
    r"|\\(?:text|mathrm|textrm)\s*\{\s*(?:st|nd|rd|th)\s*\}"
    r"|(?:st|nd|rd|th)\b)"
)
_DEGREE_RE = re.compile(r"\s*(?:°|\\degree\b|\^\s*\{?\s*\\circ\s*\}?)")
_TEMPERATURE_SCALE_RE = re.compile(
    r"\^\s*\{?\s*\\circ\s*\}?\s*(?:\\(?:text|mathrm|textrm)\s*\{\s*)?(?:\\,\s*)?[CF](?![A-Za-z])\s*\}?\s*$"
)
_TRIG_RE = re.compile(r"\\(?:sin|cos|tan|cot|sec|csc)\b")
_TRIG_DEGREES_RE = re.compile(r"(\d+(?:\.\d+)?)\s*\^\s*\{?\s*\\circ\s*\}?")
_ZERO_FRACTION_PERCENT_RE = re.compile(r"(?<![\d.])(\d+)\.0+\s*(\\?%)")
_TIME_RE = re.compile(r"^(\d{1,2}):([0-5]\d)\s*([ap])\.?\s*m\.?$", re.IGNORECASE)
_TIME_HINT_RE = re.compile(r"\d:\d\d.*[ap]\.?\s*m", re.IGNORECASE | re.DOTALL)
_TEXT_WRAPPER_RE = re.compile(r"\\(?:text|textrm|mathrm|rm|mbox)\s*\{|[{}~]|\\[,;! ]|\$")
_BASE_RE = re.compile(
    r"^(?:\\text\s*\{\s*)?\(?([0-9A-Za-z]+)\)?(?:\s*\})?\s*_\s*(?:\{\s*(\d{1,2})\s*\}|(\d))$"
)
_MATHRM_LETTER_RE = re.compile(r"\\mathrm\s*\{\s*([A-Za-z])\s*\}")
_MIXED_NUMBER_RE = re.compile(r"^(-?)(\d{1,6})\s*\\[dt]?frac\s*\{\s*(\d{1,6})\s*\}\s*\{\s*(\d{1,6})\s*\}$")
_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_PLAIN_THOUSANDS_RE = re.compile(r"^(-?)([1-9]\d{0,2}(?:,\d{3})+)(\.\d+)?$")
_PLAIN_SPACE_THOUSANDS_RE = re.compile(r"^(-?)([1-9]\d{0,2}(?: \d{3})+)(\.\d+)?$")
_DECIMAL_COMMA_RE = re.compile(r"^(-?\d+),(\d+)$")


def normalize_latex(answer: str) -> str:
    """Rewrites for any extracted answer, LaTeX or plain, prediction or gold alike."""
    answer = answer.strip()
    if not answer:
        return answer
    time = _time_of_day(answer)
    if time is not None:
        return time
    base = _base_numeral(answer)
    if base is not None:
        return base
    if "\\mathrm" in answer:  # math-verify cannot parse "\\frac{1}{\\mathrm{e}}"
        answer = _MATHRM_LETTER_RE.sub(r"\1", answer)
    mixed = _MIXED_NUMBER_RE.match(answer)
    if mixed:  # 15\frac{39}{40} is fifteen and 39/40, not 15 * 39/40
        sign, whole, numerator, denominator = mixed.groups()
        if 0 < int(numerator) < int(denominator):
            return f"{sign}\\frac{{{int(whole) * int(denominator) + int(numerator)}}}{{{denominator}}}"
    if "%" in answer:
        answer = _ZERO_FRACTION_PERCENT_RE.sub(r"\1\2", answer)
    if "°" in answer or "\\degree" in answer:
        answer = _DEGREE_RE.sub(r"^\\circ", answer)
    if "\\circ" in answer:  # 700°C: the scale letter is a unit, as "cm" is
        answer = _TEMPERATURE_SCALE_RE.sub(r"^\\circ", answer)
    if "\\circ" in answer and _TRIG_RE.search(answer):  # cos(2t - 45°): an angle, in radians for sympy
        answer = _TRIG_DEGREES_RE.sub(r"\\frac{\1\\pi}{180}", answer)
    if any(suffix in answer for suffix in ("st", "nd", "rd", "th")):
        answer = _ORDINAL_RE.sub("", answer)
    return answer.strip()


def normalize_plain_number(answer: str) -> str:
    """A plain-text number as math-verify's expression extraction reads it (the caller knows it is plain)."""
    answer = answer.strip()
    match = _PLAIN_THOUSANDS_RE.match(answer) or _PLAIN_SPACE_THOUSANDS_RE.match(answer)
    if match:
        sign, digits, decimals = match.groups()
        return sign + digits.replace(",", "").replace(" ", "") + (decimals or "")
    match = _DECIMAL_COMMA_RE.match(answer)
    if match:  # "2,74" and "0,111": a decimal comma, never a thousands separator
        return f"{match.group(1)}.{match.group(2)}"
    return answer


def _time_of_day(answer: str) -> str | None:
    """``4:30 p.m.`` in any wrapping as ``\\text{16:30}``; None when it is not a time of day."""
    if not _TIME_HINT_RE.search(answer):
        return None
    bare = _TEXT_WRAPPER_RE.sub(" ", answer)
    match = _TIME_RE.match(" ".join(bare.split()))
    if not match:
        return None
    hours, minutes, half = int(match.group(1)), match.group(2), match.group(3).lower()
    if not 1 <= hours <= 12:
        return None
    hours = hours % 12 + (12 if half == "p" else 0)
    return f"\\text{{{hours:02d}:{minutes}}}"


def _base_numeral(answer: str) -> str | None:
    """``4343_6`` / ``4343_{6}`` / ``\\text{4343}_6`` as ``\\text{4343}_{6}``; base 10 drops the subscript."""
    if "_" not in answer:
        return None
    match = _BASE_RE.match(answer)
    if not match:
        return None
    digits, base = match.group(1), int(match.group(2) or match.group(3))
    if not 2 <= base <= 36 or not any(c.isdigit() for c in digits):
        return None
    upper = digits.upper()
    if any(_DIGITS.index(c) >= base for c in upper):
        return None  # not a numeral in that base (x_1, a_2): an ordinary subscript
    return upper if base == 10 else f"\\text{{{upper}}}_{{{base}}}"


__all__ = ["normalize_latex", "normalize_plain_number"]
