"""Row streams for data larger than memory: read any source row by row, write rows as they come.

``open_rows`` reads local JSONL (plain or ``.jsonl.gz``) line by line, Parquet a record batch at a time (pyarrow), and
everything else (JSON, CSV, a folder, a Hugging Face id) through ``datasets`` with
``streaming=True``: memory stays flat whatever the input size. ``RowWriter`` appends JSONL lines
or Parquet row groups to a temporary file that replaces the output only once complete, so an
interrupted run never leaves a plausible-looking half file behind.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from itertools import chain
from pathlib import Path
from typing import Any

from r1lab.data.io import dumps_row, open_dataset
from r1lab.errors import DataError

logger = logging.getLogger(__name__)

PARQUET_BATCH_ROWS = 1024


class RowStream:
    """Row dicts read once, with the column names (from the first row) and the total when known."""

    def __init__(self, name: str, rows: Iterator[dict[str, Any]], total: int | None = None):
        self.name, self.total = name, total
        first = next(rows, None)
        self.columns: list[str] = list(first) if first is not None else []
        self._rows: Iterator[dict[str, Any]] = chain([first], rows) if first is not None else iter(())

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """The rows, once: a second loop continues where the first stopped (the source is a stream)."""
        return self._rows


def open_rows(source: str | os.PathLike | Iterable[Mapping[str, Any]], *, split: str = "train") -> RowStream:
    """Open a local file or folder, a Hugging Face dataset id, or an in-memory iterable of rows as a stream."""
    if not isinstance(source, (str, os.PathLike)):
        total = len(source) if hasattr(source, "__len__") else None  # type: ignore[arg-type]
        return RowStream("<rows>", (dict(row) for row in source), total)
    text = str(source)
    path = Path(text)
    if path.is_file() and path.name.lower().endswith((".jsonl", ".jsonl.gz")):
        return RowStream(text, _jsonl_rows(path))
    if path.is_file() and path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        parquet = pq.ParquetFile(path)
        return RowStream(text, _parquet_rows(parquet), parquet.metadata.num_rows)
    try:
        dataset = open_dataset(source, split=split, streaming=True)
    except (ConnectionError, FileNotFoundError, ValueError) as exc:
        if isinstance(exc, DataError):
            raise
        # The hub's "not found", "offline" and "no such split" errors: a message, not a traceback.
        raise DataError(f"cannot open this dataset: {type(exc).__name__}: {exc}", path=text) from None
    return RowStream(text, iter(dataset), _known_total(dataset, split))


def _jsonl_rows(path: Path) -> Iterator[dict[str, Any]]:
    """JSONL (optionally gzipped) one line at a time (``read_jsonl`` reads the whole file; this must not)."""
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    with opener(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise DataError(
                    f"not valid JSON ({exc.msg} at column {exc.colno})", path=str(path), row=number
                ) from None
            if not isinstance(row, dict):
                raise DataError(
                    f"expected a JSON object, got {type(row).__name__}", path=str(path), row=number
                )
            yield row


def _parquet_rows(parquet) -> Iterator[dict[str, Any]]:
    for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS):
        yield from batch.to_pylist()


def _known_total(dataset, split: str) -> int | None:
    """The row count a streamed hub dataset declares in its metadata, if any (for the progress bar)."""
    try:
        return int(dataset.info.splits[split].num_examples)
    except (AttributeError, KeyError, TypeError, ValueError):
        return None


class RowWriter:
    """Write rows incrementally as JSONL, or as Parquet when the path ends in ``.parquet``.

    Use as a context manager: on success the temporary file replaces ``path``; on an exception it
    is removed. Parquet rows are buffered into row groups; the schema comes from the first group
    and later groups are cast to it (a clear error when they cannot be).
    """

    def __init__(self, path: str | os.PathLike, *, parquet_batch_rows: int = PARQUET_BATCH_ROWS):
        self.path = Path(path)
        self.tmp = self.path.with_name(self.path.name + ".tmp")
        self.parquet = self.path.suffix.lower() == ".parquet"
        self.batch_rows = parquet_batch_rows
        self.count = 0
        self._buffer: list[Mapping[str, Any]] = []
        self._file = None
        self._writer = None

    def __enter__(self) -> RowWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.parquet:
            self._file = self.tmp.open("w", encoding="utf-8")
        return self

    def write(self, row: Mapping[str, Any]) -> None:
        self.count += 1
        if self._file is not None:
            self._file.write(dumps_row(row) + "\n")
            return
        self._buffer.append(row)
        if len(self._buffer) >= self.batch_rows:
            self._flush_parquet()

    def _flush_parquet(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not self._buffer:
            return
        rows, self._buffer = self._buffer, []
        if self._writer is None:
            table = pa.Table.from_pylist(rows)
            self._writer = pq.ParquetWriter(self.tmp, table.schema)
        else:
            try:
                table = pa.Table.from_pylist(rows, schema=self._writer.schema)
            except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
                raise DataError(
                    f"rows {self.count - len(rows) + 1}-{self.count} do not fit the Parquet schema of the "
                    f"first rows ({exc}); write JSONL instead",
                    path=str(self.path),
                ) from None
        self._writer.write_table(table)

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None and self.parquet:
                self._flush_parquet()
                if self._writer is None:  # no rows at all: still write a valid (empty) file
                    import pyarrow as pa
                    import pyarrow.parquet as pq

                    pq.write_table(pa.table({}), self.tmp)
        finally:
            if self._file is not None:
                self._file.close()
            if self._writer is not None:
                self._writer.close()
        if exc_type is None:
            os.replace(self.tmp, self.path)
        else:
            self.tmp.unlink(missing_ok=True)


@contextmanager
def quiet_datasets():
    """Hide ``datasets``' per-map progress bars (loading a bundled benchmark is not news to the user)."""
    import datasets

    was_disabled = datasets.are_progress_bars_disabled()
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        if not was_disabled:
            datasets.enable_progress_bars()


def progress(iterable: Iterable, *, total: int | None, desc: str):
    """A tqdm bar on a terminal (stderr); silent in logs and tests, where it would only add noise."""
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, unit=" rows", mininterval=1.0, disable=None)
