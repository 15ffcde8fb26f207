"""Run statistics and the progress bar.

The counters are plain attribute increments on the hot path (one per request); the time-weighted
mean of requests in flight is kept as an integral updated whenever the count changes, so it costs a
clock read, not a sampling thread. The progress bar is redrawn by a timer, not per request, so a
run at thousands of requests per second spends nothing on drawing.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class GenerationStats:
    """What a run did; written to ``OUT.stats.json`` and returned by ``generate``."""

    output: str = ""
    model: str = ""
    rows_total: int = 0
    rows_skipped: int = 0
    rows_done: int = 0
    rows_failed: int = 0
    requests: int = 0
    retries: int = 0
    request_failures: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    duration_s: float = 0.0
    requests_per_s: float = 0.0
    completion_tokens_per_s: float = 0.0
    rows_per_s: float = 0.0
    max_concurrent: int = 0
    mean_in_flight: float = 0.0
    mean_in_flight_while_input_remains: float = 0.0
    latency_s: dict[str, float] = field(default_factory=dict)
    interrupted: bool = False
    endpoints: list[dict[str, Any]] = field(default_factory=list)
    finished_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        """One paragraph for the log at the end of a run."""
        text = (
            f"{self.rows_done} rows written ({self.rows_skipped} already done, {self.rows_failed} failed) "
            f"in {self.duration_s:.1f}s: {self.requests} requests ({self.retries} retries), "
            f"{self.requests_per_s:.1f} req/s, {self.completion_tokens_per_s:.0f} completion tok/s, "
            f"mean {self.mean_in_flight:.1f} of {self.max_concurrent} in flight"
        )
        if self.interrupted:
            text += "; INTERRUPTED (rerun the same command to resume)"
        return text


class RunMeter:
    """Live counters of a run: requests in flight (and their time integral), tokens, latencies."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Start the clock afresh (after the pre-flight checks, so they do not count as run time)."""
        self.start = time.monotonic()
        self.started = False  # set once the pre-flight checks pass and real requests begin
        self.in_flight = 0
        self._area = 0.0
        self._last = self.start
        self.input_exhausted_at: float | None = None
        self._area_at_exhaustion = 0.0
        self.requests = 0
        self.retries = 0
        self.request_failures = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        #: Tokens generated so far, counted as streamed chunks arrive (corrected to the server's usage
        #: at the end of each response); stays 0 when responses are not streamed.
        self.live_tokens = 0
        self.rows_done = 0
        self.rows_failed = 0
        #: Completions accepted so far (a row of n samples adds one per sample as each lands), so a
        #: progress bar moves while the adaptive schedule still holds every row open.
        self.samples_done = 0
        self.latencies: list[float] = []

    def change_in_flight(self, delta: int) -> None:
        now = time.monotonic()
        self._area += self.in_flight * (now - self._last)
        self._last = now
        self.in_flight += delta

    def mark_input_exhausted(self) -> None:
        """From here on the window can only drain; in-flight before this moment is the engine's merit."""
        if self.input_exhausted_at is None:
            self.change_in_flight(0)
            self.input_exhausted_at = self._last
            self._area_at_exhaustion = self._area

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def mean_in_flight(self) -> float:
        self.change_in_flight(0)
        span = self._last - self.start
        return self._area / span if span > 0 else 0.0

    def mean_in_flight_while_input(self) -> float:
        if self.input_exhausted_at is None:
            return self.mean_in_flight()
        span = self.input_exhausted_at - self.start
        return self._area_at_exhaustion / span if span > 0 else 0.0

    def latency_percentiles(self) -> dict[str, float]:
        if not self.latencies:
            return {}
        ordered = sorted(self.latencies)

        def pick(q: float) -> float:
            return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 4)

        return {
            "mean": round(sum(ordered) / len(ordered), 4),
            "p50": pick(0.5),
            "p90": pick(0.9),
            "p99": pick(0.99),
            "max": round(ordered[-1], 4),
        }


class ProgressBar:
    """A tqdm bar over finished work with requests in flight, tokens so far and tok/s, redrawn on a timer.

    With one sample per row the bar counts rows. With several it counts samples (rows x
    ``samples_per_row``): the adaptive schedule sends one sample of every row before the second of
    any, so rows all complete near the end and a row count would sit at 0 for most of the run. A
    failed row counts whole. Rows finish late on a slow server (16 requests to a CPU model each take
    minutes), so the bar also shows the tokens generated so far and their rate over the last
    ``RATE_WINDOW_S`` seconds; with streamed responses (``RequestOptions.stream``) they move with
    every chunk, else with every finished request.
    """

    RATE_WINDOW_S = 10.0

    def __init__(
        self, meter: RunMeter, total_rows: int, enabled: bool, interval: float = 0.5, samples_per_row: int = 1
    ):
        self.meter = meter
        self.interval = interval
        self.samples_per_row = max(1, samples_per_row)
        self.total = total_rows * self.samples_per_row
        self._samples: deque[tuple[float, int]] = deque()
        self._bar = None
        self._task: asyncio.Task | None = None
        if enabled and total_rows > 0:
            from tqdm.auto import tqdm

            unit = "row" if self.samples_per_row == 1 else "sample"
            self._bar = tqdm(total=self.total, unit=unit, desc="generate", dynamic_ncols=True, smoothing=0.1)

    def start(self) -> None:
        if self._bar is not None:
            self._task = asyncio.get_running_loop().create_task(self._refresh_forever())

    def refresh(self) -> None:
        if self._bar is None:
            return
        meter = self.meter
        elapsed = max(meter.elapsed(), 1e-9)
        finished = self.finished()
        if finished > self._bar.n:
            self._bar.update(finished - self._bar.n)  # update(), not n=, so tqdm's rate and ETA follow
        tokens, rate = self.token_rate(elapsed)
        self._bar.set_postfix(
            in_flight=meter.in_flight,
            tokens=tokens,
            tok_s=f"{rate:.0f}",
            req_s=f"{meter.requests / elapsed:.1f}",
            failed=meter.rows_failed,
            refresh=False,
        )
        self._bar.refresh()

    def finished(self) -> int:
        """Finished units of the bar: rows, or samples (a failed row's missing samples included)."""
        meter = self.meter
        if self.samples_per_row == 1:
            return meter.rows_done + meter.rows_failed
        return min(meter.samples_done + meter.rows_failed * self.samples_per_row, self.total)

    def token_rate(self, elapsed: float) -> tuple[int, float]:
        """(tokens generated so far, tokens/s over the last ``RATE_WINDOW_S`` seconds, or since the start)."""
        meter = self.meter
        tokens = max(meter.live_tokens, meter.completion_tokens)
        now = time.monotonic()
        self._samples.append((now, tokens))
        while len(self._samples) > 2 and now - self._samples[1][0] >= self.RATE_WINDOW_S:
            self._samples.popleft()
        then, before = self._samples[0]
        if len(self._samples) < 2 or now - then < 1.0:
            return tokens, tokens / elapsed
        return tokens, (tokens - before) / (now - then)

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            self.refresh()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._bar is not None:
            self.refresh()
            self._bar.close()
