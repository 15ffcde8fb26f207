"""math-verify behind one function, with the argument order fixed: ``verify(gold, prediction)``.

This module does no time-keeping of its own beyond an optional interval timer; the process pool
(`r1lab.grading.pool`) is what bounds time, because sympy can spend minutes inside C code where no
signal reaches it. Parsed answers are cached per process: a problem's gold answer is parsed once
however many generations are graded against it.
"""

from __future__ import annotations

import logging
import re
import signal
import threading
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

#: The graded outcome of one response. Only "ok" carries a real correct/wrong verdict.
STATUS_OK = "ok"
STATUS_NO_ANSWER = "no_answer"  # nothing that looks like an answer: counts as wrong
STATUS_TIMEOUT = "timeout"  # verification ran out of time: counts as wrong, and is counted
STATUS_UNPARSEABLE_GOLD = "unparseable_gold"  # the reference cannot be read: neither right nor wrong
STATUS_ERROR = "error"  # the grading worker crashed (e.g. out of memory): counts as wrong
STATUSES = (STATUS_OK, STATUS_NO_ANSWER, STATUS_TIMEOUT, STATUS_UNPARSEABLE_GOLD, STATUS_ERROR)

T = TypeVar("T")


@dataclass(frozen=True)
class Grade:
    """One response graded against one gold answer.

    ``correct`` is True only with status "ok". ``extracted`` is the answer found in the response
    (None when there was none); ``gold`` is the answer read from the gold value. ``tier`` names
    the extraction tier that found the answer (`r1lab.grading.extract.TIERS`), or "restated" for
    a candidate that only restates the problem (then the status is no_answer); ``span`` is
    (start, end) of the text it was read from, as character offsets into the response.
    """

    correct: bool
    extracted: str | None
    status: str
    gold: str | None = None
    tier: str | None = None
    span: tuple[int, int] | None = None

    @property
    def counts(self) -> bool:
        """Whether this item takes part in an accuracy (False only for an unparseable gold)."""
        return self.status != STATUS_UNPARSEABLE_GOLD

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class ItemTimeout(BaseException):
    """Raised by the interval timer; a BaseException so math-verify's ``except Exception`` cannot eat it."""


@contextmanager
def time_limit(seconds: float | None):
    """Interrupt the block after ``seconds`` with ItemTimeout (main thread only; elsewhere a no-op).

    This only ends work that returns to the interpreter; the pool's hard kill covers the rest.
    """
    if not seconds or seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_alarm(signum, frame):
        raise ItemTimeout()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _quiet_math_verify() -> None:
    # We disable math-verify's signal timeouts on purpose (the pool bounds time); its warning
    # about that, and its per-item timeout warnings, would flood the logs.
    for name in ("math_verify", "math_verify.parser", "math_verify.grader", "latex2sympy2_extended"):
        logging.getLogger(name).setLevel(logging.ERROR)


@lru_cache(maxsize=1)
def _extraction_config():
    from math_verify import ExprExtractionConfig, LatexExtractionConfig

    _quiet_math_verify()
    # The answer arrives already extracted; wrapping it in \boxed{} lets math-verify apply its
    # boxed normalisation (units, \text{}, \$, percentages) before parsing.
    return (LatexExtractionConfig(boxed_match_priority=0), ExprExtractionConfig())


@lru_cache(maxsize=8192)
def parse_answer(answer: str) -> tuple[Any, ...]:
    """math-verify's parse of an extracted answer: sympy values only (string fallbacks dropped)."""
    from math_verify import parse
    from sympy import Basic, MatrixBase

    parsed = parse("\\boxed{" + answer + "}", list(_extraction_config()), parsing_timeout=None)
    return tuple(value for value in parsed if isinstance(value, (Basic, MatrixBase)))


_SPACE_RE = re.compile(r"\s+")


def same_text(a: str, b: str) -> bool:
    """Equal once whitespace is ignored: a cheap exact check that needs no sympy."""
    return _SPACE_RE.sub("", a) == _SPACE_RE.sub("", b)


def check_answer(
    prediction: str, gold: str, prediction_parts: tuple[str, ...] = (), gold_parts: tuple[str, ...] = ()
) -> str:
    """Compare an extracted answer with a gold answer: "correct", "wrong" or "unparseable_gold".

    The gold is parsed first and alone decides "unparseable_gold", so the outcome for a bad
    reference never depends on what the model wrote. A multi-part answer (several boxes) is a
    set; when that set is not the gold, it is still right if every part is the gold on its own
    (``\\boxed{15\\frac{39}{40}}, or \\boxed{\\frac{639}{40}}``: one value written two ways), and
    the same holds for a multi-part gold. Listing several different values is never right. A
    yes/no verdict boxed beside values answers another part of the question: against a gold that
    is not a verdict, the values alone are compared.
    """
    outcome = _check_one(prediction, gold)
    if outcome != "wrong":
        return outcome
    if prediction_parts and all(_check_one(part, gold) == "correct" for part in prediction_parts):
        return "correct"
    values = [part for part in prediction_parts if not _VERDICT_RE.match(part)]
    verdicts = [part for part in prediction_parts if _VERDICT_RE.match(part)]
    if values and verdicts:
        # "\\boxed{\\text{Yes}} \\boxed{4}": the verdict answers the yes/no part of the question,
        # the values the rest; the gold is compared with the part of its own kind
        if _VERDICT_RE.match(gold):
            return _check_one(verdicts[0], gold) if len(verdicts) == 1 else "wrong"
        return check_answer(", ".join(values), gold, tuple(values) if len(values) > 1 else ())
    if gold_parts and all(_check_one(prediction, part) == "correct" for part in gold_parts):
        return "correct"
    return "wrong"


def _check_one(prediction: str, gold: str) -> str:
    from math_verify import verify

    gold_parsed = parse_answer(gold)
    if not gold_parsed:
        return STATUS_UNPARSEABLE_GOLD
    if same_text(prediction, gold) or _base_digits(prediction, gold):
        return "correct"
    prediction_parsed = parse_answer(prediction)
    if not prediction_parsed:
        return "wrong"
    # math-verify is asymmetric (assignments, intervals): gold first, prediction second.
    if verify(list(gold_parsed), list(prediction_parsed), timeout_seconds=None):
        return "correct"
    # math-verify equates "35\\%" with 35 but not "35.5\\%" with 35.5: a percentage on one side
    # only is also read as its number, as it already is for integers.
    gold_number, prediction_number = _without_percent(gold), _without_percent(prediction)
    if (gold_number is None) != (prediction_number is None):
        gold_parsed = parse_answer(gold_number) if gold_number else gold_parsed
        prediction_parsed = parse_answer(prediction_number) if prediction_number else prediction_parsed
        if gold_parsed and prediction_parsed:
            return (
                "correct"
                if verify(list(gold_parsed), list(prediction_parsed), timeout_seconds=None)
                else "wrong"
            )
    return "wrong"


_VERDICT_RE = re.compile(r"^\s*(?:\\text(?:bf)?\s*\{\s*)?(?:yes|no|true|false)\s*\}?\s*$", re.IGNORECASE)
_BASE_GOLD_RE = re.compile(r"^\\text\{([0-9A-Z]+)\}_\{(\d{1,2})\}$")
_DIGITS_RE = re.compile(r"^(?:\\text\{)?([0-9A-Za-z]+)\}?$")


def _base_digits(prediction: str, gold: str) -> bool:
    """A gold numeral in base b (``\\text{4343}_{6}``, see `r1lab.grading.normalize`) answered with
    the same digits and no base: the question named the base, so the digits are the answer. A
    prediction written in another base (``4343_{7}``) or converted to base 10 is compared as usual."""
    base = _BASE_GOLD_RE.match(gold.strip())
    digits = _DIGITS_RE.match(prediction.strip())
    return bool(base and digits and digits.group(1).upper() == base.group(1) and base.group(2) != "10")


_PERCENT_NUMBER_RE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(?:\\?%|\\text\{\s*\\?%\s*\})\s*$")


def _without_percent(answer: str) -> str | None:
    """``35.5\\%`` -> ``35.5``; None when the answer is not a number with a percent sign."""
    match = _PERCENT_NUMBER_RE.match(answer)
    return match.group(1) if match else None


def answers_equivalent(a: str, b: str) -> bool:
    """Whether two extracted answers are the same value (for majority voting); ``a`` acts as gold."""
    from math_verify import verify

    if same_text(a, b):
        return True
    parsed_a, parsed_b = parse_answer(a), parse_answer(b)
    if not parsed_a or not parsed_b:
        return False
    return bool(verify(list(parsed_a), list(parsed_b), timeout_seconds=None))


def run_op(op: str, args: tuple, timeout: float | None) -> Any:
    """Run one grading operation in this process under ``time_limit``: the worker's whole job."""
    function: Callable[..., Any] = OPERATIONS[op]
    with time_limit(timeout):
        return function(*args)


OPERATIONS: dict[str, Callable[..., Any]] = {"check": check_answer, "equivalent": answers_equivalent}
