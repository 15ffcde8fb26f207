"""The one exception type r1lab raises for bad input.

Every stage raises `R1labError` (or a subclass) for problems the user can fix: a missing column,
a malformed row, an unknown reward name. The CLI prints its message without a traceback, so the
message must name the file, row and field at fault.
"""

from __future__ import annotations


class R1labError(Exception):
    """A user-facing error: the message alone must tell the user what to fix."""


class DataError(R1labError, ValueError):
    """Bad input data: names the file, the row (1-based line number) and the field."""

    def __init__(
        self, message: str, *, path: str | None = None, row: int | None = None, field: str | None = None
    ):
        where = []
        if path is not None:
            where.append(str(path))
        if row is not None:
            where.append(f"row {row}")
        if field is not None:
            where.append(f"field {field!r}")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)
        self.path, self.row, self.field = path, row, field


class ConfigError(R1labError, ValueError):
    """A bad configuration value or key."""
