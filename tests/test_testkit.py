"""The loopback test-server kit (r1lab.testkit) through the real client: streaming and child processes.

The client tests lean on these servers, so what the kit adds beyond them is checked here: a
streamed answer (server-sent events, word by word, usage last) reads back into the same rows as
a whole one, and a server in its own process serves, counts and goes away when stopped.
"""

from __future__ import annotations

import json
import socket
import urllib.request

import pytest

from r1lab.generation import GenerateConfig, generate
from r1lab.testkit import FakeServer, LengthServer

ROWS = [{"problem": f"what is {i} + {i}?"} for i in range(6)]


@pytest.mark.parametrize("api", ["chat", "completions"])
def test_a_streamed_answer_reads_back_like_a_whole_one(tmp_path, api):
    written = {}
    with FakeServer(reasoning=True) as server:
        for stream in (True, False):
            out = tmp_path / f"{api}-{stream}.jsonl"
            config = GenerateConfig(
                output=str(out), base_urls=[server.base_url], model="m", prompt_template="plain", api=api,
                stream=stream, num_generations=2, progress=False,
            )  # fmt: skip
            stats = generate(config, rows=ROWS)
            assert stats.rows_done == len(ROWS) and stats.rows_failed == 0
            written[stream] = [json.loads(line) for line in out.read_text().splitlines()]
        streamed = [r for r in server.requests if r.get("stream")]
    assert len(streamed) >= len(ROWS)  # the streamed run really asked for streams
    assert written[True] == written[False]
    first = written[True][0]
    assert first["generations"] == ["echo[0]: what is 0 + 0?"] * 2  # one request per sample
    assert first["usage"]["completion_tokens"] == 14  # the usage chunk came through (7 per choice)
    if api == "chat":
        assert first["reasoning"] == ["thinking about what is 0 + 0?"] * 2


def test_a_server_in_its_own_process_serves_then_stops(tmp_path):
    lengths = {p: [3, 9] for p in range(4)}
    server = LengthServer(lengths, token_time=0.001, slots=2).process()
    with server:
        config = GenerateConfig(
            output=str(tmp_path / "out.jsonl"), base_urls=[server.base_url], model="m",
            prompt_template="plain", num_generations=2, progress=False,
        )  # fmt: skip
        stats = generate(config, rows=[{"problem": f"problem {p}"} for p in range(4)])
        assert stats.completion_tokens == 4 * (3 + 9)  # the child served the k-th length of each problem
        with urllib.request.urlopen(server.root_url + "/v1/models", timeout=5) as response:
            assert json.loads(response.read())["data"][0]["id"] == "loopback"
        port = server.port
    assert server.proc.returncode is not None  # the child is gone...
    with pytest.raises(OSError):  # ...and nothing listens on its port
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
