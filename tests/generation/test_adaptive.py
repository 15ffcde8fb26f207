"""``--max-concurrent auto``: metrics parsing, the control law, and runs against the simulated engine.

The engine (bench/engine_sim.py, its own process) has a small KV cache: about 16 requests of
typical size fit. A large fixed window makes it preempt and recompute; ``auto`` should find the
cache's size from ``/metrics`` (vLLM or SGLang names) or, without metrics, from throughput.
"""

from __future__ import annotations

import sys
import typing
from pathlib import Path

import pytest

from r1lab.config import from_dict
from r1lab.errors import ConfigError
from r1lab.generation import GenerateConfig, generate
from r1lab.generation.concurrency import AdaptiveConcurrency, ServerLoad, parse_metrics

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from engine_sim import EngineConfig, EngineProcess, lognormal_lengths  # noqa: E402

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


def test_control_law_grows_into_free_cache_holds_on_a_queue_and_cuts_on_preemption():
    control = AdaptiveConcurrency(["http://x"], initial=8)
    control.step_metrics(ServerLoad("vllm", 8, 0, 0.2, 0), now=0.0)
    # 8 requests fill 20%: room for many more, but young requests grow, so a quarter more per reading
    assert control.limit == 10
    for reading in range(1, 4):
        control.step_metrics(ServerLoad("vllm", control.limit, 0, 0.2, 0), now=reading / 10)
    assert control.limit >= 19
    grown = control.limit
    control.step_metrics(ServerLoad("vllm", grown, 5, 0.95, 0), now=1.0)
    assert control.limit <= grown  # requests wait in the server's queue: no growth
    before, target = control.limit, control.target_usage
    control.step_metrics(ServerLoad("vllm", before, 0, 1.0, 3), now=2.0)
    assert control.limit < before and control.target_usage < target
    # a window far above what the cache holds (it preempted down to 10 running) is cut below that
    control.step_metrics(ServerLoad("vllm", 10, 8, 1.0, 9), now=3.0)
    assert control.limit == 9
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
