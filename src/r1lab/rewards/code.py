"""Code reward: run the completion's Python program against test cases in the local sandbox.

Test cases come from a dataset column, in any of the common layouts:

* ``[{"input": "1 2\\n", "output": "3\\n"}, ...]``: stdin/stdout cases (Open-R1, CodeContests);
* ``{"inputs": [...], "outputs": [...]}``: the same, APPS-style;
* ``["assert f(1) == 2", ...]``: snippets run after the program, passing when it exits 0;
* ``{"language": "python", "test_cases": [...]}``: Open-R1's ``verification_info`` wrapper;
* any of those as a JSON string.

A stdin/stdout case passes when the program exits 0 and its output equals the expected output
line by line, ignoring trailing whitespace on each line and trailing blank lines.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ClassVar

from r1lab.errors import ConfigError
from r1lab.grading.pool import default_workers
from r1lab.prompts import split_reasoning
from r1lab.rewards.base import Reward, check_positive, completion_text
from r1lab.rewards.sandbox import SandboxLimits, run_python

logger = logging.getLogger(__name__)

_FENCE_RE = re.compile(r"```[ \t]*(python3?|py)?[ \t]*\n(.*?)```", re.DOTALL | re.IGNORECASE)
TEST_COLUMNS = ("test_cases", "verification_info", "tests", "input_output")


@dataclass(frozen=True)
class TestCase:
    """One test: stdin and expected stdout, or a snippet appended to the program (``assertion``)."""

    stdin: str = ""
    expected: str | None = None
    assertion: str | None = None

    __test__ = False  # not a pytest class


def extract_code(completion: str) -> str | None:
    """The last fenced code block after ``</think>`` (```python, ```py or a bare ```); None if none."""
    blocks = _FENCE_RE.findall(split_reasoning(completion)[1])
    return blocks[-1][1] if blocks else None


def parse_tests(value: Any) -> list[TestCase] | None:
    """Test cases from a column value in any supported layout; None when there are none."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return [TestCase(assertion=value)] if value.strip() else None
    if isinstance(value, Mapping):
        if "test_cases" in value:
            return parse_tests(value["test_cases"])
        if "inputs" in value and "outputs" in value:
            return [
                TestCase(stdin=_text(i), expected=_text(o))
                for i, o in zip(value["inputs"], value["outputs"], strict=False)
            ] or None
        if "input" in value or "output" in value:
            return [TestCase(stdin=_text(value.get("input")), expected=_text(value.get("output")))]
        return None
    if isinstance(value, Sequence):
        tests: list[TestCase] = []
        for item in value:
            if isinstance(item, str):
                tests.append(TestCase(assertion=item))
            elif isinstance(item, Mapping):
                tests.extend(parse_tests(item) or [])
        return tests or None
    return None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "\n".join(str(v) for v in value)
    return str(value)


def same_output(actual: str, expected: str) -> bool:
    def lines(text: str) -> list[str]:
        out = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
        while out and not out[-1]:
            out.pop()
        return out

    return lines(actual) == lines(expected)


@dataclass
class CodeReward(Reward):
    name: ClassVar[str] = "code"
    summary: ClassVar[str] = (
        "fraction of test cases passed by the last fenced Python block after </think>, each run in the sandbox "
        "(own temp dir, no network, CPU/memory/process limits, killed at test_timeout); 0.0 without code; "
        "None when the row has no test cases"
    )

    tests_column: str | None = field(
        default=None,
        metadata={"help": "column with the test cases (default: first of " + ", ".join(TEST_COLUMNS) + ")"},
    )
    test_timeout: float = field(default=5.0, metadata={"help": "wall-clock seconds per test run"})
    memory_mb: int = field(default=512, metadata={"help": "address-space limit per run, MiB"})
    max_processes: int = field(default=16, metadata={"help": "processes/threads a program may have"})
    parallel: int | None = field(default=None, metadata={"help": "test runs at once (default: one per core)"})

    def __post_init__(self) -> None:
        check_positive(self.test_timeout, "test_timeout", self.name)
        check_positive(self.memory_mb, "memory_mb", self.name)

    def bounds(self) -> tuple[float, float]:
        return (0.0, 1.0)

    def __call__(self, completions: Sequence[Any], **kwargs: Any) -> list[float | None]:
        column = self.tests_column or next((c for c in TEST_COLUMNS if c in kwargs), None)
        if column is None or column not in kwargs:
            raise ConfigError(
                f"code: needs test cases in a dataset column ({self.tests_column or ', '.join(TEST_COLUMNS)})"
            )
        rows = list(kwargs[column])
        programs = [extract_code(completion_text(c)) for c in completions]
        tests = [parse_tests(value) for value in rows]
        jobs = [
            (index, program, test)
            for index, (program, cases) in enumerate(zip(programs, tests, strict=True))
            if program is not None and cases
            for test in cases
        ]
        limits = SandboxLimits(
            timeout=self.test_timeout, memory_mb=self.memory_mb, max_processes=self.max_processes
        )
        with ThreadPoolExecutor(max_workers=self.parallel or default_workers()) as executor:
            outcomes = list(executor.map(lambda job: _passes(job[1], job[2], limits), jobs))
        passed = [0] * len(completions)
        for (index, _, _), ok in zip(jobs, outcomes, strict=True):
            passed[index] += ok
        rewards: list[float | None] = []
        for index, cases in enumerate(tests):
            if not cases:
                rewards.append(None)
            elif programs[index] is None:
                rewards.append(0.0)
            else:
                rewards.append(passed[index] / len(cases))
        return rewards


def _passes(program: str, test: TestCase, limits: SandboxLimits) -> bool:
    if test.assertion is not None:
        result = run_python(program + "\n\n" + test.assertion + "\n", "", limits)
        return result.ok
    result = run_python(program, test.stdin, limits)
    return result.ok and same_output(result.stdout, test.expected or "")
