"""``--max-concurrent auto``: a window that follows what the server can hold.

The right concurrency is set by the server's KV cache, not by the client: requests that outgrow
the cache are preempted and recomputed (vLLM, SGLang), and how much that costs depends on how
expensive a prefill is next to a decode step. Open-R1 picked ``--max-running-requests`` by hand for
16k-token traces; here the client finds it while it runs.

With Prometheus ``/metrics`` (read by ``server_metrics``: vLLM's ``vllm:num_requests_running``,
``vllm:num_requests_waiting``, ``vllm:kv_cache_usage_perc``, ``vllm:num_preemptions_total``;
SGLang's ``sglang:num_running_reqs``, ``sglang:num_queue_reqs``, ``sglang:token_usage``) it works
as an admission gate on the cache:

- while the cache is below a target usage and nothing waits in the server's queue, the gate is
  open: every finished request is replaced and the window grows into the free share;
- once the cache reaches the target (or requests queue in the server) the gate closes: finished
  requests are *not* replaced, so the running requests can grow into the room they leave. A fixed
  window refills blindly, and the cache overflows whenever long requests happen to coincide;
- how it admits depends on what a preemption costs. vLLM's ``vllm:request_prefill_time_seconds``
  and ``vllm:inter_token_latency_seconds`` histograms give a prefill's cost in decode steps. Where
  recomputing a preempted request costs under one step (a GPU with cheap prefill) it runs the
  cache fuller on today's usage alone and opens fast (``CHEAP_RECOMPUTE``). Elsewhere, or before
  the price is known, it admits by a forecast of the cache's peak (``kv_forecast``): a request
  admitted now holds only its prompt but will grow, and a gate on today's usage admits cohorts of
  young requests that outgrow the cache together hundreds of steps later. The forecast needs each
  request's age in decode steps (a step clock integrated from ``vllm:generation_tokens_total``,
  ``_advance_step_clock``) and the cache's size (``vllm:cache_config_info``, or fitted);
- a preemption needs no rule of its own: it happens in a full cache, which closes the gate.

Without ``/metrics`` (``transformers serve``, hosted APIs) it climbs the measured completion
throughput, each measurement spanning at least one turnover of the window: it grows the window by
25% while that raises tokens/s by more than 3%, returns to the best window when it does not, and
steps below it only when throughput falls clearly (10%) under the best seen.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import time
from collections import deque
from dataclasses import dataclass

import aiohttp
import numpy as np

from r1lab.generation.kv_forecast import LengthSurvival, admissible
from r1lab.generation.server_metrics import ServerLoad, combine, parse_metrics

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CacheLaw:
    """How the admission gate runs the cache, for one price of a preemption."""

    target_usage: float  # the gate closes at this KV-cache usage; the forecast peak stays under it
    per_step: float  # without a forecast, the window grows by at most this many requests a step
    z: float | None  # standard deviations of margin in the forecast peak; None: no forecast


#: A recompute costs under one decode step (``CHEAP_RECOMPUTE_STEPS``): overshooting costs little
#: throughput, so fill the cache on today's usage alone and ramp up fast.
CHEAP_RECOMPUTE = CacheLaw(target_usage=0.92, per_step=1.0, z=None)
#: A recompute costs a few decode steps (under ``EXPENSIVE_RECOMPUTE_STEPS``): admit by the
#: forecast peak (``kv_forecast``) with one standard deviation of margin.
MODERATE_RECOMPUTE = CacheLaw(target_usage=0.92, per_step=0.5, z=1.0)
#: A recompute stalls the whole batch for many steps, or its price is unknown: one and a half
#: standard deviations of margin; before the forecast can be made, ramp up at about one request
#: per two decode steps so that the requests' ages spread.
EXPENSIVE_RECOMPUTE = CacheLaw(target_usage=0.9, per_step=0.5, z=1.5)
CHEAP_RECOMPUTE_STEPS = 1.0
EXPENSIVE_RECOMPUTE_STEPS = 5.0
#: Completed requests priced before the cheap law may be chosen (the first prefills come in a burst).
PRICED_REQUESTS = 16

#: Finished lengths the forecast's survival curve is estimated from (the most recent).
FORECAST_MEMORY = 4096
#: Readings (sequences in flight, their summed ages, usage) the cache's size is fitted from where
#: the server does not export it, and the fewest that fit may use.
CAPACITY_FIT_READINGS = 8

#: Readings whose (time, step clock) are kept to date a request's start in decode steps: at a
#: reading every 32nd of a request's latency, the last 256 requests' worth.
CLOCK_HISTORY = 8192

#: The largest window ``auto`` opens (and the connection pool it needs).
MAX_AUTO_CONCURRENCY = 1024


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


class AdaptiveConcurrency:
    """Owns the window's limit in ``auto`` mode; ``run`` polls the servers and moves it."""

    def __init__(
        self,
        root_urls: list[str],
        initial: int = 8,
        minimum: int = 1,
        maximum: int = MAX_AUTO_CONCURRENCY,
        max_tokens: int = 8192,
    ) -> None:
        self.root_urls = root_urls
        self.max_tokens = max_tokens
        self._inflight: dict[int, tuple[float, int]] = {}  # handle -> (sent at, sequences)
        # decode steps the server has run, integrated reading by reading: a request's age in steps
        # (= tokens it has generated) is the clock now less the clock when it was sent. Elapsed
        # time over the latest step time would not do: after a burst of preemptions a step is
        # several times slower, and every request would look young.
        self._step_clock = 0.0
        self._last_load: ServerLoad | None = None
        self._clock_history: deque[tuple[float, float]] = deque(maxlen=CLOCK_HISTORY)  # (time, clock)
        self._handles = itertools.count()
        self._lengths: deque[float] = deque(maxlen=FORECAST_MEMORY)  # finished lengths, per sequence
        self._fits: deque[tuple[float, float, float]] = deque(maxlen=64)  # (sequences, ages, usage)
        self._step_s: float | None = None
        self.capacity_tokens: float | None = None
        self.forecasting = False  # the forecast, not the usage gate's ramp, sets the window
        self._sizing = False  # the forecast waits for the cache's size (fitted from readings)
        self.minimum, self.maximum = minimum, maximum
        self._limit = float(initial)
        self.mode = "starting"
        self.gate_open = True
        self.preemptions_seen = 0.0
        self.recompute_steps: float | None = None  # what recomputing a preempted request costs
        self._priced = 0  # prefills the price is measured over
        self._last_preemptions: float | None = None
        self._last_histograms: tuple | None = None
        self._histogram_base: tuple | None = None  # the first reading: the run's prices start here
        self._last_reading: float | None = None
        self._completions = 0
        self._tokens = 0
        self._prompt_tokens = 0
        self._latencies: list[float] = []
        self._per_token: list[float] = []
        self.history: list[tuple[float, int]] = []  # (time, limit): for the stats and the tests
        # throughput climbing (no /metrics)
        self._climb = {"best": 0.0, "best_limit": float(initial)}

    @property
    def limit(self) -> int:
        return max(self.minimum, min(self.maximum, int(round(self._limit))))

    @property
    def law(self) -> CacheLaw:
        """The law for the measured price of a recompute (the expensive one until it is measured)."""
        if self.recompute_steps is None or self._priced < PRICED_REQUESTS:
            return EXPENSIVE_RECOMPUTE
        if self.recompute_steps < CHEAP_RECOMPUTE_STEPS:
            return CHEAP_RECOMPUTE
        return MODERATE_RECOMPUTE if self.recompute_steps < EXPENSIVE_RECOMPUTE_STEPS else EXPENSIVE_RECOMPUTE

    @property
    def target_usage(self) -> float:
        return self.law.target_usage

    def started(self, sequences: int = 1, now: float | None = None) -> int:
        """Called as a request is sent; returns the handle ``observe`` / ``forget`` take."""
        handle = next(self._handles)
        self._inflight[handle] = (time.monotonic() if now is None else now, sequences)
        return handle

    def forget(self, handle: int | None) -> None:
        """A request that ended without a completion (it failed, or will be retried)."""
        self._inflight.pop(handle, None)

    def observe(
        self, completion_tokens: int, latency: float, prompt_tokens: int = 0, handle: int | None = None
    ) -> None:
        """Called by the engine for every completed request.

        While the gate is closed, or the forecast decides admissions, a finished request is not
        replaced until the next reading: the window shrinks by one.
        """
        _, sequences = self._inflight.pop(handle, (0.0, 1))
        self._lengths.append(completion_tokens / max(1, sequences))
        self._tokens += completion_tokens
        self._prompt_tokens += prompt_tokens
        self._completions += 1
        self._latencies.append(latency)
        self._per_token.append(latency / max(1, completion_tokens))
        if len(self._latencies) > 64:
            del self._latencies[:32], self._per_token[:32]
        if not self.gate_open or self.forecasting:
            self._limit = max(self.minimum, self._limit - 1)

    def _client_step(self) -> float | None:
        """A decode step as the client sees it (latency per completion token), where the server
        exports no inter-token latency (SGLang)."""
        return _median(self._per_token) if self._per_token else None

    def poll_interval(self) -> float:
        """The cache gate reads the server every 32nd of a typical request's latency (the cache
        fills in a fraction of one); the throughput climb a quarter of one."""
        if not self._latencies:
            return 0.01
        typical = _median(self._latencies)
        return min(2.0, max(0.005, typical / (4 if self.mode == "throughput" else 32)))

    # ---------- the loop ----------
    async def run(self, session: aiohttp.ClientSession, apply) -> None:
        """Poll until cancelled; ``apply(limit)`` resizes the window."""
        timeout = aiohttp.ClientTimeout(total=5)
        misses = 0  # metrics reads failed in a row; three and the throughput law takes over for good
        period_start, tokens_at_start, completions_at_start = time.monotonic(), 0, 0
        while True:
            await asyncio.sleep(self.poll_interval())
            now = time.monotonic()
            load = await self._read_metrics(session, timeout) if misses < 3 else None
            if load is not None:
                misses = 0
                self.mode = load.flavour
                self.step_metrics(load, now)
            else:
                misses += 1
                self.gate_open = True
                if misses == 3:
                    logger.info("no Prometheus /metrics on the server: steering by completion throughput")
                    self.mode = "throughput"
                span = now - period_start
                # A window shorter than a turnover of the whole window measures the burst of the
                # requests that happened to finish, not the throughput of this window size.
                turned_over = self._completions - completions_at_start >= max(4, self.limit)
                if span >= 8 * self.poll_interval() and turned_over and self._tokens > tokens_at_start:
                    self.step_throughput((self._tokens - tokens_at_start) / span)
                    period_start, tokens_at_start = now, self._tokens
                    completions_at_start = self._completions
            apply(self.limit)
            if not self.history or self.history[-1][1] != self.limit:
                self.history.append((now, self.limit))
                del self.history[:-1000]

    async def _read_metrics(self, session, timeout) -> ServerLoad | None:
        loads = []
        for root in self.root_urls:
            try:
                async with session.get(root + "/metrics", timeout=timeout) as resp:
                    if resp.status != 200:
                        return None
                    load = parse_metrics(await resp.text())
            except (aiohttp.ClientError, asyncio.TimeoutError):
                return None
            if load is None:
                return None
            loads.append(load)
        return combine(loads)

    # ---------- the two control laws (plain arithmetic, tested directly) ----------
    def _price_recompute(self, load: ServerLoad) -> float | None:
        """Price a recompute in decode steps from the histograms; returns the recent step time.

        The price is taken over the whole run (from the first reading on): over one poll only a
        few requests finish, and a price that flickers around the threshold would flip the law.
        """
        if load.prefill_seconds is None or load.step_seconds is None:
            return None
        now = (*load.prefill_seconds, *load.step_seconds)
        last, base = self._last_histograms or now, self._histogram_base or now
        self._last_histograms, self._histogram_base = now, base
        recent = now[2] - last[2], now[3] - last[3]
        step = recent[0] / recent[1] if recent[1] > 0 else (now[2] / now[3] if now[3] > 0 else None)
        prefill_sum, prefill_count, step_sum, step_count = (a - b for a, b in zip(now, base, strict=True))
        self._priced = prefill_count
        if prefill_count <= 0 or step_count <= 0 or step_sum <= 0:
            return step
        mean_step = step_sum / step_count
        # the prefill phase includes the step that gives the first token: the rest is the prompt's
        # price, and a preempted request recomputes its prompt plus what it had generated (on
        # average half its completion)
        prompt_steps = max(0.0, prefill_sum / prefill_count - mean_step) / mean_step
        context = 2.0
        if self._completions and self._prompt_tokens:
            context = 1 + self._tokens / (2 * self._prompt_tokens)
        self.recompute_steps = prompt_steps * context
        return step

    def step_metrics(self, load: ServerLoad, now: float) -> None:
        """One reading of the server's state opens or closes the gate and moves the limit."""
        step = self._price_recompute(load)
        since = now - self._last_reading if self._last_reading is not None else self.poll_interval()
        self._last_reading = now
        if load.preemptions is not None:  # counted for the run's statistics; a preemption means
            # a full cache, which closes the gate by itself
            if self._last_preemptions is not None:
                self.preemptions_seen += max(0.0, load.preemptions - self._last_preemptions)
            self._last_preemptions = load.preemptions
        self._step_s = step or self._client_step() or self._step_s
        self._advance_step_clock(load, since)
        self._clock_history.append((now, self._step_clock))
        self.gate_open = load.usage < self.target_usage and load.waiting <= 0
        # where a preemption is cheap, overshooting costs little: the usage gate fills the cache
        admit = self._forecast_admissions(load, now) if self.law.z is not None else None
        self.forecasting = admit is not None
        if admit is not None and self.gate_open:
            self._limit = float(min(self.maximum, max(self.minimum, len(self._inflight) + admit)))
            return
        if self._sizing and self.gate_open:
            return  # the requests' growth cannot be priced before the cache's size is: hold the window
        if not self.gate_open:
            # hold what runs (and queues) now; the finished ones are not replaced (``observe``)
            self._limit = max(self.minimum, min(self._limit, load.running + load.waiting))
            return
        if load.usage <= 0 or load.running <= 0:
            self._limit = min(self.maximum, max(self._limit, 1.0) * 1.5)
            return
        room = (self.target_usage - load.usage) / (load.usage / load.running)
        step = step or self._client_step()
        law = self.law
        cap = law.per_step * since / step if step else 1.0
        self._limit = min(
            self.maximum, max(self._limit, load.running) + min(max(1.0, 0.5 * room), max(1.0, cap))
        )

    def _advance_step_clock(self, load: ServerLoad, since: float) -> None:
        """Decode steps since the last reading: every running sequence gains one token a step, so
        tokens generated over the mean running count; where no counter is exported, the interval
        over its step time (the histogram's over exactly this interval, where it has one)."""
        last, self._last_load = self._last_load, load
        if last is not None and load.generated_tokens is not None and last.generated_tokens is not None:
            running = (last.running + load.running) / 2
            made = load.generated_tokens - last.generated_tokens
            if running > 0 and made >= 0:
                self._step_clock += made / running
                return
        if self._step_s:
            self._step_clock += since / self._step_s

    def _forecast_admissions(self, load: ServerLoad, now: float) -> int | None:
        """New requests the forecast peak has room for (``kv_forecast``); None where it cannot be
        made yet (no decode-step time, no cache size) and the usage gate alone decides."""
        if self._step_s is None or not self._inflight:
            return None
        sent, sequences = zip(*self._inflight.values(), strict=True)
        times, clocks = zip(*self._clock_history, strict=True)
        # the step clock when each was sent, interpolated between the readings around it
        ages = np.minimum(self.max_tokens, self._step_clock - np.interp(sent, times, clocks)).tolist()
        seq_total = float(sum(sequences))
        if load.usage > 0 and load.running > 0:
            # the server runs (holds in its cache) about its ``running`` oldest sequences: the
            # others wait in its queue, or were preempted and hold nothing
            held = sorted((a for a, n in zip(ages, sequences, strict=True) for _ in range(n)), reverse=True)
            held = held[: int(load.running)]
            self._fits.append((float(len(held)), float(sum(held)), load.usage))
        prompt = self._prompt_tokens / self._completions if self._completions else None
        capacity, prompt = self._cache_size(load, prompt)
        self._sizing = capacity is None or prompt is None
        if self._sizing:
            return None
        self.capacity_tokens = capacity
        survival = LengthSurvival(self._lengths, ages, cap=self.max_tokens)
        per_request = max(1, round(seq_total / len(sequences)))
        return admissible(
            survival, ages, sequences, prompt, room=self.target_usage * capacity, z=self.law.z or 0.0,
            most=self.maximum - len(self._inflight), new_sequences=per_request, ceiling=capacity,
        )  # fmt: skip

    def _cache_size(self, load: ServerLoad, prompt: float | None) -> tuple[float | None, float | None]:
        """(cache size in tokens, prompt tokens per request): exported, or fitted from readings.

        The cache holds about ``prompt`` per sequence plus every token generated so far, so
        ``usage x size = prompt x sequences + sum of ages``: with the prompt known from completions
        the size is a ratio over recent readings; before any completion both come from a least
        squares fit of usage on (sequences, ages).
        """
        if load.capacity_tokens:
            if prompt is None and self._fits:  # the prompt alone is left to fit
                seqs, ages, usage = np.array(self._fits).T
                prompt = float(np.mean((usage * load.capacity_tokens - ages) / np.maximum(seqs, 1)))
                prompt = prompt if prompt > 0 else None
            return load.capacity_tokens, prompt
        if len(self._fits) < CAPACITY_FIT_READINGS:
            return None, None
        seqs, ages, usage = np.array(self._fits).T
        if prompt is not None:
            size = float((prompt * seqs + ages).sum() / usage.sum())
            return (size, prompt) if size > 0 else (None, None)
        (per_seq, per_age), *_ = np.linalg.lstsq(np.column_stack([seqs, ages]), usage, rcond=None)
        if per_age <= 0 or per_seq <= 0:
            return None, None
        return 1.0 / per_age, per_seq / per_age

    def step_throughput(self, tokens_per_s: float) -> None:
        """One throughput measurement moves the limit (hill climbing, no server metrics)."""
        climb = self._climb
        if tokens_per_s > climb["best"] * 1.03:
            climb["best"], climb["best_limit"] = tokens_per_s, self._limit
            self._limit = min(self.maximum, self._limit * 1.25)
            return
        climb["best"] *= 0.98  # forget slowly: the workload changes over a run
        if tokens_per_s >= climb["best"] * 0.9:
            self._limit = climb["best_limit"]  # no gain from growing: back to the best window, and hold
        else:  # clearly slower even there: the server got slower, so step below the best window
            self._limit = max(self.minimum, math.floor(climb["best_limit"] * 0.9))
            # and measure from here: a best that was one lucky burst would otherwise read every
            # later measurement as "clearly slower" and ratchet the window down step by step
            climb["best"], climb["best_limit"] = tokens_per_s, self._limit
