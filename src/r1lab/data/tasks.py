"""Procedurally generated verifiable tasks: multi-digit arithmetic and Countdown.

R1-style RL needs problems whose answers a program can check, and a cold-start SFT set needs
step-by-step reasoning for them. Both come from here, without a download: every row carries
``id``, ``problem``, ``answer`` (as every r1lab problem set does) and ``reasoning``, a short
programmatic trace (column-wise addition with carries, partial products, the Countdown
construction) that cold-start SFT puts inside ``<think>...</think>``. Countdown rows also carry
``nums`` and ``target``, the columns the countdown reward reads.

Generation is deterministic by seed, problems within one call are unique, and
:func:`train_test_split` assigns each problem to a side by a hash of its text, so the held-out
set never shares a problem with the training set, however the two were generated.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from r1lab.data.io import stable_id
from r1lab.errors import ConfigError

ARITHMETIC_OPS = "+-*"
#: Every arithmetic trace ends each operation with its result line, ``so <a><op><b>=<value>``.
RESULT_LINE_PREFIX = "so "

__all__ = [
    "ARITHMETIC_OPS",
    "RESULT_LINE_PREFIX",
    "TASKS",
    "evaluate_countdown",
    "make_arithmetic",
    "make_countdown",
    "make_task",
    "shows_working",
    "train_test_split",
]


# --------------------------------------------------------------------------- arithmetic


def _add_trace(a: int, b: int) -> list[str]:
    """Column-wise addition from the ones digit up, with carries: how children are taught."""
    if a < 0:  # a negative running value (after a subtraction): add by taking |a| away from b
        return [*_sub_trace(b, -a)[:-1], f"so {a}+{b}={a + b}"]
    da, db = str(a)[::-1], str(b)[::-1]
    lines, carry, digits = [], 0, []
    for i in range(max(len(da), len(db))):
        x = int(da[i]) if i < len(da) else 0
        y = int(db[i]) if i < len(db) else 0
        total = x + y + carry
        lines.append(f"{x}+{y}" + (f"+{carry}" if carry else "") + f"={total}, write {total % 10}")
        digits.append(str(total % 10))
        carry = total // 10
    if carry:
        digits.append(str(carry))
        lines.append(f"carry {carry}")
    lines.append(f"so {a}+{b}={''.join(reversed(digits))}")
    return lines


def _sub_trace(a: int, b: int) -> list[str]:
    """Subtract by place value: take away the tens, then the ones (works for any sign)."""
    lines, value = [], a
    parts = [int(d) * 10**p for p, d in enumerate(str(b)[::-1]) if d != "0"][::-1] or [0]
    for part in parts:
        lines.append(f"{value}-{part}={value - part}")
        value -= part
    lines.append(f"so {a}-{b}={a - b}")
    return lines


def _mul_trace(a: int, b: int) -> list[str]:
    """Long multiplication as a sum of partial products, one per digit of the second factor."""
    parts = [(int(d) * 10**p) for p, d in enumerate(str(b)[::-1]) if d != "0"][::-1]
    if len(parts) <= 1:
        return [f"so {a}*{b}={a * b}"]
    lines = [f"{a}*{part}={a * part}" for part in parts]
    lines.append("+".join(str(a * part) for part in parts) + f"={a * b}")
    lines.append(f"so {a}*{b}={a * b}")
    return lines


_TRACES: dict[str, Callable[[int, int], list[str]]] = {"+": _add_trace, "-": _sub_trace, "*": _mul_trace}
_APPLY: dict[str, Callable[[int, int], int]] = {
    "+": lambda x, y: x + y,
    "-": lambda x, y: x - y,
    "*": lambda x, y: x * y,
}


def _operand(rng: random.Random, digits: int) -> int:
    low = 10 ** (digits - 1) if digits > 1 else 0
    return rng.randint(low, 10**digits - 1)


def make_arithmetic(
    num_examples: int,
    *,
    digits: int = 2,
    num_terms: int = 2,
    ops: str = "+",
    seed: int = 0,
    question: str = "What is {expression}?",
    short_trace_fraction: float = 0.0,
) -> list[dict[str, Any]]:
    """``num_examples`` unique arithmetic problems on ``digits``-digit operands, evaluated left to right.

    ``ops`` is a string of the operators to draw from (``"+"``, ``"+-"``, ``"+-*"``). With more than
    two terms the expression is evaluated step by step left to right and written with parentheses
    so the written expression means exactly that. ``answer`` is the integer result as a string.

    ``short_trace_fraction`` of the problems (chosen by a hash of the problem, so the choice does
    not depend on the other rows) get a *short* trace: only the result line of each operation
    (``so 47+86=133``), without the column working. A cold start trained on such a mix learns both
    styles and picks one at random, and a small model is far more accurate when it shows the
    working: the choice RL learns to make (see docs/demo.md).
    """
    if digits < 1 or num_terms < 2:
        raise ConfigError("arithmetic: digits must be >= 1 and num_terms >= 2")
    if not 0.0 <= short_trace_fraction <= 1.0:
        raise ConfigError(f"arithmetic: short_trace_fraction must lie in [0, 1], got {short_trace_fraction}")
    bad = [op for op in ops if op not in ARITHMETIC_OPS]
    if not ops or bad:
        raise ConfigError(f"arithmetic: ops must be drawn from {ARITHMETIC_OPS!r}, got {ops!r}")
    rng = random.Random(f"arithmetic:{seed}")

    def one() -> dict[str, Any]:
        value = _operand(rng, digits)
        expression, lines = str(value), []
        for step in range(num_terms - 1):
            op, operand = rng.choice(ops), _operand(rng, digits)
            lines += _TRACES[op](value, operand)
            value = _APPLY[op](value, operand)
            expression = f"{expression}{op}{operand}"
            if step != num_terms - 2:
                expression = f"({expression})"
        problem = question.format(expression=expression)
        if short_trace_fraction and _hash_fraction(f"short-trace:{seed}:{problem}") < short_trace_fraction:
            lines = [line for line in lines if line.startswith(RESULT_LINE_PREFIX)]
        return {"problem": problem, "answer": str(value), "reasoning": "\n".join(lines), "task": "arithmetic"}

    return _unique(one, num_examples, "arithmetic")


def shows_working(reasoning: str | None) -> bool:
    """Whether an arithmetic trace shows working beyond the result lines (``so a+b=c``) of a short trace."""
    lines = (reasoning or "").splitlines()
    return any(line.strip() and not line.startswith(RESULT_LINE_PREFIX) for line in lines)


# --------------------------------------------------------------------------- countdown


def evaluate_countdown(expression: str, nums: Sequence[int]) -> float | None:
    """The value of a Countdown expression, or None when it is not valid.

    Valid means: only digits, ``+ - * /``, parentheses and spaces; each number of ``nums`` used
    exactly once; no division by zero. Used by the generator to check itself and handy for rewards.
    """
    import ast

    if not expression or any(c not in "0123456789+-*/() ." for c in expression):
        return None
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError:
        return None
    used: list[int] = []

    def walk(node: ast.AST) -> float:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            used.append(node.value)
            return float(node.value)
        if isinstance(node, ast.BinOp) and type(node.op) in _AST_OPS:
            left, right = walk(node.left), walk(node.right)
            return _AST_OPS[type(node.op)](left, right)
        raise ValueError("not allowed")

    try:
        value = walk(tree)
    except (ValueError, ZeroDivisionError):
        return None
    return value if sorted(used) == sorted(int(n) for n in nums) else None


_AST_OPS: dict[type, Callable[[float, float], float]] = {}


def _init_ast_ops() -> None:
    import ast

    _AST_OPS.update(
        {
            ast.Add: lambda x, y: x + y,
            ast.Sub: lambda x, y: x - y,
            ast.Mult: lambda x, y: x * y,
            ast.Div: lambda x, y: x / y,
        }
    )


_init_ast_ops()


def make_countdown(
    num_examples: int,
    *,
    num_numbers: int = 3,
    min_number: int = 1,
    max_number: int = 20,
    max_target: int = 100,
    seed: int = 0,
    question: str = (
        "Using the numbers {nums}, create an equation that equals {target}. "
        "Use each number exactly once with + - * /."
    ),
) -> list[dict[str, Any]]:
    """``num_examples`` unique Countdown problems (TinyZero's task): reach ``target`` from ``nums``.

    Each problem is built forwards: numbers are drawn, then combined pairwise with random
    operations (exact integer division only) until one value remains, which becomes the target
    when it lies in ``1..max_target``. So every problem has at least one solution, given as
    ``answer`` (an expression using every number once), with the construction as ``reasoning``.
    """
    if num_numbers < 2 or min_number < 1 or max_number < min_number or max_target < 1:
        raise ConfigError("countdown: need num_numbers >= 2, 1 <= min_number <= max_number, max_target >= 1")
    rng = random.Random(f"countdown:{seed}")

    def one() -> dict[str, Any] | None:
        nums = [rng.randint(min_number, max_number) for _ in range(num_numbers)]
        pool = [(n, str(n)) for n in nums]
        lines = []
        while len(pool) > 1:
            (x, ex), (y, ey) = (pool.pop(rng.randrange(len(pool))) for _ in range(2))
            options = ["+", "*"] + (["-"] if x > y else []) + (["/"] if y and x % y == 0 and y != 1 else [])
            op = rng.choice(options)
            value = {"+": x + y, "-": x - y, "*": x * y, "/": x // y if y else 0}[op]
            lines.append(f"{x}{op}{y}={value}")
            pool.append((value, f"({ex}{op}{ey})"))
        target, expression = pool[0]
        if not 1 <= target <= max_target:
            return None
        expression = expression[1:-1]
        assert evaluate_countdown(expression, nums) == target, expression
        return {
            "problem": question.format(nums=nums, target=target),
            "answer": expression,
            "reasoning": "\n".join(lines),
            "nums": nums,
            "target": target,
            "task": "countdown",
        }

    return _unique(one, num_examples, "countdown")


# --------------------------------------------------------------------------- shared


def _unique(
    make_one: Callable[[], dict[str, Any] | None], num_examples: int, task: str
) -> list[dict[str, Any]]:
    """Draw rows until ``num_examples`` distinct problems exist; fail clearly when the space is too small."""
    if num_examples < 0:
        raise ConfigError(f"{task}: num_examples must be >= 0")
    rows: dict[str, dict[str, Any]] = {}
    attempts, limit = 0, 50 * num_examples + 1000
    while len(rows) < num_examples:
        attempts += 1
        if attempts > limit:
            raise ConfigError(
                f"{task}: could only find {len(rows)} distinct problems of {num_examples} requested; "
                "allow more digits or numbers"
            )
        row = make_one()
        if row is None or row["problem"] in rows:
            continue
        rows[row["problem"]] = {"id": stable_id(row["problem"]), **row}
    return list(rows.values())


TASKS: dict[str, Callable[..., list[dict[str, Any]]]] = {
    "arithmetic": make_arithmetic,
    "countdown": make_countdown,
}


def make_task(name: str, num_examples: int, **params: Any) -> list[dict[str, Any]]:
    """Build a task by name (``arithmetic`` or ``countdown``); unknown names and parameters fail clearly."""
    import inspect

    try:
        factory = TASKS[name]
    except KeyError:
        raise ConfigError(f"unknown task {name!r}; tasks are: {', '.join(TASKS)}") from None
    accepted = set(inspect.signature(factory).parameters) - {"num_examples"}
    for key in params:
        if key not in accepted:
            from r1lab.config import unknown_key_error

            raise unknown_key_error(key, accepted, f"task {name!r}")
    return factory(num_examples, **params)


def train_test_split(
    rows: Iterable[Mapping[str, Any]], test_fraction: float = 0.1, *, seed: int = 0, key: str = "problem"
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Split rows into (train, test) by a seeded hash of each row's ``key``.

    A problem's side depends only on its text and the seed, never on the order or the other rows,
    so two sets generated separately (say, 10k training and 500 test problems) split consistently
    and the same problem can never end up on both sides. Duplicate problems are dropped.
    """
    if not 0.0 <= test_fraction <= 1.0:
        raise ConfigError(f"test_fraction must lie in [0, 1], got {test_fraction}")
    train, test, seen = [], [], set()
    for row in rows:
        text = str(row[key])
        if text in seen:
            continue
        seen.add(text)
        (test if _hash_fraction(f"{seed}:{text}") < test_fraction else train).append(dict(row))
    return train, test


def _hash_fraction(text: str) -> float:
    """A number in [0, 1) fixed by ``text`` alone: a reproducible coin that ignores row order."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") / 2**64
