"""Remove duplicate rows: exact duplicates by a hash of the normalized text, near duplicates by MinHash.

One pass, first occurrence wins, input order kept. Exact keys are BLAKE2b digests of the checked
texts after ``normalize_text`` (case, Unicode and whitespace folded; punctuation kept, so ``x+1``
and ``x-1`` stay distinct problems). Near duplicates (``near=True``) compare word 5-gram shingles
by MinHash + LSH (``r1lab.data.minhash``). Each changed word alters up to 5 shingles, so on a
71-word problem one reworded word leaves a Jaccard similarity of 0.86 (a near duplicate at the
default threshold 0.8) while three changed numbers leave 0.63 (kept). Text similarity cannot tell
a changed number from a changed word: in a short problem a single new number reads as a near
duplicate, which is why ``near`` is opt-in.

Memory: 16 bytes per kept row for exact keys, plus ``4 * num_perm`` bytes per kept row with
``near`` (512 B at 128 permutations: about 0.5 GB per million rows).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from r1lab.data.minhash import MinHasher, MinHashLSH, shingle_hashes
from r1lab.data.stream import RowWriter, open_rows, progress
from r1lab.data.text import comma_list, default_text_columns, normalize_text, row_texts, words
from r1lab.errors import ConfigError

logger = logging.getLogger(__name__)


@dataclass
class DedupConfig:
    """Options of ``r1lab dedup``."""

    input: str = field(
        metadata={"help": "data to deduplicate: a local JSONL/Parquet/JSON/CSV file or folder, or a hub id"}
    )
    output: str = field(metadata={"help": "where to write the rows (.jsonl, or .parquet)"})
    columns: list[str] = field(
        default_factory=list,
        metadata={
            "help": "columns whose text decides identity; default: the problem/prompt column, else the user "
            "turns of `messages`/`conversations`"
        },
    )
    roles: list[str] = field(
        default_factory=lambda: ["user"], metadata={"help": "which turns of a conversation column count"}
    )
    near: bool = field(default=False, metadata={"help": "also remove near duplicates (MinHash + LSH)"})
    threshold: float = field(
        default=0.8, metadata={"help": "estimated Jaccard similarity that makes a near duplicate"}
    )
    num_perm: int = field(
        default=128, metadata={"help": "MinHash permutations (more: finer estimates, more memory)"}
    )
    shingle_size: int = field(default=5, metadata={"help": "words per shingle for near duplicates"})
    mark: bool = field(
        default=False,
        metadata={
            "help": "keep every row and add `duplicate_of` (0-based row of the first occurrence, or null)"
        },
    )
    seed: int = field(default=1, metadata={"help": "seed of the MinHash permutations"})
    split: str = field(default="train", metadata={"help": "split of a hub dataset input"})

    def __post_init__(self) -> None:
        self.columns = comma_list(self.columns)
        self.roles = comma_list(self.roles)
        if not 0.0 < self.threshold <= 1.0:
            raise ConfigError(f"threshold must be in (0, 1], got {self.threshold}")
        if self.num_perm < 2 or self.shingle_size < 1:
            raise ConfigError("num_perm must be at least 2 and shingle_size at least 1")


@dataclass
class DedupStats:
    rows: int = 0
    written: int = 0
    exact_duplicates: int = 0
    near_duplicates: int = 0
    empty: int = 0
    output: str | None = None

    def summary(self) -> str:
        return (
            f"rows read:         {self.rows}\n"
            f"exact duplicates:  {self.exact_duplicates}\n"
            f"near duplicates:   {self.near_duplicates}\n"
            f"rows without text: {self.empty} (kept)\n"
            f"written:           {self.written} rows" + (f" to {self.output}" if self.output else "")
        )


class Deduplicator:
    """Remembers the rows seen so far and tells whether a new one duplicates one of them."""

    def __init__(
        self,
        *,
        near: bool = False,
        threshold: float = 0.8,
        num_perm: int = 128,
        shingle_size: int = 5,
        seed: int = 1,
    ):
        self._exact: dict[bytes, int] = {}
        self.shingle_size = shingle_size
        self._hasher = self._lsh = None
        if near:
            self._hasher = MinHasher(num_perm, seed)
            self._lsh = MinHashLSH(threshold, num_perm)

    def check(self, key: int, texts: Sequence[str]) -> tuple[str, int] | None:
        """("exact"|"near", key of the first occurrence) if ``texts`` duplicates a row seen before.

        A row that is not a duplicate is remembered under ``key``.
        """
        digest = hashlib.blake2b(
            "\x1f".join(normalize_text(t) for t in texts).encode("utf-8"), digest_size=16
        )
        exact = digest.digest()
        first = self._exact.get(exact)
        if first is not None:
            return "exact", first
        if self._lsh is not None:
            hashes = np.unique(np.concatenate([shingle_hashes(words(t), self.shingle_size) for t in texts]))
            signature = self._hasher.signature(hashes)
            match = self._lsh.query(signature)
            if match is not None:
                return "near", match[0]
            self._lsh.insert(key, signature)
        self._exact[exact] = key
        return None


def dedup(config: DedupConfig, rows: Iterable[Mapping[str, Any]] | None = None) -> DedupStats:
    """Stream ``config.input`` (or ``rows``) to ``config.output`` without duplicates (or marking them)."""
    stream = open_rows(config.input if rows is None else rows, split=config.split)
    columns = list(config.columns) or (default_text_columns(stream.columns) if stream.columns else [])
    logger.info(
        "deduplicating %s on %s (%s)",
        stream.name,
        ", ".join(columns),
        f"exact + near at Jaccard >= {config.threshold}" if config.near else "exact",
    )
    seen = Deduplicator(
        near=config.near,
        threshold=config.threshold,
        num_perm=config.num_perm,
        shingle_size=config.shingle_size,
        seed=config.seed,
    )
    stats = DedupStats(output=config.output)
    with RowWriter(config.output) as writer:
        for i, row in enumerate(progress(stream, total=stream.total, desc="dedup")):
            stats.rows += 1
            texts = [
                t for t in row_texts(row, columns, config.roles, source=stream.name, index=i) if t.strip()
            ]
            duplicate = None
            if texts:
                duplicate = seen.check(i, texts)
            else:
                stats.empty += 1
            if duplicate is not None:
                kind, first = duplicate
                if kind == "exact":
                    stats.exact_duplicates += 1
                else:
                    stats.near_duplicates += 1
                if not config.mark:
                    continue
            if config.mark:
                row = {**row, "duplicate_of": None if duplicate is None else duplicate[1]}
            writer.write(row)
        stats.written = writer.count
    logger.info(
        "%d rows: %d exact and %d near duplicates %s; wrote %d rows to %s",
        stats.rows,
        stats.exact_duplicates,
        stats.near_duplicates,
        "marked" if config.mark else "removed",
        stats.written,
        config.output,
    )
    if stats.empty:
        logger.warning("%d rows had no text in %s and were kept as they are", stats.empty, ", ".join(columns))
    return stats
