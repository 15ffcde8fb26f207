"""Which request the window sends next: longest-expected first, so a multi-sample run has no long tail.

Evaluation samples each AIME problem 64 times and each MATH-500 problem 4 times, and the hard
problems produce the longest traces. In input order (FIFO) the hard problems that come last start
late and finish alone, with the server idle around them: the makespan of a list schedule is set by
the jobs that start last, so those should be the shortest (Graham's longest-processing-time rule).
Two ways to know what is long before it runs:

- **A prior** (``--length-prior FILE``): the lengths of an earlier run on the same problem ids (a
  generations JSONL, an evaluation's ``details.jsonl``, or an evaluation directory). Rows are sent
  in order of their mean earlier length, longest first, all samples of a row together, so memory
  and the moment a row is written are as in FIFO. Rows the prior lacks go first (unknown is
  treated as long: starting them early is the safe side).
- **Adaptively** (no prior, several single-sample requests per row): one sample of every row in a
  window of ``lookahead`` rows goes out first; rows none of whose samples has come back yet are
  presumed long and served next, round-robin; rows with finished samples are then served in order
  of their mean completion tokens (shrunk toward the run's mean, so one short sample does not
  send a hard problem to the back). The window of open rows bounds memory and how long a finished
  sample waits for its row to be written.

``--schedule fifo`` turns both off (input order, as before). Resume and exactly-once output are
untouched: a schedule only chooses among the jobs of rows not yet in the output, and rows are still
written whole, the moment their last generation lands. See docs/generation.md ("The long tail").
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from r1lab.errors import ConfigError, DataError

logger = logging.getLogger(__name__)

SCHEDULES = ("auto", "fifo", "prior", "adaptive")
#: Pseudo-observations of the run's mean length added to each row's mean (shrinkage): with one
#: finished sample a row's estimate is half its own length, half the run's.
SHRINK = 1.0
#: Names looked for inside a directory given as the prior (an evaluation's output).
PRIOR_FILES = ("generations.jsonl", "details.jsonl")


class _State(Protocol):  # the parts of client.RowState a schedule reads
    row_id: str
    finished: bool
    completion_tokens_per_generation: list[int | None]


class _Job(Protocol):
    state: _State
    n: int


MakeJobs = Callable[[str, dict[str, Any]], list[Any]]


def lookahead_rows(max_concurrent: Any) -> int:
    """How many rows the adaptive schedule keeps open: 4 windows' worth, at least 64 (1,024 when
    the window is sized at run time, ``--max-concurrent auto``)."""
    return max(64, 4 * max_concurrent) if isinstance(max_concurrent, int) else 1024


# ---------------------------------------------------------------- the prior
def _row_length(row: Mapping[str, Any]) -> float | None:
    """Mean completion length of a row's samples: exact tokens when recorded, else an estimate."""
    usage = row.get("usage") if isinstance(row.get("usage"), Mapping) else {}
    for counts in (usage.get("completion_tokens_per_generation"), row.get("completion_tokens")):
        if isinstance(counts, list) and counts and all(isinstance(c, int | float) for c in counts):
            return sum(counts) / len(counts)
    generations = row.get("generations")
    if not isinstance(generations, list) or not generations:
        return None
    total = usage.get("completion_tokens")
    if isinstance(total, int | float) and total > 0:
        return total / len(generations)
    reasoning = row.get("reasoning") if isinstance(row.get("reasoning"), list) else []
    chars = sum(len(str(g or "")) for g in generations) + sum(len(str(r or "")) for r in reasoning)
    return chars / 4 / len(generations)  # ~4 characters a token: only the ranking matters


def prior_file(path: str | Path, output: str | Path | None = None) -> Path:
    """The file a ``--length-prior`` names: the file itself, or inside an evaluation directory
    ``DIR/<this output's directory name>/generations.jsonl`` (the same benchmark), then
    ``DIR/generations.jsonl`` or ``DIR/details.jsonl``."""
    path = Path(path)
    if path.is_file():
        return path
    if not path.is_dir():
        raise ConfigError(f"length_prior: {path} does not exist")
    tried = []
    subdirs = [path / Path(output).parent.name] if output is not None else []
    for directory in [*subdirs, path]:
        for name in PRIOR_FILES:
            candidate = directory / name
            tried.append(str(candidate))
            if candidate.is_file():
                return candidate
    raise ConfigError(
        f"length_prior: {path} is a directory without a lengths file (looked for {', '.join(tried)})"
    )


def load_length_prior(
    path: str | Path, output: str | Path | None = None, *, required: bool = True
) -> dict[str, float]:
    """Row id -> mean completion length, from an earlier run's output (see ``prior_file``).

    With ``required=False`` a directory without a lengths file for this output (an evaluation
    that did not run this benchmark) gives an empty prior and a warning instead of an error.
    """
    try:
        file = prior_file(path, output)
    except ConfigError as exc:
        if required or not Path(path).is_dir():
            raise
        logger.warning("%s; this run goes without a length prior", exc)
        return {}
    prior: dict[str, float] = {}
    with file.open("rb") as f:
        for number, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw)
            except ValueError:
                if raw.endswith(b"\n"):
                    raise DataError("not valid JSON", path=str(file), row=number) from None
                continue  # a torn last line of a run still in progress
            if not isinstance(row, dict) or "id" not in row:
                raise DataError(
                    "row has no 'id'; expected an r1lab generations or details file",
                    path=str(file),
                    row=number,
                )
            length = _row_length(row)
            if length is not None:
                prior[str(row["id"])] = float(length)
    if not prior:
        raise DataError("no row with generations or completion tokens to take lengths from", path=str(file))
    logger.info("length prior: %d rows from %s", len(prior), file)
    return prior


def prior_order(ids: Sequence[str], prior: Mapping[str, float]) -> list[int]:
    """Positions of ``ids`` longest-expected first; ids without a prior first, in input order."""
    return sorted(range(len(ids)), key=lambda i: (ids[i] in prior, -prior.get(ids[i], 0.0)))


# ---------------------------------------------------------------- the schedules
class FifoSchedule:
    """Rows in the order given, all jobs of a row before the next row (the window's original order)."""

    def __init__(self, rows: Iterator[tuple[str, dict[str, Any]]], make_jobs: MakeJobs):
        self.rows = rows
        self.make_jobs = make_jobs
        self._jobs: deque = deque()

    def next(self) -> Any | None:
        """The next job to send, or None when the input is exhausted."""
        while not self._jobs:
            row = next(self.rows, None)
            if row is None:
                return None
            self._jobs.extend(self.make_jobs(*row))
        return self._jobs.popleft()

    def finished(self, job: Any) -> None:
        """A job came back (done, failed, or to be retried)."""


@dataclass
class _Track:
    """An open row of the adaptive schedule: its unsent jobs and what its finished samples say."""

    state: Any
    order: int
    pending: deque = field(default_factory=deque)
    sent: int = 0
    seen: int = 0
    length_sum: float = 0.0
    version: int = 0


class AdaptiveSchedule:
    """Longest-expected first without a prior; see the module docstring.

    Priority of an open row with unsent jobs: (2) not probed yet, then (1) probed but no sample
    back (fewest sent first, then input order), then (0) by the shrunk mean of its finished
    samples, longest first. A lazily invalidated heap keeps each pick O(log lookahead).
    """

    def __init__(self, rows: Iterator[tuple[str, dict[str, Any]]], make_jobs: MakeJobs, lookahead: int):
        self.rows = rows
        self.make_jobs = make_jobs
        self.lookahead = max(1, lookahead)
        self._open: dict[str, _Track] = {}
        self._heap: list[tuple[tuple, int, str]] = []
        self._counter = itertools.count()
        self._input_left = True
        self._total = 0.0
        self._count = 0
        self.max_open = 0  # the most rows open at once (memory), for tests and logs

    def _key(self, track: _Track) -> tuple:
        if track.sent == 0:
            return (2, 0.0, -track.order)
        if track.seen == 0:
            return (1, -track.sent, -track.order)
        mean = self._total / self._count
        return (0, (track.length_sum + SHRINK * mean) / (track.seen + SHRINK), -track.order)

    def _push(self, row_id: str, track: _Track) -> None:
        if track.pending:
            track.version += 1
            key = tuple(-x for x in self._key(track))
            heapq.heappush(self._heap, (key, track.version, row_id))

    def _open_row(self) -> bool:
        row = next(self.rows, None) if self._input_left else None
        if row is None:
            self._input_left = False
            return False
        row_id, data = row
        jobs = self.make_jobs(row_id, data)
        track = _Track(jobs[0].state, next(self._counter), deque(jobs))
        self._open[row_id] = track
        self.max_open = max(self.max_open, len(self._open))
        self._push(row_id, track)
        return True

    def next(self) -> Any | None:
        """Probe new rows while fewer than ``lookahead`` are open, else the longest-expected row's job."""
        if len(self._open) < self.lookahead:
            self._open_row()
        while True:
            while self._heap:
                _, version, row_id = heapq.heappop(self._heap)
                track = self._open.get(row_id)
                if track is None or version != track.version or not track.pending:
                    continue  # stale entry
                job = track.pending.popleft()
                track.sent += 1
                self._push(row_id, track)
                return job
            if not self._open_row():  # every open row is fully sent: take a new one beyond the window
                return None

    def finished(self, job: Any) -> None:
        """Fold the row's newly finished samples into its estimate; forget a row once it is written."""
        state = job.state
        track = self._open.get(state.row_id)
        if track is None:
            return
        counts = state.completion_tokens_per_generation
        if len(counts) > track.seen:
            for value in counts[track.seen :]:
                if value is not None:
                    track.length_sum += value
                    self._total += value
                    self._count += 1
                else:  # a multi-choice response (not used by this schedule): count it as average
                    mean = self._total / self._count if self._count else 0.0
                    track.length_sum += mean
            track.seen = len(counts)
            self._push(state.row_id, track)
        if state.finished or (not track.pending and track.seen >= track.sent):
            del self._open[state.row_id]


def make_schedule(
    kind: str,
    rows: Iterator[tuple[str, dict[str, Any]]],
    make_jobs: MakeJobs,
    *,
    num_generations: int,
    use_n: bool,
    has_prior: bool,
    lookahead: int,
) -> FifoSchedule | AdaptiveSchedule:
    """The schedule a run uses. ``prior`` rows arrive already sorted (``prior_order``), so they are
    sent FIFO; ``auto`` is the prior when there is one, else adaptive where it can learn anything
    (several single-sample requests per row), else FIFO."""
    if kind not in SCHEDULES:
        raise ConfigError(f"schedule must be one of {', '.join(SCHEDULES)}, not {kind!r}")
    adaptive = kind == "adaptive" or (kind == "auto" and not has_prior)
    if adaptive and num_generations > 1 and not use_n:
        logger.info(
            "schedule: longest-expected first, learned from each row's first sample (%d rows open at most)",
            lookahead,
        )
        return AdaptiveSchedule(rows, make_jobs, lookahead)
    return FifoSchedule(rows, make_jobs)
