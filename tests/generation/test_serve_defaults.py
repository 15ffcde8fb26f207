"""Settings picked for the server (concurrency, streaming), streamed token counting, .gguf serving.

Against the real ``transformers serve`` of the tiny model (fixture ``tiny_server``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import shutil

import aiohttp
import pytest

from r1lab.generation import GenerateConfig, generate
from r1lab.generation.client import Engine
from r1lab.generation.endpoints import Endpoint
from r1lab.generation.server import (
    CPU_CONCURRENCY,
    REMOTE_CONCURRENCY,
    serve_command,
    serve_model,
    server_defaults,
)
from r1lab.generation.stats import ProgressBar, RunMeter
from r1lab.testkit import FakeServer


def _config(tmp_path, **kw) -> GenerateConfig:
    return GenerateConfig(output=str(tmp_path / "out.jsonl"), progress=False, **kw)


@pytest.mark.server
def test_concurrency_and_streaming_are_picked_for_the_server(tiny_server, tmp_path):
    local = _config(tmp_path, base_urls=[tiny_server.base_url])
    assert local.max_concurrent is None and local.stream is None
    # No GPU here: a CPU continuous-batching server gets the CPU concurrency and streams.
    assert tiny_server.recommended_concurrency == CPU_CONCURRENCY < REMOTE_CONCURRENCY
    assert server_defaults(local, tiny_server) == {"max_concurrent": CPU_CONCURRENCY, "stream": True}
    assert local.max_concurrent is None and local.stream is None  # resolved, not written into the config

    remote = _config(tmp_path, base_urls=["http://example.invalid:8000/v1"])
    assert server_defaults(remote) == {"max_concurrent": REMOTE_CONCURRENCY, "stream": False}

    given = _config(tmp_path, base_urls=[tiny_server.base_url], max_concurrent=3, stream=False)
    assert server_defaults(given, tiny_server) == {"max_concurrent": 3, "stream": False}


def test_serve_command_passes_continuous_batching_options():
    command = serve_command("/m", 1234, True, 0.05, {"max_batch_tokens": 512, "block_size": 32})
    text = " ".join(command)
    assert "--cb-max-memory-percent 0.05" in text
    assert "--cb-max-batch-tokens 512" in text and "--cb-block-size 32" in text
    assert "--cb-" not in " ".join(serve_command("/m", 1234, False, None, {"max_batch_tokens": 512}))


@pytest.mark.server
def test_streamed_response_counts_tokens_while_it_is_generated(tiny_server, tmp_path):
    """Tokens show up in ``meter.live_tokens`` before the response ends, and end at the server's usage."""
    config = _config(
        tmp_path, base_urls=[tiny_server.base_url], model=tiny_server.model, stream=True, max_concurrent=1
    )  # the Engine is built directly here, so nothing picks the window for it
    meter = RunMeter()
    engine = Engine(config, iter(()), store=None, meter=meter, build_request=None)
    body = {
        "model": tiny_server.model,
        "messages": [{"role": "user", "content": "count to one hundred"}],
        "max_tokens": 400,
    }

    async def run():
        seen = []
        async with aiohttp.ClientSession() as session:
            engine.session = session
            task = asyncio.create_task(engine._post(Endpoint(tiny_server.base_url), body))
            while not task.done():
                seen.append(meter.live_tokens)
                await asyncio.sleep(0.005)
            return await task, seen

    data, seen = asyncio.run(run())
    usage = data["usage"]
    [choice] = data["choices"]
    assert choice["finish_reason"] in ("stop", "length") and isinstance(choice["message"]["content"], str)
    assert meter.live_tokens == usage["completion_tokens"] > 0
    if usage["completion_tokens"] >= 50:  # long enough to be seen mid-way (the tiny model runs fast)
        assert any(0 < n < usage["completion_tokens"] for n in seen), "no token was counted before the end"


@pytest.mark.server
def test_streamed_run_writes_the_same_rows_as_a_whole_one(tiny_server, tmp_path):
    rows = [{"problem": f"{i} + {i} = ?"} for i in range(3)]
    results = {}
    for stream in (True, False):
        for api in ("chat", "completions"):
            out = tmp_path / f"{stream}-{api}.jsonl"
            config = GenerateConfig(output=str(out), base_urls=[tiny_server.base_url], model=tiny_server.model,
                                    api=api, stream=stream, num_generations=2, max_tokens=12, progress=False)  # fmt: skip
            stats = generate(config, rows=rows)
            assert stats.rows_done == 3 and stats.rows_failed == 0
            assert stats.max_concurrent == REMOTE_CONCURRENCY  # a --base-url server: the remote default
            written = [json.loads(line) for line in out.read_text().splitlines()]
            for row in written:
                assert len(row["generations"]) == 2 and all(isinstance(g, str) for g in row["generations"])
                assert all(r in ("stop", "length") for r in row["finish_reasons"])
                assert all(0 < n <= 12 for n in row["usage"]["completion_tokens_per_generation"])
            results[stream, api] = sum(r["usage"]["completion_tokens"] for r in written)
            assert stats.completion_tokens == results[stream, api]
    assert all(0 < n <= 3 * 2 * 12 for n in results.values())


def test_progress_shows_tokens_and_a_recent_rate():
    meter = RunMeter()
    bar = ProgressBar(meter, total_rows=10, enabled=False)
    meter.live_tokens = 100
    tokens, _ = bar.token_rate(elapsed=2.0)
    assert tokens == 100
    bar._samples[0] = (bar._samples[0][0] - 5.0, 100)  # five seconds ago there were 100 tokens
    meter.live_tokens = 600
    tokens, rate = bar.token_rate(elapsed=7.0)
    assert tokens == 600 and 90 < rate <= 100  # 500 tokens over ~5 s, not 600 over 7 s
    meter.completion_tokens = 700  # finished requests' usage wins when it is ahead (no streaming)
    assert bar.token_rate(elapsed=8.0)[0] == 700


@pytest.mark.slow
@pytest.mark.server
def test_serve_model_takes_a_gguf_file_imported_before(tiny_model_dir, tmp_path, monkeypatch, caplog):
    """A .gguf path is resolved through r1lab's import cache: the model imported earlier is served."""
    from r1lab.models.gguf import _fingerprint, cache_root

    monkeypatch.setenv("R1LAB_CACHE", str(tmp_path / "cache"))
    gguf = tmp_path / "tiny.gguf"
    gguf.write_bytes(b"GGUF")  # never read: its import is found in the cache by size and mtime
    cached = cache_root() / f"tiny-{_fingerprint(gguf)}"
    shutil.copytree(tiny_model_dir, cached)
    caplog.set_level("INFO", logger="r1lab")
    with serve_model(gguf) as server:
        assert server.model == str(cached.resolve())
        stats = generate(
            GenerateConfig(
                output=str(tmp_path / "o.jsonl"),
                base_urls=[server.base_url],
                model=server.model,
                max_tokens=4,
                progress=False,
            ),  # fmt: skip
            rows=[{"problem": "hi"}],
        )
        assert stats.rows_done == 1
    assert f"imported earlier from {gguf}" in caplog.text
    assert os.path.isdir(cached)


def test_progress_counts_samples_as_they_land_when_rows_have_several():
    meter = RunMeter()
    bar = ProgressBar(meter, total_rows=10, enabled=False, samples_per_row=4)
    assert bar.total == 40 and bar.finished() == 0
    meter.samples_done = 7  # one sample of seven rows back, no row complete yet
    assert bar.finished() == 7
    meter.rows_failed = 1  # a failed row counts whole
    assert bar.finished() == 11
    meter.samples_done, meter.rows_failed = 40, 0
    assert bar.finished() == 40
    rows_bar = ProgressBar(meter, total_rows=10, enabled=False)
    meter.rows_done = 3
    assert rows_bar.finished() == 3  # one sample per row: the bar counts rows


def test_a_run_counts_every_sample_it_accepts(tmp_path):
    rows = [{"id": str(i), "problem": f"{i} + 1"} for i in range(5)]
    meter = RunMeter()
    with FakeServer(honour_n=False) as server:
        config = GenerateConfig(input="unused", output=str(tmp_path / "out.jsonl"), base_urls=[server.base_url],
                                model="fake", num_generations=3, max_tokens=8, progress=False)  # fmt: skip
        stats = generate(config, rows=rows, meter=meter)
    assert stats.rows_done == 5
    assert meter.samples_done == 15


def test_a_run_resolves_its_settings_without_editing_the_callers_config(tmp_path):
    """The model a server lists, and the concurrency and streaming picked for it, belong to the run:
    the config the caller passed in reads the same afterwards, so it can be reused for another run."""
    rows = [{"id": str(i), "problem": f"q{i}"} for i in range(3)]
    with FakeServer() as server:
        config = _config(tmp_path, base_urls=[server.base_url], max_tokens=8)
        before = dataclasses.asdict(config)
        stats = generate(config, rows=rows)
    assert stats.rows_done == 3
    assert (stats.model, stats.max_concurrent) == (FakeServer.model_id, REMOTE_CONCURRENCY)
    assert dataclasses.asdict(config) == before
