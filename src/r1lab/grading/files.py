"""``r1lab grade``: grade every generation of every row of a file, and filter for distillation or RL.

Each row gains lists parallel to its generations: ``extracted`` (str or None), ``correct``
(bool), ``grade_status`` (ok / no_answer / timeout / unparseable_gold / error), ``answer_tiers``
and ``answer_spans`` (which tier read the answer, and where: `r1lab.grading.rows`). Filters:

* ``keep``: ``all`` rows and generations; ``correct`` generations only (rejection sampling for SFT
  data; rows left with none are dropped); ``any-correct`` rows with at least one correct generation.
* ``pass_rate MIN MAX``: problems whose share of correct generations lies in [MIN, MAX], as
  Open-R1 selects RL prompts that are neither always nor never solved. A row with an unparseable
  gold has no share and is dropped by this filter.

A row's ``finish_reasons`` list (as ``r1lab generate`` writes it) is passed to grading: a generation
cut off at the token limit counts only an answer it stated, else it is ``no_answer``. A row's
problem text (``problem_column``, when the row has it) is passed too: an answer that only
restates the problem's expression is ``no_answer``.

Rows stream through in chunks, so a file larger than memory grades in constant memory.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from r1lab.data.stream import RowWriter, open_rows, progress
from r1lab.errors import ConfigError, DataError
from r1lab.formats import AUTO, check_format, format_names
from r1lab.grading.grader import DEFAULT_TIMEOUT_S
from r1lab.grading.rows import GRADE_COLUMNS, grade_fields, grade_samples
from r1lab.grading.verify import STATUS_UNPARSEABLE_GOLD, STATUSES, Grade

logger = logging.getLogger(__name__)

KEEP_CHOICES = ("all", "correct", "any-correct")
#: Columns that hold one entry per generation, filtered together with ``keep=correct``.
PARALLEL_COLUMNS = ("finish_reasons", "reasoning", *GRADE_COLUMNS)
#: Generations graded per call to the pool: enough to keep every worker busy.
CHUNK_GENERATIONS = 2048


@dataclass
class GradeConfig:
    """Options of ``r1lab grade`` / `grade_file`."""

    input: str = field(
        metadata={"help": "rows to grade: a JSONL/Parquet file (e.g. the output of r1lab generate)"}
    )
    output: str = field(metadata={"help": "where to write the graded rows (.jsonl or .parquet)"})
    answer_column: str = field(
        default="answer",
        metadata={
            "help": "column with the gold answer: LaTeX, a number, or a solution with \\boxed{} or ####"
        },
    )
    generations_column: str = field(
        default="generations",
        metadata={"help": "column with the responses: a list of strings, or one string"},
    )
    problem_column: str = field(
        default="problem",
        metadata={
            "help": "column with the problem text, used when present: an answer that only restates "
            "the problem's expression is no answer"
        },
    )
    format: str = field(
        default=AUTO,
        metadata={
            "help": "response format: auto (detected per response) or one of "
            + ", ".join(name for name in format_names() if name != AUTO)
            + " (see docs/grading.md)"
        },
    )
    keep: str = field(
        default="all",
        metadata={
            "help": "all | correct (only correct generations; rejection sampling) | any-correct (rows)"
        },
    )
    pass_rate: list[float] | None = field(
        default=None,
        metadata={"help": "MIN MAX: keep problems whose share of correct generations is in [MIN, MAX]"},
    )
    timeout: float = field(
        default=DEFAULT_TIMEOUT_S, metadata={"help": "seconds allowed to grade one answer"}
    )
    workers: int | None = field(default=None, metadata={"help": "grading processes (default: one per core)"})

    def __post_init__(self) -> None:
        if self.keep not in KEEP_CHOICES:
            raise ConfigError(f"keep: {self.keep!r} is not one of {', '.join(KEEP_CHOICES)}")
        if self.pass_rate is not None:
            if len(self.pass_rate) != 2:
                raise ConfigError(f"pass_rate: expected two numbers MIN MAX, got {self.pass_rate}")
            low, high = (float(x) for x in self.pass_rate)
            if not 0.0 <= low <= high <= 1.0:
                raise ConfigError(f"pass_rate: need 0 <= MIN <= MAX <= 1, got {low} {high}")
            self.pass_rate = [low, high]
        if self.timeout <= 0:
            raise ConfigError(f"timeout: must be positive, got {self.timeout}")
        check_format(self.format)


@dataclass
class GradeStats:
    """What a grading run saw and kept."""

    rows_in: int = 0
    rows_out: int = 0
    generations: int = 0
    generations_out: int = 0
    correct: int = 0
    status: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def graded(self) -> int:
        """Generations that count towards accuracy (all but those with an unparseable gold)."""
        return self.generations - self.status[STATUS_UNPARSEABLE_GOLD]

    @property
    def accuracy(self) -> float:
        return self.correct / self.graded if self.graded else 0.0

    def summary(self) -> str:
        lines = [
            f"accuracy        {self.accuracy:.4f}  ({self.correct}/{self.graded} generations)",
            f"rows            {self.rows_in} in, {self.rows_out} kept",
            f"generations     {self.generations} in, {self.generations_out} kept",
        ]
        lines += [f"  {name:<18}{self.status[name]}" for name in STATUSES if self.status[name]]
        rate = self.generations / self.seconds if self.seconds else 0.0
        lines.append(f"time            {self.seconds:.1f} s ({rate:.0f} generations/s)")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows_in": self.rows_in,
            "rows_out": self.rows_out,
            "generations": self.generations,
            "generations_out": self.generations_out,
            "correct": self.correct,
            "accuracy": self.accuracy,
            "status": dict(self.status),
            "seconds": self.seconds,
        }


def grade_file(config: GradeConfig) -> GradeStats:
    """Grade ``config.input`` into ``config.output``; the output appears only once complete."""
    start = time.perf_counter()
    stats = GradeStats()
    stream = open_rows(config.input)
    with RowWriter(config.output) as writer:
        rows = progress(stream, total=stream.total, desc="grade")
        for row in grade_rows(rows, config, stats=stats, source=config.input):
            writer.write(row)
    stats.seconds = time.perf_counter() - start
    logger.info("graded %s -> %s: accuracy %.4f", config.input, config.output, stats.accuracy)
    return stats


def grade_rows(
    rows: Iterable[Mapping[str, Any]],
    config: GradeConfig,
    *,
    stats: GradeStats | None = None,
    source: str = "<rows>",
) -> Iterator[dict[str, Any]]:
    """Grade and filter rows in chunks, yielding the kept rows (the engine behind `grade_file`)."""
    stats = stats if stats is not None else GradeStats()
    chunk: list[tuple[dict[str, Any], list[str | None]]] = []
    count = 0
    for number, row in enumerate(rows, start=1):
        row = dict(row)
        chunk.append((row, _generations(row, config, source, number)))
        count += len(chunk[-1][1])
        if count >= CHUNK_GENERATIONS:
            yield from _grade_chunk(chunk, config, stats, source)
            chunk, count = [], 0
    yield from _grade_chunk(chunk, config, stats, source)


def _generations(row: dict[str, Any], config: GradeConfig, source: str, number: int) -> list[str | None]:
    column = config.generations_column
    if column not in row:
        raise DataError(
            f"missing column; the row has: {', '.join(row)}", path=source, row=number, field=column
        )
    if config.answer_column not in row:
        raise DataError(
            f"missing column; the row has: {', '.join(row)}",
            path=source,
            row=number,
            field=config.answer_column,
        )
    value = row[column]
    if isinstance(value, str) or value is None:
        return [value]
    if not isinstance(value, list):
        raise DataError(
            f"expected a list of strings or a string, got {type(value).__name__}",
            path=source,
            row=number,
            field=column,
        )
    out = []
    for item in value:
        if isinstance(item, Mapping):  # a chat message
            item = item.get("content")
        if item is not None and not isinstance(item, str):
            raise DataError(
                f"a generation is a {type(item).__name__}, not text", path=source, row=number, field=column
            )
        out.append(item)
    return out


def _grade_chunk(
    chunk: list[tuple[dict[str, Any], list[str | None]]], config: GradeConfig, stats: GradeStats, source: str
) -> Iterator[dict[str, Any]]:
    if not chunk:
        return
    graded = grade_samples(
        [texts for _, texts in chunk],
        [row[config.answer_column] for row, _ in chunk],
        finish_reasons=[row.get("finish_reasons", row.get("finish_reason")) for row, _ in chunk],
        problems=[row.get(config.problem_column) for row, _ in chunk],
        response_format=config.format,
        timeout=config.timeout,
        workers=config.workers,
    )
    for (row, texts), row_grades in zip(chunk, graded, strict=True):
        stats.rows_in += 1
        stats.generations += len(texts)
        stats.correct += sum(g.correct for g in row_grades)
        stats.status.update(g.status for g in row_grades)
        row.update(grade_fields(row_grades))
        kept = _filter(row, row_grades, config)
        if kept is not None:
            stats.rows_out += 1
            stats.generations_out += len(kept["correct"])
            yield kept


def _filter(row: dict[str, Any], grades: list[Grade], config: GradeConfig) -> dict[str, Any] | None:
    if config.pass_rate is not None:
        counted = [g for g in grades if g.counts]
        if not counted:
            return None
        share = sum(g.correct for g in counted) / len(counted)
        low, high = config.pass_rate
        if not low <= share <= high:
            return None
    if config.keep == "any-correct" and not any(g.correct for g in grades):
        return None
    if config.keep == "correct":
        keep = [i for i, g in enumerate(grades) if g.correct]
        if not keep:
            return None
        generations = row[config.generations_column]
        row[config.generations_column] = (
            [generations[i] for i in keep] if isinstance(generations, list) else [generations]
        )
        for column in PARALLEL_COLUMNS:
            values = row.get(column)
            if isinstance(values, list) and len(values) == len(grades):
                row[column] = [values[i] for i in keep]
    return row


__all__ = ["KEEP_CHOICES", "GradeConfig", "GradeStats", "grade_file", "grade_rows"]
