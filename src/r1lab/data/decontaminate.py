"""Flag (or drop) training rows that share a word n-gram with a benchmark problem.

The check Open-R1 ran on every distilled dataset before training (``scripts/decontaminate.py``):
a row is contaminated by a benchmark when any of its checked texts shares a run of ``ngram``
consecutive words (8 by default) with one of the benchmark's problems. Words come from
``r1lab.data.text.match_words``: whitespace words, lowercased after NFKC, punctuation stripped from
their ends (``apples,`` = ``apples``, ``$x$`` = ``x``; a formula stays one word; the module
docstring of ``r1lab.data.text`` gives the measurements behind that choice). A benchmark problem
shorter than ``ngram`` words is matched whole (its full word sequence must appear), otherwise
tiny problems such as "Compute $\\dbinom{8}{4}$." could never be caught.

The benchmark side is small (a few thousand problems) and held in a dict of n-grams; the data
side streams row by row, so inputs of any size pass through in constant memory.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from r1lab.data.benchmarks import BENCHMARKS, load_benchmark, load_problems
from r1lab.data.stream import RowWriter, open_rows, progress, quiet_datasets
from r1lab.data.text import comma_list, default_text_columns, match_words, ngrams, row_texts
from r1lab.errors import ConfigError

logger = logging.getLogger(__name__)

COLUMN_PREFIX = "contaminated_"


@dataclass
class DecontaminateConfig:
    """Options of ``r1lab decontaminate``."""

    input: str = field(
        metadata={"help": "data to check: a local JSONL/Parquet/JSON/CSV file or folder, or a hub id"}
    )
    output: str = field(metadata={"help": "where to write the rows (.jsonl, or .parquet)"})
    against: list[str] = field(
        default_factory=lambda: list(BENCHMARKS),
        metadata={"help": "bundled benchmark names, or local files / hub ids of problems, comma separated"},
    )
    ngram: int = field(
        default=8,
        metadata={
            "help": "words in the n-grams that must match (whitespace words, lowercased, end punctuation stripped)"
        },
    )
    columns: list[str] = field(
        default_factory=list,
        metadata={
            "help": "columns to check; default: the problem/prompt column, else the user turns of "
            "`messages`/`conversations`. List and conversation columns are checked item by item"
        },
    )
    roles: list[str] = field(
        default_factory=lambda: ["user"],
        metadata={"help": "which turns of a conversation column are checked"},
    )
    drop: bool = field(
        default=False, metadata={"help": "remove the flagged rows instead of only flagging them"}
    )
    record_matches: bool = field(
        default=False,
        metadata={
            "help": "add a `contamination_matches` column listing `benchmark:problem_id` of each match"
        },
    )
    split: str = field(default="train", metadata={"help": "split of a hub dataset input"})
    against_column: str = field(
        default="problem",
        metadata={"help": "problem column of --against files that are not bundled benchmarks"},
    )

    def __post_init__(self) -> None:
        self.against = comma_list(self.against)
        self.columns = comma_list(self.columns)
        self.roles = comma_list(self.roles)
        if self.ngram < 1:
            raise ConfigError(f"ngram must be at least 1, got {self.ngram}")
        if not self.against:
            raise ConfigError("name at least one benchmark or file in --against")


@dataclass
class DecontaminationStats:
    """What a run found: rows read and written, and the flagged count per benchmark."""

    rows: int = 0
    written: int = 0
    flagged: dict[str, int] = field(default_factory=dict)
    flagged_any: int = 0
    output: str | None = None

    def summary(self) -> str:
        lines = [f"{'benchmark':<16} {'flagged':>8} {'of rows':>8}"]
        for name, count in self.flagged.items():
            lines.append(f"{name:<16} {count:>8} {self.rows:>8}")
        lines.append(f"{'any':<16} {self.flagged_any:>8} {self.rows:>8}")
        lines.append(f"written: {self.written} rows" + (f" to {self.output}" if self.output else ""))
        return "\n".join(lines)


class ContaminationIndex:
    """The word n-grams of benchmark problems, each pointing at the problems that contain it."""

    def __init__(self, ngram: int = 8):
        self.ngram = ngram
        self.names: list[str] = []
        self._grams: dict[tuple[str, ...], list[tuple[str, str]]] = {}
        self._short: list[tuple[str, str, str]] = []  # (" w1 w2 ... ", benchmark, problem id)
        self.problems: dict[str, int] = {}

    def add(self, benchmark: str, problem_id: str, text: str) -> None:
        if benchmark not in self.problems:
            self.names.append(benchmark)
            self.problems[benchmark] = 0
        self.problems[benchmark] += 1
        tokens = match_words(text)
        if not tokens:
            return
        if len(tokens) < self.ngram:
            self._short.append((" " + " ".join(tokens) + " ", benchmark, problem_id))
            return
        entry = (benchmark, problem_id)
        for gram in ngrams(tokens, self.ngram):
            owners = self._grams.setdefault(gram, [])
            if entry not in owners:
                owners.append(entry)

    def add_problems(self, benchmark: str, dataset: Iterable[Mapping[str, Any]]) -> None:
        for row in dataset:
            self.add(benchmark, str(row["id"]), row["problem"])

    @classmethod
    def from_sources(cls, sources: Sequence[str], ngram: int = 8, problem_column: str = "problem"):
        """An index over bundled benchmarks (by name) and problem files or hub ids (named by their stem)."""
        index = cls(ngram)
        for source in sources:
            with quiet_datasets():
                if source in BENCHMARKS:
                    dataset, name = load_benchmark(source), source
                else:
                    dataset = load_problems(source, problem_column=problem_column, answer_column=None)
                    name = source_name(source)
            index.add_problems(name, dataset)
        for name in index.names:
            logger.debug("indexed %d problems of %s", index.problems[name], name)
        return index

    def matches(self, text: str) -> set[tuple[str, str]]:
        """The (benchmark, problem id) pairs whose problem shares an n-gram with ``text``."""
        tokens = match_words(text)
        found: set[tuple[str, str]] = set()
        grams = self._grams
        for gram in ngrams(tokens, self.ngram):
            owners = grams.get(gram)
            if owners:
                found.update(owners)
        if self._short and tokens:
            joined = " " + " ".join(tokens) + " "
            found.update((name, pid) for needle, name, pid in self._short if needle in joined)
        return found

    def benchmarks_in(self, texts: Iterable[str]) -> set[str]:
        return {name for text in texts for name, _ in self.matches(text)}


def source_name(source: str) -> str:
    """A column-safe name for a problem source: the bundled name, or the file stem / hub dataset name."""
    if source in BENCHMARKS:
        return source
    stem = Path(source.split(":")[0]).stem if Path(source).exists() else source.split(":")[0].split("/")[-1]
    return re.sub(r"\W+", "_", stem).strip("_").lower() or "benchmark"


def decontaminate(
    config: DecontaminateConfig, rows: Iterable[Mapping[str, Any]] | None = None
) -> DecontaminationStats:
    """Stream ``config.input`` (or ``rows``) to ``config.output``, adding ``contaminated_<benchmark>`` columns.

    With ``drop`` the flagged rows are left out instead. Returns the counts, which are also logged.
    """
    index = ContaminationIndex.from_sources(config.against, config.ngram, config.against_column)
    stream = open_rows(config.input if rows is None else rows, split=config.split)
    columns = list(config.columns) or (default_text_columns(stream.columns) if stream.columns else [])
    logger.info(
        "checking %s (%s) against %s with %d-grams",
        stream.name,
        ", ".join(columns),
        ", ".join(f"{n} ({index.problems[n]} problems)" for n in index.names),
        config.ngram,
    )
    stats = DecontaminationStats(flagged={name: 0 for name in index.names}, output=config.output)
    with RowWriter(config.output) as writer:
        for i, row in enumerate(progress(stream, total=stream.total, desc="decontaminate")):
            stats.rows += 1
            found: set[tuple[str, str]] = set()
            for text in row_texts(row, columns, config.roles, source=stream.name, index=i):
                found |= index.matches(text)
            hit = {name for name, _ in found}
            for name in hit:
                stats.flagged[name] += 1
            if hit:
                stats.flagged_any += 1
                if config.drop:
                    continue
            out = dict(row)
            for name in index.names:
                out[COLUMN_PREFIX + name] = name in hit
            if config.record_matches:
                out["contamination_matches"] = sorted(f"{name}:{pid}" for name, pid in found)
            writer.write(out)
        stats.written = writer.count
    for name, count in stats.flagged.items():
        logger.info(
            "%s: %d of %d rows share a run of %d words with its problems",
            name,
            count,
            stats.rows,
            config.ngram,
        )
    logger.info(
        "%s %d contaminated rows; wrote %d rows to %s",
        "dropped" if config.drop else "flagged",
        stats.flagged_any,
        stats.written,
        config.output,
    )
    return stats
