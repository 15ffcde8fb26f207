"""``--max-concurrent auto``: a window that follows what the server can hold.

The right concurrency is set by the server's KV cache, not by the client: requests that outgrow
the cache are preempted and recomputed (vLLM, SGLang), and how much that costs depends on how
expensive a prefill is next to a decode step. Open-R1 picked ``--max-running-requests`` by hand for
16k-token traces; here the client finds it while it runs.

With Prometheus ``/metrics`` (vLLM: ``vllm:num_requests_running``, ``vllm:num_requests_waiting``,
``vllm:kv_cache_usage_perc``, ``vllm:num_preemptions_total``; SGLang: ``sglang:num_running_reqs``,
``sglang:num_queue_reqs``, ``sglang:token_usage``) it steers by the cache:

- while the cache is below a target usage and nothing waits in the server's queue, the window
  grows in proportion to the free share (a request's current footprint is usage / running);
- when requests wait in the server's queue, it stops growing (the server is already full);
- a preemption shrinks the window by 10% and lowers the target usage a little, which then creeps
  back up while no preemption happens: the target settles just under the usage where this
  workload starts to be preempted.

Without ``/metrics`` (``transformers serve``, hosted APIs) it climbs the measured completion
throughput, each measurement spanning at least one turnover of the window: it grows the window by
25% while that raises tokens/s by more than 3%, returns to the best window when it does not, and
steps below it only when throughput falls clearly (10%) under the best seen.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
import time
from dataclasses import dataclass

import aiohttp

logger = logging.getLogger(__name__)

#: (running, waiting, cache usage 0-1, preemptions counter) per server flavour; None = not exported.
METRIC_NAMES = {
    "vllm": (
        "vllm:num_requests_running",
        "vllm:num_requests_waiting",
        ("vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"),  # the second: vLLM before v0.10
        "vllm:num_preemptions_total",
    ),
    "sglang": ("sglang:num_running_reqs", "sglang:num_queue_reqs", ("sglang:token_usage",), None),
}

#: Preemptions per completed request tolerated before the window is cut. A few are cheap where
#: prefill is (a GPU recomputes a context in about one decode step) and buy a fuller cache; a large
#: fixed window causes several per request.
PREEMPTION_BUDGET = 0.25

#: The largest window ``auto`` opens (and the connection pool it needs).
MAX_AUTO_CONCURRENCY = 1024

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)")


@dataclass
class ServerLoad:
    """One reading of a server's (or several servers' summed) scheduler state."""

    flavour: str
    running: float
    waiting: float
    usage: float  # KV cache in use, 0-1 (mean over servers)
    preemptions: float | None  # a counter; None where the server does not export it


def parse_metrics(text: str) -> ServerLoad | None:
    """The scheduler state from a Prometheus text page; None when it holds neither flavour.

    Samples of one metric with different labels (several engines behind one server, one series
    per model) are summed, except the cache usage, which is averaged.
    """
    values: dict[str, list[float]] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        if match:
            with contextlib.suppress(ValueError):
                values.setdefault(match.group(1), []).append(float(match.group(3)))
    for flavour, (running, waiting, usage_names, preempted) in METRIC_NAMES.items():
        if running not in values:
            continue
        usage = next((values[n] for n in usage_names if n in values), [0.0])
        return ServerLoad(
            flavour=flavour,
            running=sum(values[running]),
            waiting=sum(values.get(waiting, [0.0])),
            usage=sum(usage) / len(usage),
            preemptions=sum(values[preempted]) if preempted and preempted in values else None,
        )
    return None


class AdaptiveConcurrency:
    """Owns the window's limit in ``auto`` mode; ``run`` polls the servers and moves it."""

    def __init__(
        self, root_urls: list[str], initial: int = 8, minimum: int = 1, maximum: int = MAX_AUTO_CONCURRENCY
    ) -> None:
        self.root_urls = root_urls
        self.minimum, self.maximum = minimum, maximum
        self._limit = float(initial)
        self.target_usage = 0.95
        self.preemption_rate = 0.0
        self._completions = 0
        self._last_completions = 0
        self.mode = "starting"
        self._last_preemptions: float | None = None
        self._last_cut = 0.0
        self._tokens = 0
        self._latencies: list[float] = []
        self.history: list[tuple[float, int]] = []  # (time, limit): for the stats and the tests
        self.preemptions_seen = 0.0
        # throughput climbing (no /metrics)
        self._climb = {"best": 0.0, "best_limit": float(initial)}

    @property
    def limit(self) -> int:
        return max(self.minimum, min(self.maximum, int(round(self._limit))))

    def observe(self, completion_tokens: int, latency: float) -> None:
        """Called by the engine for every completed request."""
        self._tokens += completion_tokens
        self._completions += 1
        self._latencies.append(latency)
        if len(self._latencies) > 64:
            del self._latencies[:32]

    def poll_interval(self) -> float:
        """A quarter of a typical request's latency: fast enough to catch a filling cache."""
        if not self._latencies:
            return 0.05
        typical = sorted(self._latencies)[len(self._latencies) // 2]
        return min(2.0, max(0.02, typical / 4))

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
        preempted = [x.preemptions for x in loads]
        return ServerLoad(
            flavour=loads[0].flavour,
            running=sum(x.running for x in loads),
            waiting=sum(x.waiting for x in loads),
            usage=sum(x.usage for x in loads) / len(loads),
            preemptions=None if None in preempted else sum(preempted),
        )

    # ---------- the two control laws (plain arithmetic, tested directly) ----------
    def step_metrics(self, load: ServerLoad, now: float) -> None:
        """One reading of the server's state moves the limit."""
        new_preemptions = 0.0
        if load.preemptions is not None:
            if self._last_preemptions is not None:
                new_preemptions = max(0.0, load.preemptions - self._last_preemptions)
            self._last_preemptions = load.preemptions
        self.preemptions_seen += new_preemptions
        done = self._completions - self._last_completions
        self._last_completions = self._completions
        if new_preemptions > 0 or done > 0:  # preemptions per completed request, smoothed
            self.preemption_rate += 0.2 * (new_preemptions / max(1, done) - self.preemption_rate)
        if load.preemptions is None and load.waiting > 0 and load.usage >= self.target_usage:
            # no preemption counter (SGLang): a full cache with a queue is the sign of retraction
            new_preemptions, self.preemption_rate = 1.0, PREEMPTION_BUDGET + 1
        if new_preemptions > 0:
            if self.preemption_rate > PREEMPTION_BUDGET and now - self._last_cut > 2 * self.poll_interval():
                # over budget: cut once per reaction time and aim a little lower from now on
                self.target_usage = max(0.5, self.target_usage - 0.02)
                # what the cache holds right now is what fits: a window far above it (opened while
                # the running requests were young and small) would keep preempting for many cuts
                self._limit = max(self.minimum, min(self._limit, load.running) * 0.9)
                self._last_cut = now
            return
        self.target_usage = min(1.0, self.target_usage + 0.002)
        if load.waiting > 0:  # the server queues (or re-queued a preempted request): it is full
            return
        if load.usage <= 0 or load.running <= 0:
            self._limit = min(self.maximum, self._limit * 1.5)
            return
        if load.usage < self.target_usage:
            per_request = load.usage / load.running
            room = (self.target_usage - load.usage) / per_request
            # young requests hold only their prompts and grow as they decode, so the room they
            # suggest is an overestimate: grow by at most a quarter of the window per reading
            self._limit = min(self.maximum, self._limit + min(max(1.0, 0.5 * room), 0.25 * self._limit))

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
