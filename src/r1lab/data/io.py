"""File I/O every stage shares: JSONL rows in and out, and opening any dataset source.

A *source* is a bundled benchmark name (``math500``), a local JSONL/JSON/Parquet file, or a
Hugging Face dataset id (``org/name``, optionally ``org/name:config``). All come back as a
``datasets.Dataset``, which memory-maps Arrow files, so inputs larger than RAM stream.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from r1lab.errors import DataError

LOCAL_SUFFIXES = {".jsonl": "json", ".json": "json", ".parquet": "parquet", ".csv": "csv"}


def read_jsonl(path: str | os.PathLike, *, skip_torn_tail: bool = False) -> Iterator[dict[str, Any]]:
    """Yield the objects of a JSONL file; a bad line raises DataError naming file and line.

    With ``skip_torn_tail`` a last line without its newline that fails to parse (a write cut off by
    a crash) is skipped instead of raising.
    """
    path = Path(path)
    with path.open("rb") as f:
        lines = f.read().split(b"\n")
    last = len(lines) - 1
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except json.JSONDecodeError as exc:
            if skip_torn_tail and number - 1 == last:
                return
            raise DataError(
                f"not valid JSON ({exc.msg} at column {exc.colno})", path=str(path), row=number
            ) from None
        if not isinstance(row, dict):
            raise DataError(f"expected a JSON object, got {type(row).__name__}", path=str(path), row=number)
        yield row


def dumps_row(row: Mapping[str, Any]) -> str:
    """One JSONL line (without newline): UTF-8, no ASCII escaping, stable across runs."""
    return json.dumps(row, ensure_ascii=False, default=_json_default)


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "tolist"):  # numpy arrays and scalars
        return obj.tolist()
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot write {type(obj).__name__} to JSON")


def write_jsonl(path: str | os.PathLike, rows: Iterable[Mapping[str, Any]]) -> int:
    """Write rows atomically (temp file + rename), so a crash never leaves half a file. Returns the count."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    count = 0
    with tmp.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(dumps_row(row) + "\n")
            count += 1
    os.replace(tmp, path)
    return count


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write one JSON document atomically, indented for people to read."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(
        json.dumps(obj, indent=2, ensure_ascii=False, default=_json_default) + "\n", encoding="utf-8"
    )
    os.replace(tmp, path)


def write_rows(path: str | os.PathLike, rows: Iterable[Mapping[str, Any]]) -> int:
    """Write rows as JSONL, or as Parquet when the path ends in .parquet."""
    if str(path).endswith(".parquet"):
        from datasets import Dataset

        rows = list(rows)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Dataset.from_list(rows).to_parquet(str(path))
        return len(rows)
    return write_jsonl(path, rows)


def stable_id(text: str) -> str:
    """A short, stable id for a prompt: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def open_dataset(source: str | os.PathLike, *, split: str = "train", streaming: bool = False):
    """Open a local file or a Hugging Face dataset as a ``datasets.Dataset`` (no column changes).

    Local JSONL is parsed by us first when small enough to check line by line, so a malformed line
    is reported with its file and line number rather than as an Arrow error.
    """
    import datasets

    text = str(source)
    path = Path(text)
    suffix = "".join(path.suffixes[-1:]).lower()
    if path.exists():
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix.lower() in LOCAL_SUFFIXES)
            if not files:
                raise DataError("directory holds no .jsonl/.json/.parquet/.csv files", path=text)
            builder = LOCAL_SUFFIXES[files[0].suffix.lower()]
            data_files = [str(p) for p in files]
        elif suffix in LOCAL_SUFFIXES:
            builder, data_files = LOCAL_SUFFIXES[suffix], [text]
        else:
            raise DataError(f"unknown file type {suffix!r}: use .jsonl, .json, .parquet or .csv", path=text)
        if builder == "json" and suffix == ".jsonl" and not streaming and path.stat().st_size < 512 * 2**20:
            rows = list(read_jsonl(path))
            if not rows:
                return datasets.Dataset.from_dict({})
            try:
                return datasets.Dataset.from_list(rows)
            except (TypeError, ValueError) as exc:  # inconsistent types across rows
                raise DataError(f"rows do not share one schema: {exc}", path=text) from None
        return datasets.load_dataset(builder, data_files=data_files, split="train", streaming=streaming)
    if suffix in LOCAL_SUFFIXES:
        raise DataError("no such file", path=text)
    name, _, config = text.partition(":")
    return datasets.load_dataset(name, config or None, split=split, streaming=streaming)


def require_columns(dataset, columns: Iterable[str], source: str) -> None:
    """Raise DataError naming the source and the columns it has when any of ``columns`` is missing."""
    have = list(dataset.column_names or [])
    missing = [c for c in columns if c not in have]
    if missing:
        raise DataError(
            f"missing column(s) {', '.join(repr(c) for c in missing)}; the columns are: {', '.join(have) or '(none)'}",
            path=source,
        )
