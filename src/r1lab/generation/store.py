"""The resumable output: one JSON line per finished row, appended and flushed as each row completes.

Crash safety comes from three rules. Each row is written with one ``write`` of the whole line and
flushed at once, so a SIGKILL loses at most the rows still in flight. On open, a torn last line
(a write cut short) is cut off, and the ids already written are read back, so a rerun skips them
and no id is ever written twice. An exclusive ``flock`` on the file stops two runs appending to
the same output. Rows that exhausted their retries go to ``OUT.failed.jsonl`` with the error; they
are not in the output, so a rerun tries them again, and the failed file is compacted at the end to
the rows that are still missing.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from r1lab.data.io import dumps_row
from r1lab.errors import ConfigError, DataError

logger = logging.getLogger(__name__)


def repair_torn_tail(path: Path) -> int:
    """Cut a last line that has no newline (a write interrupted by a crash). Returns bytes removed.

    A last line that parses as a whole JSON object only lacks its newline: it is kept and the
    newline added, so no finished row is thrown away.
    """
    if not path.exists():
        return 0
    size = path.stat().st_size
    if size == 0:
        return 0
    with path.open("rb+") as f:
        block = 1 << 16
        pos = size
        tail = b""
        while pos > 0:  # read backwards to the last newline
            start = max(0, pos - block)
            f.seek(start)
            tail = f.read(pos - start) + tail
            pos = start
            if b"\n" in tail:
                break
        if tail.endswith(b"\n"):
            return 0
        cut = tail.rfind(b"\n")
        last = tail[cut + 1 :]
        try:
            if isinstance(json.loads(last), dict):
                f.seek(0, os.SEEK_END)
                f.write(b"\n")
                return 0
        except ValueError:
            pass
        keep = size - len(last)
        f.truncate(keep)
    logger.warning("%s: removed a torn last line (%d bytes) left by an interrupted run", path, len(last))
    return len(last)


def read_ids(path: Path) -> list[str]:
    """The ``id`` of every row in a JSONL file (after repair), in file order."""
    ids: list[str] = []
    if not path.exists():
        return ids
    with path.open("rb") as f:
        for number, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw)
            except ValueError as exc:
                raise DataError(
                    f"not valid JSON ({exc}); fix or remove this line, then rerun", path=str(path), row=number
                ) from None
            if not isinstance(row, dict) or "id" not in row:
                raise DataError(
                    "row has no 'id'; is this an r1lab generate output?", path=str(path), row=number
                )
            ids.append(str(row["id"]))
    return ids


class OutputStore:
    """Append-only JSONL output plus its failed-rows file; see the module docstring for the rules."""

    def __init__(self, path: str | os.PathLike, failed_path: str | os.PathLike):
        self.path = Path(path)
        self.failed_path = Path(failed_path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("ab+")
        try:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._file.close()
            raise ConfigError(
                f"{self.path}: another process is writing this output; wait for it or stop it"
            ) from None
        self.repaired_bytes = repair_torn_tail(self.path)
        ids = read_ids(self.path)
        self.done: set[str] = set(ids)
        if len(self.done) != len(ids):
            logger.warning(
                "%s: holds %d duplicate ids (written by another tool?)", self.path, len(ids) - len(self.done)
            )
        repair_torn_tail(self.failed_path)
        self.previously_failed: dict[str, dict[str, Any]] = {}
        if self.failed_path.exists():
            with self.failed_path.open("rb") as f:
                for raw in f:
                    try:
                        record = json.loads(raw)
                    except ValueError:
                        continue
                    if isinstance(record, dict) and str(record.get("id")) not in self.done:
                        self.previously_failed[str(record.get("id"))] = record
        self._failed_file = None
        self.failed_this_run: dict[str, dict[str, Any]] = {}

    def write(self, row: Mapping[str, Any]) -> None:
        """Append one finished row and flush it to the OS (it survives a SIGKILL from now on)."""
        row_id = str(row["id"])
        if row_id in self.done:  # never twice, whatever the caller does
            logger.warning("row %s is already in %s; not written again", row_id, self.path)
            return
        self._file.write((dumps_row(row) + "\n").encode("utf-8"))
        self._file.flush()
        self.done.add(row_id)
        self.failed_this_run.pop(row_id, None)

    def write_failed(self, row: Mapping[str, Any], error: str, attempts: int) -> None:
        """Record a row that exhausted its retries: the input row, the error, and the attempts made."""
        if self._failed_file is None:
            self.failed_path.parent.mkdir(parents=True, exist_ok=True)
            self._failed_file = self.failed_path.open("ab")
        record = {**row, "error": error, "attempts": attempts}
        self._failed_file.write((dumps_row(record) + "\n").encode("utf-8"))
        self._failed_file.flush()
        self.failed_this_run[str(row["id"])] = record

    def close(self) -> None:
        """Sync the output, and rewrite the failed file to hold only rows still missing from the output."""
        if self._failed_file is not None:
            self._failed_file.close()
            self._failed_file = None
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
        finally:
            self._file.close()  # releases the lock
        self._compact_failed()

    def _compact_failed(self) -> None:
        if not self.failed_path.exists():
            return
        keep: dict[str, dict[str, Any]] = {}
        with self.failed_path.open("rb") as f:
            for raw in f:
                try:
                    record = json.loads(raw)
                except ValueError:
                    continue
                if isinstance(record, dict) and str(record.get("id")) not in self.done:
                    keep[str(record.get("id"))] = record  # the latest error for each id
        if not keep:
            self.failed_path.unlink()
            return
        tmp = self.failed_path.with_name(self.failed_path.name + ".tmp")
        with tmp.open("w", encoding="utf-8") as f:
            for record in keep.values():
                f.write(dumps_row(record) + "\n")
        os.replace(tmp, self.failed_path)

    def __enter__(self) -> OutputStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
