"""``--max-concurrent auto``: metrics parsing, the control law, and runs against the simulated engine.

The engine (r1lab.testkit's simulated KV-cache engine, its own process) has a small KV cache: about 16 requests of
typical size fit. A large fixed window makes it preempt and recompute; ``auto`` should find the
cache's size from ``/metrics`` (vLLM or SGLang names) or, without metrics, from throughput.
"""

from __future__ import annotations

import typing
from pathlib import Path

import pytest

from r1lab.config import from_dict
from r1lab.errors import ConfigError
from r1lab.generation import GenerateConfig, generate
from r1lab.generation.concurrency import (
    CHEAP_RECOMPUTE,
    CHEAP_RECOMPUTE_STEPS,
    EXPENSIVE_RECOMPUTE,
    EXPENSIVE_RECOMPUTE_STEPS,
    MODERATE_RECOMPUTE,
    AdaptiveConcurrency,
)
from r1lab.generation.server_metrics import ServerLoad, parse_metrics
from r1lab.testkit import EngineConfig, EngineProcess, lognormal_lengths

VLLM_PAGE = """# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="m"} 12.0
vllm:num_requests_running{engine="1",model_name="m"} 4.0
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name="m"} 3.0
vllm:kv_cache_usage_perc{engine="0",model_name="m"} 0.9
vllm:kv_cache_usage_perc{engine="1",model_name="m"} 0.5
# TYPE vllm:num_preemptions_total counter
vllm:num_preemptions_total{engine="0",model_name="m"} 7.0
vllm:num_preemptions_created 1.7e9
"""
SGLANG_PAGE = """# HELP sglang:token_usage The token usage
# TYPE sglang:token_usage gauge
sglang:token_usage{model_name="m"} 0.28
sglang:num_running_reqs{model_name="m"} 56.0
sglang:num_queue_reqs{model_name="m"} 0.0
sglang:gen_throughput{model_name="m"} 1234.5
"""


def test_metrics_of_both_flavours_are_read_and_summed_over_engines():
    vllm = parse_metrics(VLLM_PAGE)
    assert vllm == ServerLoad("vllm", running=16, waiting=3, usage=0.7, preemptions=7)
    sglang = parse_metrics(SGLANG_PAGE)
    assert sglang == ServerLoad("sglang", running=56, waiting=0, usage=0.28, preemptions=None)
    old = parse_metrics("vllm:num_requests_running 2\nvllm:gpu_cache_usage_perc 0.25\n")
    assert old.usage == 0.25 and old.waiting == 0 and old.preemptions is None
    assert parse_metrics("# nothing\nprocess_cpu_seconds_total 3.5\n") is None
    assert parse_metrics("") is None


def test_metrics_page_histograms_price_a_prefill():
    page = VLLM_PAGE + (
        'vllm:request_prefill_time_seconds_sum{engine="0"} 0.5\n'
        'vllm:request_prefill_time_seconds_count{engine="0"} 100.0\n'
        'vllm:inter_token_latency_seconds_sum{engine="0"} 2.0\n'
        'vllm:inter_token_latency_seconds_count{engine="0"} 1000.0\n'
    )
    load = parse_metrics(page)
    assert load.prefill_seconds == (0.5, 100.0) and load.step_seconds == (2.0, 1000.0)
    assert parse_metrics(VLLM_PAGE).prefill_seconds is None  # an older vLLM: the law stays careful


def priced(prefill_s: float, requests: int, step_s: float = 0.002, **kw) -> ServerLoad:
    """A reading whose histograms say each prefill phase took ``prefill_s`` against ``step_s`` steps."""
    options = dict(running=8, waiting=0, usage=0.2, preemptions=0)
    options.update(kw)
    hist = dict(
        prefill_seconds=(prefill_s * requests, requests),
        step_seconds=(step_s * 100 * requests, 100 * requests),
    )
    return ServerLoad("vllm", **options, **hist)


def test_gate_opens_into_free_cache_and_closes_when_full():
    control = AdaptiveConcurrency(["http://x"], initial=8)
    assert control.law is EXPENSIVE_RECOMPUTE  # unpriced: careful
    # 8 requests hold 20% of the cache; 10 ms since the last reading at 2 ms a step: at most
    # half a request per step, so +2.5
    control.step_metrics(priced(0.0021, 4, running=8), now=0.01)
    assert control.gate_open and control.limit == 10  # 10.5, rounded to even
    control.step_metrics(priced(0.0021, 4, running=10), now=0.02)
    assert control.limit == 13
    # the cache reaches the target: the gate closes, what runs is held...
    control.step_metrics(priced(0.0021, 4, running=11, usage=0.9), now=0.03)
    assert not control.gate_open and control.limit == 11
    # ...and a finished request is not replaced
    control.observe(100, 0.2, prompt_tokens=24)
    control.observe(100, 0.2, prompt_tokens=24)
    assert control.limit == 9
    # requests waiting in the server's queue close it too, whatever the usage
    control.step_metrics(priced(0.0021, 4, running=9, usage=0.3, waiting=2), now=0.04)
    assert not control.gate_open
    control.step_metrics(priced(0.0021, 4, running=9, usage=0.3), now=0.05)
    assert control.gate_open
    control.observe(100, 0.2, prompt_tokens=24)
    assert control.limit > 9  # an open gate replaces a finished request


def test_the_price_of_a_recompute_picks_the_law():
    cheap, moderate, expensive = (AdaptiveConcurrency(["http://x"], initial=8) for _ in range(3))
    for reading in range(1, 6):
        # prefill phases a step long (the prompt is nearly free), two steps long, six steps long
        cheap.step_metrics(priced(0.00201, 4 * reading), now=reading / 100)
        moderate.step_metrics(priced(0.004, 4 * reading), now=reading / 100)
        expensive.step_metrics(priced(0.012, 4 * reading), now=reading / 100)
    assert cheap.recompute_steps < CHEAP_RECOMPUTE_STEPS < moderate.recompute_steps
    assert moderate.recompute_steps < EXPENSIVE_RECOMPUTE_STEPS < expensive.recompute_steps
    assert cheap.law is CHEAP_RECOMPUTE and cheap.law.z is None  # today's usage alone: no forecast
    assert moderate.law is MODERATE_RECOMPUTE and expensive.law is EXPENSIVE_RECOMPUTE
    assert cheap.target_usage > expensive.target_usage and moderate.law.z < expensive.law.z
    early = AdaptiveConcurrency(["http://x"], initial=8)
    early.step_metrics(priced(0.00201, 4), now=0.01)
    assert early.law is EXPENSIVE_RECOMPUTE  # 4 prefills are too few to trust


def test_throughput_law_without_metrics():
    no_metrics = AdaptiveConcurrency(["http://x"], initial=8)
    no_metrics.step_throughput(100.0)
    assert no_metrics.limit == 10  # throughput rose: grow by 25%
    no_metrics.step_throughput(101.0)
    assert no_metrics.limit < 10  # it did not rise: step back below the best


def test_auto_is_accepted_on_the_command_line_and_bad_values_are_named():
    config = from_dict(GenerateConfig, {"output": "o.jsonl", "max_concurrent": "auto"})
    assert config.max_concurrent == "auto"
    assert from_dict(GenerateConfig, {"output": "o.jsonl", "max_concurrent": "12"}).max_concurrent == 12
    with pytest.raises(ConfigError, match="max_concurrent.*'fast'.*int or 'auto'"):
        from_dict(GenerateConfig, {"output": "o.jsonl", "max_concurrent": "fast"})
    with pytest.raises(ConfigError, match="max_concurrent must be >= 1 or 'auto'"):
        GenerateConfig(output="o.jsonl", max_concurrent=0)
    hint = typing.get_type_hints(GenerateConfig)["max_concurrent"]
    assert "auto" in str(hint)


N = 300


def small_engine(flavour: str = "vllm", **kw) -> EngineConfig:
    """~16 requests of typical size fit in the cache; a prefill costs like 1/20 of a decode step."""
    options = dict(
        kv_tokens=2000, block_size=4, prompt_tokens=24, step_base=1e-3, step_per_seq=1e-5,
        prefill_per_token=5e-5, flavour=flavour,
        lengths=lognormal_lengths(N, mean=120, sigma=0.6, cap=600, seed=2),
    )  # fmt: skip
    options.update(kw)
    return EngineConfig(**options)


def run(engine: EngineProcess, tmp_path: Path, concurrency) -> dict:
    engine.reset()
    config = GenerateConfig(
        output=str(tmp_path / f"out-{concurrency}.jsonl"), base_urls=[engine.base_url], model="sim",
        prompt_template="plain", max_concurrent=concurrency, max_tokens=4096, progress=False,
    )  # fmt: skip
    stats = generate(config, rows=[{"problem": f"job {i}"} for i in range(N)])
    assert stats.rows_done == N and stats.rows_failed == 0
    return engine.stats()


@pytest.mark.parametrize("flavour", ["vllm", "sglang"])
def test_auto_finds_the_cache_size_and_avoids_most_preemptions(tmp_path, flavour):
    with EngineProcess(small_engine(flavour)) as engine:
        auto = run(engine, tmp_path, "auto")
        big = run(engine, tmp_path, 256)
        right = run(engine, tmp_path, 16)  # about what the cache holds (the bench's sweep finds it)
    assert big["preemptions"] > 300  # the large window thrashes the cache
    assert auto["preemptions"] < 0.35 * big["preemptions"]  # target 0.2 (bench); margin for noise
    # converged near the right concurrency: about as many running as the cache holds
    assert 0.7 * right["mean_running"] < auto["mean_running"] < 1.3 * right["mean_running"]
    assert auto["makespan"] < 1.15 * right["makespan"] and auto["makespan"] < big["makespan"]


def test_without_metrics_auto_climbs_by_throughput(tmp_path):
    # no KV limit, at most 48 running, a step that grows slowly with the batch: more is faster
    config = small_engine("none", kv_tokens=None, max_running=48)
    with EngineProcess(config) as engine:
        auto = run(engine, tmp_path, "auto")
        eight = run(engine, tmp_path, 8)
    assert auto["mean_running"] > 1.25 * eight["mean_running"]  # grew past its start of 8
    assert auto["makespan"] < 0.9 * eight["makespan"]
