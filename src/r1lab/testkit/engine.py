"""A simulated LLM inference engine, time-compressed: what ``--max-concurrent auto`` is judged on.

Used by the tests in ``tests/generation`` and by ``bench/generation.py`` and
``bench/kv_gate_reference.py``; ``engine_server.py`` puts it behind the OpenAI-compatible HTTP API
(in its own process, so the client under test shares no event loop with it), and the reference
benchmark steps it in-process. The model is the one vLLM's and SGLang's schedulers follow, reduced
to what decides throughput:

- **KV cache.** ``kv_tokens`` tokens in blocks of ``block_size``. A request holds
  ceil((prompt + generated) / block_size) blocks while it runs. ``None`` = unlimited.
- **Admission.** Waiting requests are admitted first-come-first-served while fewer than
  ``max_running`` run and free blocks cover the request's context plus one token. An admitted
  request pays a prefill of its prompt (and of its generated tokens after a preemption).
- **Decode step.** Every running request gains one token per step. A step takes
  ``step_base + step_per_seq * running + prefill_per_token * prefill tokens admitted this step``
  (simulated seconds): the batch makes each step slower, so throughput per step rises with the
  batch but with diminishing returns.
- **Preemption.** When a running request needs a new block and none is free, the newest running
  request is preempted (vLLM's recompute mode): its blocks are freed, it goes to the front of the
  waiting queue, and when admitted again its prompt and every token it had generated are
  prefilled again. ``preemptions`` and ``recomputed_tokens`` count what that cost.
- **Faults** (for the fault-tolerance tests): each request, on arrival, is answered with HTTP 500
  (``fault_500``), has its connection reset (``fault_reset``) or is answered 429 with
  ``Retry-After: retry_after`` (``fault_429``), with the given probabilities (``faults.RandomFaults``).

A request's completion length comes from ``lengths[i]`` for a prompt "job i" (so every client in
a comparison does the same work), its prompt length from ``prompt_tokens``.

``metrics()`` (served as ``/metrics``) speaks Prometheus text like vLLM (``flavour="vllm"``: ``vllm:num_requests_running``,
``vllm:num_requests_waiting``, ``vllm:kv_cache_usage_perc`` (0-1), ``vllm:num_preemptions_total``)
or SGLang (``"sglang"``: ``sglang:num_running_reqs``, ``sglang:num_queue_reqs``,
``sglang:token_usage``), or is absent (``"none"``: 404, like ``transformers serve``).
``stats()`` (``/sim/stats``) returns the engine's own accounting, including the simulated clock: it advances by
each step's simulated time and, while nothing runs, by wall time, so a client that leaves the
engine idle is charged for it. Each step also sleeps its simulated time (times ``wall_scale``),
which paces the engine against the client; the simulated makespan does not depend on how well
the sleeps keep time on a loaded machine.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import deque
from dataclasses import dataclass, field


@dataclass
class EngineConfig:
    """The simulated engine's parameters (simulated seconds; see the module docstring)."""

    max_running: int = 1024
    kv_tokens: int | None = None
    block_size: int = 16
    step_base: float = 1e-3
    step_per_seq: float = 0.0
    prefill_per_token: float = 0.0
    prompt_tokens: int = 64
    lengths: list[int] = field(default_factory=lambda: [100])
    flavour: str = "vllm"
    cache_info: bool = True  # vLLM's ``cache_config_info`` (the cache's size); off: a client must fit it
    fault_500: float = 0.0
    fault_reset: float = 0.0
    fault_429: float = 0.0
    retry_after: float = 0.2
    wall_scale: float = 1.0
    seed: int = 0


@dataclass
class _Req:
    index: int
    prompt: int
    target: int
    done: asyncio.Future
    generated: int = 0
    arrived: float = 0.0
    preempted: int = 0
    prefill_time: float | None = None  # the duration of the step that gave its first token

    @property
    def context(self) -> int:
        return self.prompt + self.generated


class SimEngine:
    """The scheduler loop and its counters; ``serve`` puts it behind HTTP."""

    def __init__(self, config: EngineConfig):
        self.config = config
        self.rng = random.Random(config.seed)
        self.waiting: deque[_Req] = deque()
        self.running: list[_Req] = []  # in admission order: the last is the newest
        self.used_blocks = 0
        self.total_blocks = (
            None if config.kv_tokens is None else max(1, config.kv_tokens // config.block_size)
        )
        self.clock = 0.0  # simulated seconds
        self.first_arrival: float | None = None
        self.last_finish = 0.0
        self.preemptions = 0
        self.recomputed_tokens = 0
        self.prefill_tokens = 0
        self.generated_tokens = 0
        self.finished = 0
        self.faults = 0
        self.steps = 0
        self.busy_area = 0.0  # integral of running requests over simulated time
        self.latencies: list[float] = []
        self._zero_histograms()
        self.wake = asyncio.Event()
        self.idle_since: float | None = None
        self.anchor: tuple[float, float] | None = None  # (wall, simulated) when the engine last woke

    def _zero_histograms(self) -> None:
        # vLLM's request_prefill_time_seconds (observed when a request finishes) and
        # inter_token_latency_seconds (observed per generated token), as (sum, count)
        self.prefill_hist = [0.0, 0]
        self.inter_token_hist = [0.0, 0]

    def blocks(self, tokens: int) -> int:
        return math.ceil(tokens / self.config.block_size)

    def free_blocks(self) -> float:
        return math.inf if self.total_blocks is None else self.total_blocks - self.used_blocks

    def usage(self) -> float:
        return 0.0 if self.total_blocks is None else self.used_blocks / self.total_blocks

    def submit(self, index: int) -> asyncio.Future:
        cfg = self.config
        req = _Req(index, cfg.prompt_tokens, max(1, cfg.lengths[index % len(cfg.lengths)]), None)
        req.done = asyncio.get_running_loop().create_future()
        if self.idle_since is not None and self.first_arrival is not None:
            self.clock += time.monotonic() - self.idle_since  # the client left the engine idle
        self.idle_since = None
        req.arrived = self.clock
        if self.first_arrival is None:
            self.first_arrival = self.clock
        self.waiting.append(req)
        self.wake.set()
        return req.done

    def _admit(self) -> int:
        prefill = 0
        cfg = self.config
        while self.waiting and len(self.running) < cfg.max_running:
            req = self.waiting[0]
            need = self.blocks(req.context + 1)
            if need > self.free_blocks():
                break
            self.waiting.popleft()
            self.used_blocks += self.blocks(req.context)  # the step allocates the next token's block
            self.running.append(req)
            prefill += req.context
            if req.preempted:
                self.recomputed_tokens += req.context
        self.prefill_tokens += prefill
        return prefill

    def _preempt_newest(self) -> _Req:
        victim = self.running.pop()
        self.used_blocks -= self.blocks(victim.context)
        victim.preempted += 1
        self.preemptions += 1
        self.waiting.appendleft(victim)
        return victim

    def step(self) -> float:
        """One scheduler iteration; returns its simulated duration."""
        cfg = self.config
        prefill = self._admit()
        batch = len(self.running)
        duration = cfg.step_base + cfg.step_per_seq * batch + cfg.prefill_per_token * prefill
        i = 0
        while i < len(self.running):  # oldest first: the newest give way when blocks run out
            req = self.running[i]
            if req.context % cfg.block_size == 0:  # the next token starts a new block
                while self.free_blocks() < 1 and self.running[-1] is not req:
                    self._preempt_newest()
                if self.free_blocks() < 1:
                    self._preempt_newest()  # req itself is the newest: it waits for room
                    break
                self.used_blocks += 1
            i += 1
        self.clock += duration
        self.busy_area += len(self.running) * duration
        self.inter_token_hist[0] += len(self.running) * duration
        self.inter_token_hist[1] += len(self.running)
        still = []
        for req in self.running:
            if req.prefill_time is None:
                req.prefill_time = duration
            req.generated += 1
            self.generated_tokens += 1
            if req.generated >= req.target:
                self.used_blocks -= self.blocks(req.context)
                self.finished += 1
                self.last_finish = self.clock
                self.latencies.append(self.clock - req.arrived)
                self.prefill_hist[0] += req.prefill_time
                self.prefill_hist[1] += 1
                if not req.done.done():
                    req.done.set_result(req)
            else:
                still.append(req)
        self.running = still
        self.steps += 1
        return duration

    async def loop(self) -> None:
        while True:
            if not self.running and not self.waiting:
                self.wake.clear()
                self.idle_since = time.monotonic()
                self.anchor = None
                await self.wake.wait()
                continue
            if self.anchor is None:
                self.anchor = (time.monotonic(), self.clock)
            self.step()
            # keep the simulated clock in step with the wall clock (times wall_scale): sleep when
            # ahead, only yield to the HTTP handlers when behind (a loaded machine)
            wall0, clock0 = self.anchor
            ahead = wall0 + (self.clock - clock0) * self.config.wall_scale - time.monotonic()
            await asyncio.sleep(max(0.0, ahead))

    def metrics(self) -> str | None:
        flavour = self.config.flavour
        label = '{model_name="sim"}'
        if flavour == "vllm":
            lines = [
                ("vllm:num_requests_running", "gauge", len(self.running)),
                ("vllm:num_requests_waiting", "gauge", len(self.waiting)),
                ("vllm:kv_cache_usage_perc", "gauge", self.usage()),
                ("vllm:num_preemptions_total", "counter", self.preemptions),
                ("vllm:generation_tokens_total", "counter", self.generated_tokens),
            ]
        elif flavour == "sglang":
            lines = [
                ("sglang:num_running_reqs", "gauge", len(self.running)),
                ("sglang:num_queue_reqs", "gauge", len(self.waiting)),
                ("sglang:token_usage", "gauge", self.usage()),
                ("sglang:generation_tokens_total", "counter", self.generated_tokens),
            ]
        else:
            return None
        out = []
        for name, kind, value in lines:
            out += [f"# HELP {name} simulated", f"# TYPE {name} {kind}", f"{name}{label} {float(value)}"]
        if flavour == "vllm" and self.config.cache_info and self.total_blocks is not None:
            info = (
                f'{{block_size="{self.config.block_size}",num_gpu_blocks="{self.total_blocks}",engine="0"}}'
            )
            out += ["# TYPE vllm:cache_config_info gauge", f"vllm:cache_config_info{info} 1.0"]
        if flavour == "vllm":  # the two histograms, as their _sum and _count series
            for name, (total, count) in (
                ("vllm:request_prefill_time_seconds", self.prefill_hist),
                ("vllm:inter_token_latency_seconds", self.inter_token_hist),
            ):
                out += [
                    f"# TYPE {name} histogram",
                    f"{name}_sum{label} {total}",
                    f"{name}_count{label} {count}",
                ]
        return "\n".join(out) + "\n"

    def stats(self) -> dict:
        span = self.last_finish - (self.first_arrival or 0.0)
        lat = sorted(self.latencies)
        return {
            "makespan": span,
            "finished": self.finished,
            "preemptions": self.preemptions,
            "recomputed_tokens": self.recomputed_tokens,
            "prefill_tokens": self.prefill_tokens,
            "generated_tokens": self.generated_tokens,
            "faults": self.faults,
            "steps": self.steps,
            "mean_running": self.busy_area / span if span > 0 else 0.0,
            "latency_mean": sum(lat) / len(lat) if lat else 0.0,
            "latency_p90": lat[int(0.9 * (len(lat) - 1))] if lat else 0.0,
        }

    def reset_stats(self) -> None:
        """Zero the counters between runs (the engine must be idle)."""
        self.clock = 0.0
        self.first_arrival = None
        self.last_finish = 0.0
        self.preemptions = self.recomputed_tokens = self.prefill_tokens = 0
        self.generated_tokens = self.finished = self.faults = self.steps = 0
        self.busy_area = 0.0
        self.latencies = []
        self._zero_histograms()
        self.idle_since = None


def lognormal_lengths(n: int, mean: float, sigma: float, cap: int, seed: int = 0) -> list[int]:
    """Completion lengths with a long tail (log-normal with the given mean), capped."""
    rng = random.Random(seed)
    mu = math.log(mean) - sigma**2 / 2
    return [max(1, min(cap, int(rng.lognormvariate(mu, sigma)))) for _ in range(n)]
