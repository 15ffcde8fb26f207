"""An answer that only restates the problem's own expression is no answer.

"Compute $\\dbinom{8}{4}$." answered with ``\\boxed{\\dbinom{8}{4}}``, or "Simplify
$\\frac{x^2-1}{x-1}$" answered by copying the fraction, would be graded correct: math-verify
evaluates the copy and finds it equal to the gold. Under GRPO that is a reward hole (a policy can
learn to echo the problem), so a candidate that is an expression (not a plain value) written in
the problem is not an answer, unless the gold itself is written there too (a problem that asks
to choose among its own expressions: "Which is larger, $2^{100}$ or $3^{60}$?").
"""

from __future__ import annotations

import re

_DROP_RE = re.compile(r"\s+|\\left|\\right|\\[!,;: ]|\$|\\displaystyle")
_SINGLE_BRACE_RE = re.compile(r"([\^_])\{(\w)\}")
#: A plain value: numbers (a sign, decimals, numeric fractions, percent) separated by commas, as
#: in a tuple or a set, optionally "x =" before them; or one variable, pi or infinity.
_NUMBER = r"-?(?:\d+(?:\.\d+)?|\\frac\{\d+\}\{\d+\}|\d+/\d+)(?:\\?%)?"
_OPEN, _CLOSE = r"[(\[{]*", r"[)\]}]*"
_VALUE_RE = re.compile(
    rf"^(?:[A-Za-z]=)?{_OPEN}{_NUMBER}{_CLOSE}(?:,{_OPEN}{_NUMBER}{_CLOSE})*$|^-?(?:[A-Za-z]|\\pi|\\infty)$"
)


#: What makes a candidate an expression (a computation left undone), not a value or a name.
_EXPRESSION_RE = re.compile(r"[\\^_+*/!]|(?<=.)-|\w\(")


def canonical(text: str) -> str:
    """LaTeX written one way: no spaces, sizing commands or thin spaces; ``\\dfrac`` as ``\\frac``."""
    text = _DROP_RE.sub("", text)
    text = text.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac").replace("\\dbinom", "\\binom")
    return _SINGLE_BRACE_RE.sub(r"\1\2", text)


#: A multiple-choice letter however it is dressed: ``(B)``, ``\\textbf{(B)}``, ``\\text{B}``.
_CHOICE_RE = re.compile(r"^(?:\\(?:text|textbf|mathrm|mathbf|textrm)\{)?\(?[A-Ea-e]\)?\}?$")


def is_value(text: str) -> bool:
    """A plain value (a number, a numeric fraction, a variable, a tuple of numbers, a choice letter
    such as ``\\textbf{(B)}``, which names one of the problem's options): never a restatement."""
    written = canonical(text)
    return bool(_VALUE_RE.match(written.replace("\\{", "").replace("\\}", "")) or _CHOICE_RE.match(written))


def restates_problem(parts: tuple[str, ...], problem: str | None, gold: str | None) -> bool:
    """Whether every part of an answer is an expression copied from ``problem`` (and the gold is not)."""
    if not problem or not parts:
        return False
    written = canonical(problem)
    if gold and not is_value(gold) and canonical(gold) in written:
        return False  # the problem names its answer among others: choosing one is answering
    return all(_copied_expression(canonical(part), written) for part in parts)


def _copied_expression(part: str, written: str) -> bool:
    """An expression (an operator, a command, a function applied) of three characters or more, in the problem."""
    return len(part) >= 3 and bool(_EXPRESSION_RE.search(part)) and not is_value(part) and part in written


__all__ = ["canonical", "is_value", "restates_problem"]
