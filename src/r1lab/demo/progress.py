"""The demo's live display: which stage runs, how far it is, how long it has taken.

The stages' own output (TRL's logs, progress bars, warnings) goes to a log file per stage, so the
terminal shows one clean line per stage. Progress is read from the files the stages write
(metrics.jsonl steps, JSONL rows), never from inside the trainers: the display works the same for
a stage that resumes halfway. One exception: an evaluation's rows are written only when all of a
problem's samples are back, and its schedule (``generation/schedule.py``, adaptive) sends one
sample of every problem first, so every row lands near the end and a row count would sit at
0/100 until then. ``samples_probe`` counts the responses themselves, from the generation's live
``RunMeter`` (the one hook: ``evaluate(..., meter=)``).

On a terminal the current line is redrawn in place twice a second; elsewhere (CI logs, pytest)
a plain line is written when a stage starts, every ``interval`` seconds, and when it ends.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

logger = logging.getLogger(__name__)

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"

#: A progress probe: returns (done, total, detail) or None when nothing is known yet.
Probe = Callable[[], "tuple[int, int, str] | None"]


def format_seconds(seconds: float) -> str:
    """``42.1s``, ``3m05s``, ``1h02m``: short enough for a status line."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def count_lines(path: str | os.PathLike) -> int:
    """Complete lines in a file (0 when it does not exist yet): rows a JSONL writer has finished."""
    try:
        with open(path, "rb") as f:
            return f.read().count(b"\n")
    except OSError:
        return 0


def last_json_line(path: str | os.PathLike) -> dict[str, Any] | None:
    """The last complete JSON object of a JSONL file, or None."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 65536))
            lines = f.read().split(b"\n")
    except OSError:
        return None
    for raw in reversed(lines[:-1]):  # the part after the last newline may be half written
        if raw.strip():
            try:
                return json.loads(raw)
            except json.JSONDecodeError:
                return None
    return None


def training_probe(metrics_file: str | os.PathLike, max_steps: int, keys: tuple[str, ...] = ()) -> Probe:
    """Progress of a trainer from its metrics.jsonl: the last logged step and a few of its numbers."""

    def probe():
        row = last_json_line(metrics_file)
        if row is None:
            return None
        parts = [f"{key} {row[key]:.3g}" for key in keys if isinstance(row.get(key), (int, float))]
        return int(row.get("step", 0)), max_steps, " · ".join(parts)

    return probe


def rows_probe(path: str | os.PathLike, total: int, unit: str = "problems") -> Probe:
    """Progress of a generation run: finished rows in its JSONL output."""

    def probe():
        return min(count_lines(path), total), total, unit

    return probe


def samples_probe(path: str | os.PathLike, meter: Any, rows: int, samples: int, label: str) -> Probe:
    """Progress of a multi-sample generation: finished samples (rows already on disk when it began
    count whole, then each response as it lands, read from the run's ``RunMeter``), over rows x samples."""
    start: list[int] = []

    def probe():
        if not start:
            start.append(min(count_lines(path), rows))
        written = min(count_lines(path), rows)
        done = min(rows * samples, start[0] * samples + meter.samples_done)
        return done, rows * samples, f"samples · {written}/{rows} problems complete · {label}"

    return probe


class Display:
    """Draws the status of the running stage; the same object prints each finished stage's line."""

    def __init__(
        self,
        total_stages: int,
        *,
        live: bool | None = None,
        stream: IO[str] | None = None,
        interval: float = 30.0,
    ):
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self.total_stages = total_stages
        self.interval = interval
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._label = ""
        self._probe: Probe | None = None
        self._started = 0.0
        self._tick = 0
        self._last_plain = 0.0

    # -- stage lifecycle
    def start(self, index: int, label: str) -> None:
        with self._lock:
            self._label = f"{index}/{self.total_stages} {label}"
            self._probe = None
            self._started = time.monotonic()
            self._last_plain = self._started
        if not self.live:
            self._write_line(f"▶ {self._label} ...")
        self._ensure_thread()

    def set_probe(self, probe: Probe | None) -> None:
        with self._lock:
            self._probe = probe

    def finish(self, index: int, label: str, summary: str, seconds: float, cached: bool = False) -> None:
        """Replace the live line with the stage's final line: a tick, what it produced, its time."""
        with self._lock:
            self._label = ""
            self._probe = None
            when = "done earlier" if cached else format_seconds(seconds)
            text = f"{'↺' if cached else '✓'} {index}/{self.total_stages} {label:<16} {summary}"
            self._clear()
            self.stream.write(f"{text}  [{when}]\n")
            self.stream.flush()

    def fail(self, index: int, label: str, seconds: float) -> None:
        with self._lock:
            self._label = ""
            self._probe = None
            self._clear()
            self.stream.write(
                f"✗ {index}/{self.total_stages} {label} failed after {format_seconds(seconds)}\n"
            )
            self.stream.flush()

    def message(self, text: str) -> None:
        with self._lock:
            self._clear()
            self.stream.write(text + "\n")
            self.stream.flush()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        with self._lock:
            self._clear()

    # -- drawing
    def _status(self) -> str:
        elapsed = format_seconds(time.monotonic() - self._started)
        detail = ""
        if self._probe is not None:
            try:
                state = self._probe()
            except Exception:  # a probe reads files being written: never let it break the run
                state = None
            if state is not None:
                done, total, extra = state
                share = done / total if total else 0.0
                bar = _bar(share)
                detail = f" {bar} {done}/{total}" + (f" · {extra}" if extra else "")
        return f"{self._label}{detail} · {elapsed}"

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._loop, name="r1lab-demo-progress", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(0.5 if self.live else 1.0):
            with self._lock:
                if not self._label:
                    continue
                if self.live:
                    self._tick += 1
                    line = f"{SPINNER[self._tick % len(SPINNER)]} {self._status()}"
                    width = _terminal_width()
                    self.stream.write("\r\x1b[2K" + line[: width - 1])
                    self.stream.flush()
                elif time.monotonic() - self._last_plain >= self.interval:
                    self._last_plain = time.monotonic()
                    self.stream.write(f"  {self._status()}\n")
                    self.stream.flush()

    def _clear(self) -> None:
        if self.live:
            self.stream.write("\r\x1b[2K")

    def _write_line(self, text: str) -> None:
        with self._lock:
            self.stream.write(text + "\n")
            self.stream.flush()


def _bar(share: float, width: int = 20) -> str:
    filled = int(round(max(0.0, min(1.0, share)) * width))
    return "[" + "█" * filled + "·" * (width - filled) + "]"


def _terminal_width() -> int:
    try:
        return os.get_terminal_size(sys.stderr.fileno()).columns
    except OSError:
        return 100


@contextlib.contextmanager
def captured_output(log_path: str | os.PathLike, enabled: bool = True) -> Iterator[None]:
    """Send everything a stage prints (stdout, stderr, log records, warnings) to ``log_path``.

    File descriptors 1 and 2 are redirected, not only ``sys.stdout``/``sys.stderr``: logging
    handlers hold the stderr they were created with, and C extensions and child processes
    write to the descriptors, and all of it belongs in the log rather than through the live
    line. The display writes to a duplicate of the original stderr (``terminal_stream``).
    """
    if not enabled:
        yield
        return
    path = Path(log_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8", buffering=1) as log:
        sys.stdout.flush()
        sys.stderr.flush()
        saved: list[tuple[int, int]] = []
        try:
            for fd in (1, 2):
                try:
                    saved.append((fd, os.dup(fd)))
                    os.dup2(log.fileno(), fd)
                except OSError:
                    break
            with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
                yield
        finally:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            for fd, copy in saved:
                os.dup2(copy, fd)
                os.close(copy)


def terminal_stream() -> IO[str]:
    """A private duplicate of stderr for the display: still the terminal while fd 2 points at a log."""
    try:
        fd = os.dup(sys.stderr.fileno())
    except (OSError, AttributeError, ValueError):  # pytest's capture has no real fd
        return sys.stderr
    stream = os.fdopen(fd, "w", encoding="utf-8", errors="replace", buffering=1)
    return _TtyAware(stream, sys.stderr.isatty())


class _TtyAware:
    """A text stream that remembers whether the stderr it duplicates was a terminal."""

    def __init__(self, stream: IO[str], tty: bool):
        self._stream, self._tty = stream, tty

    def write(self, text: str) -> int:
        return self._stream.write(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return self._tty

    def close(self) -> None:
        self._stream.close()
