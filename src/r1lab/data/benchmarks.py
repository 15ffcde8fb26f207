"""The bundled evaluation benchmarks and the loader that gives every source one schema.

Every problem set comes back with ``id`` (str), ``problem`` (str) and ``answer`` (str) plus the
source's own fields. The files under ``benchmarks/`` are copies of the data documented in
``benchmarks/SOURCES.md`` (origin, commit and licence of each).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from r1lab.data.io import open_dataset, require_columns, stable_id
from r1lab.errors import DataError


@dataclass(frozen=True)
class BenchmarkSpec:
    """Where a bundled benchmark lives and how its columns map onto the shared schema."""

    name: str
    filename: str
    problem_column: str
    answer_column: str
    id_column: str
    description: str
    #: A column holding a whole reference solution, kept as ``solution`` (GSM8K's ``answer`` is one).
    solution_column: str | None = None


BENCHMARKS: dict[str, BenchmarkSpec] = {
    spec.name: spec
    for spec in [
        BenchmarkSpec(
            "math500", "math500.jsonl", "problem", "answer", "unique_id", "MATH-500 (PRM800K test split)"
        ),
        BenchmarkSpec("aime24", "aime24.jsonl", "problem", "answer", "id", "AIME 2024 I and II"),
        BenchmarkSpec("aime25", "aime25.jsonl", "problem", "answer", "id", "AIME 2025 I and II"),
        BenchmarkSpec(
            "amc23", "amc23.jsonl", "problem", "answer", "id", "AMC 12 2023, numeric-answer subset"
        ),
        BenchmarkSpec(
            "gsm8k",
            "gsm8k_test.jsonl",
            "question",
            "final_answer",
            "id",
            "GSM8K test",
            solution_column="answer",
        ),
    ]
}


def benchmark_path(name: str) -> Path:
    """The bundled JSONL file of a benchmark."""
    spec = _spec(name)
    return Path(str(resources.files("r1lab.data") / "benchmarks" / spec.filename))


def _spec(name: str) -> BenchmarkSpec:
    try:
        return BENCHMARKS[name]
    except KeyError:
        raise DataError(f"unknown benchmark {name!r}; bundled: {', '.join(BENCHMARKS)}") from None


def load_benchmark(name: str):
    """A bundled benchmark as a ``datasets.Dataset`` with ``id``, ``problem``, ``answer`` + its own fields."""
    spec = _spec(name)
    dataset = open_dataset(benchmark_path(name))
    if spec.solution_column:  # keep the reference solution under a name that does not clash with `answer`
        dataset = dataset.rename_column(spec.solution_column, "solution")
    return normalize_problems(
        dataset,
        source=name,
        problem_column=spec.problem_column,
        answer_column=spec.answer_column,
        id_column=spec.id_column,
    )


def normalize_problems(
    dataset,
    *,
    source: str,
    problem_column: str = "problem",
    answer_column: str | None = "answer",
    id_column: str | None = None,
):
    """Give a dataset the shared schema: string ``id``, ``problem`` and (when asked) ``answer`` columns.

    Original columns stay; ``problem``/``answer`` are added as copies when mapped from other names.
    Without an id column, ``id`` is a hash of the problem text, stable across runs and machines.
    """
    needed = [problem_column] + ([answer_column] if answer_column else [])
    require_columns(dataset, needed, source)
    id_from = id_column if id_column and id_column in dataset.column_names else None
    if id_column and id_from is None and id_column != "id":
        raise DataError(
            f"missing id column {id_column!r}; the columns are: {', '.join(dataset.column_names)}",
            path=source,
        )
    if id_from is None and "id" in dataset.column_names:
        id_from = "id"

    def convert(row, index):
        problem = row[problem_column]
        if not isinstance(problem, str) or not problem.strip():
            raise DataError("empty or non-text problem", path=source, row=index + 1, field=problem_column)
        out = {"problem": problem, "id": str(row[id_from]) if id_from else stable_id(problem)}
        if answer_column:
            answer = row[answer_column]
            if answer is None or (isinstance(answer, str) and not answer.strip()):
                raise DataError("empty answer", path=source, row=index + 1, field=answer_column)
            out["answer"] = answer if isinstance(answer, str) else _number_text(answer)
        return out

    dataset = dataset.map(convert, with_indices=True, desc=None, load_from_cache_file=False)
    # map() keeps an existing column's type (GSM8K's integer ids): make ids text, as promised.
    if dataset.features["id"].dtype != "string":
        from datasets import Value

        dataset = dataset.cast_column("id", Value("string"))
    return dataset


def _number_text(value) -> str:
    """Render a numeric answer without a spurious ``.0``."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def load_problems(
    source: str | os.PathLike,
    *,
    problem_column: str = "problem",
    answer_column: str | None = "answer",
    id_column: str | None = None,
    split: str = "train",
):
    """Open any problem source with the shared schema.

    ``source`` is a bundled benchmark name, a local JSONL/JSON/Parquet/CSV file, or a Hugging Face
    dataset id (``org/name`` or ``org/name:config``; ``split`` chooses the split).
    """
    if str(source) in BENCHMARKS:
        return load_benchmark(str(source))
    dataset = open_dataset(source, split=split)
    return normalize_problems(
        dataset,
        source=str(source),
        problem_column=problem_column,
        answer_column=answer_column,
        id_column=id_column,
    )
