"""A server's scheduler state from its Prometheus ``/metrics`` page: what ``auto`` steers by.

vLLM and SGLang name the same quantities differently (``METRIC_NAMES``); vLLM also exports the
histograms that price a prefill against a decode step, the cache's size (as labels of
``vllm:cache_config_info``) and a counter of generated tokens.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass

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

#: vLLM's histograms (as ``_sum`` / ``_count`` series) that price a prefill against a decode step:
#: the time a request spends in prefill, and the time between two generated tokens.
PREFILL_HISTOGRAM = "vllm:request_prefill_time_seconds"
STEP_HISTOGRAMS = ("vllm:inter_token_latency_seconds", "vllm:time_per_output_token_seconds")  # new, old


_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"')
#: vLLM's cache settings as labels of a gauge held at 1: ``num_gpu_blocks`` x ``block_size`` tokens.
CACHE_INFO = "vllm:cache_config_info"


@dataclass
class ServerLoad:
    """One reading of a server's (or several servers' summed) scheduler state."""

    flavour: str
    running: float
    waiting: float
    usage: float  # KV cache in use, 0-1 (mean over servers)
    preemptions: float | None  # a counter; None where the server does not export it
    # (sum, count) of the prefill-time and inter-token-latency histograms; None where not exported
    prefill_seconds: tuple[float, float] | None = None
    step_seconds: tuple[float, float] | None = None
    capacity_tokens: float | None = None  # the KV cache's size (vLLM's ``cache_config_info``)
    generated_tokens: float | None = None  # a counter of tokens generated; None where not exported


def parse_metrics(text: str) -> ServerLoad | None:
    """The scheduler state from a Prometheus text page; None when it holds neither flavour.

    Samples of one metric with different labels (several engines behind one server, one series
    per model) are summed, except the cache usage, which is averaged.
    """
    values: dict[str, list[float]] = {}
    capacity: list[float] = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        if match:
            with contextlib.suppress(ValueError):
                values.setdefault(match.group(1), []).append(float(match.group(3)))
            if match.group(1) == CACHE_INFO and match.group(2):
                labels = dict(_LABEL.findall(match.group(2)))
                with contextlib.suppress(KeyError, ValueError):
                    capacity.append(float(labels["num_gpu_blocks"]) * float(labels["block_size"]))

    def histogram(*names: str) -> tuple[float, float] | None:
        for name in names:
            if name + "_sum" in values and name + "_count" in values:
                return sum(values[name + "_sum"]), sum(values[name + "_count"])
        return None

    for flavour, (running, waiting, usage_names, preempted) in METRIC_NAMES.items():
        if running not in values:
            continue
        generated = f"{flavour}:generation_tokens_total"
        usage = next((values[n] for n in usage_names if n in values), [0.0])
        return ServerLoad(
            flavour=flavour,
            running=sum(values[running]),
            waiting=sum(values.get(waiting, [0.0])),
            usage=sum(usage) / len(usage),
            preemptions=sum(values[preempted]) if preempted and preempted in values else None,
            prefill_seconds=histogram(PREFILL_HISTOGRAM),
            step_seconds=histogram(*STEP_HISTOGRAMS),
            capacity_tokens=sum(capacity) if capacity else None,
            generated_tokens=sum(values[generated]) if generated in values else None,
        )
    return None


def read_server_load(root_url: str, timeout: float = 10.0) -> ServerLoad | None:
    """A server's ``/metrics`` page, fetched now and parsed (blocking: for scripts and tests; a run
    polls asynchronously in ``concurrency.py``)."""
    import urllib.request

    with urllib.request.urlopen(root_url + "/metrics", timeout=timeout) as resp:
        return parse_metrics(resp.read().decode())


def _sum_known(values: list[float | None]) -> float | None:
    return None if None in values else sum(values)  # type: ignore[arg-type]


def _sum_pairs(pairs: list[tuple[float, float] | None]) -> tuple[float, float] | None:
    if not pairs or None in pairs:
        return None
    return sum(p[0] for p in pairs), sum(p[1] for p in pairs)


def combine(loads: list[ServerLoad]) -> ServerLoad:
    """Several servers' readings as one: counts and sizes summed, the cache usage averaged."""
    preempted = [x.preemptions for x in loads]
    return ServerLoad(
        flavour=loads[0].flavour,
        running=sum(x.running for x in loads),
        waiting=sum(x.waiting for x in loads),
        usage=sum(x.usage for x in loads) / len(loads),
        preemptions=None if None in preempted else sum(preempted),
        prefill_seconds=_sum_pairs([x.prefill_seconds for x in loads]),
        step_seconds=_sum_pairs([x.step_seconds for x in loads]),
        capacity_tokens=_sum_known([x.capacity_tokens for x in loads]),
        generated_tokens=_sum_known([x.generated_tokens for x in loads]),
    )
