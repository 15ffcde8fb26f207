"""The engine against a loopback server: grouping, both APIs, n, retries, faults, failures, routing."""

from __future__ import annotations

import json
import time

import pytest

from r1lab.errors import ConfigError
from r1lab.generation import GenerateConfig, generate
from r1lab.testkit import FakeServer

ROWS = [{"problem": f"what is {i} + {i}?", "answer": str(2 * i)} for i in range(30)]


def run(server_or_urls, tmp_path, rows=ROWS, **kw):
    urls = server_or_urls if isinstance(server_or_urls, list) else [server_or_urls.base_url]
    options = {"prompt_template": "plain", "progress": False, "backoff_base": 0.01, "backoff_max": 0.05}
    options.update(kw)
    config = GenerateConfig(output=str(tmp_path / "out.jsonl"), base_urls=urls, model="m", **options)
    return generate(config, rows=rows), read(tmp_path / "out.jsonl")


def read(path):
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_rows_get_their_own_generations_grouped(tmp_path):
    with FakeServer() as server:
        stats, out = run(server, tmp_path, num_generations=3, max_concurrent=8)
    assert stats.rows_done == 30 and stats.requests == 90 and len(server.requests) == 90
    assert sorted(r["id"] for r in out) == sorted({r["id"] for r in out})
    for row in out:
        assert row["generations"] == [f"echo[0]: {row['problem']}"] * 3
        assert row["finish_reasons"] == ["stop"] * 3
        assert row["usage"] == {
            "prompt_tokens": 3 * len(row["problem"]),
            "completion_tokens": 21,
            "completion_tokens_per_generation": [7, 7, 7],
        }
        assert row["answer"] == str(2 * int(row["problem"].split()[2]))
        assert "reasoning" not in row
    saved = json.loads((tmp_path / "out.stats.json").read_text())
    assert saved["rows_done"] == 30 and saved["completion_tokens"] == 30 * 21
    assert 0 < saved["mean_in_flight"] <= 8


def test_one_request_with_n_and_server_that_ignores_n(tmp_path):
    with FakeServer() as server:
        stats, out = run(server, tmp_path, num_generations=4, use_n=True)
    assert stats.requests == 30 and all(body["n"] == 4 for body in server.requests)
    assert all(row["generations"] == [f"echo[{i}]: {row['problem']}" for i in range(4)] for row in out)
    # One response with n choices reports only their sum: per-generation counts are unknown.
    assert all(row["usage"]["completion_tokens_per_generation"] == [None] * 4 for row in out)
    with FakeServer(honour_n=False) as server:  # like transformers serve: one choice whatever n says
        stats, out = run(server, tmp_path / "b", num_generations=3, use_n=True)
    assert stats.rows_done == 30 and stats.requests == 90
    assert all(len(row["generations"]) == 3 for row in out)


@pytest.mark.parametrize(
    "use_n, honour_n", [(False, True), (True, True), (True, False)], ids=["one-per-request", "n", "n-ignored"]
)
def test_a_seeded_row_gives_each_sample_its_own_seed_as_vllm_does_for_n(tmp_path, use_n, honour_n):
    """``--extra-body '{"seed": S}'``: sample i of a row is asked with seed S + i, vLLM's own rule for
    the i-th of n choices, however the samples are sent: one per request, together with n, or the rest
    again after a server answered fewer than n. Sent unchanged to every request, a seeded engine
    returned n copies of the first sample (pass@1 over n samples was one sample, counted n times)."""
    rows = ROWS[:5]
    with FakeServer(honour_n=honour_n) as server:
        stats, out = run(server, tmp_path, rows=rows, num_generations=4, use_n=use_n, extra_body={"seed": 7})
    assert stats.rows_done == 5 and all(len(row["generations"]) == 4 for row in out)
    seeds: dict[str, list[int]] = {}
    for body in server.requests:
        answered = body.get("n", 1) if honour_n else 1
        seeds.setdefault(body["messages"][-1]["content"], []).extend(
            range(body["seed"], body["seed"] + answered)
        )
    assert len(seeds) == 5 and all(sorted(got) == [7, 8, 9, 10] for got in seeds.values())


def test_completions_api_and_reasoning_content(tmp_path):
    with FakeServer() as server:
        _, out = run(server, tmp_path, api="completions")
    assert server.requests[0]["prompt"].startswith("what is") and "messages" not in server.requests[0]
    assert out[0]["finish_reasons"] == ["length"]
    with FakeServer(reasoning=True) as server:
        _, out = run(server, tmp_path / "b", num_generations=2)
    assert all(row["reasoning"] == [f"thinking about {row['problem'][:20]}"] * 2 for row in out)


def test_500s_resets_and_hangs_are_retried(tmp_path):
    faults = {0: ("status", 500), 1: ("reset",), 2: ("hang",), 3: ("status", 503), 5: ("status", 502)}
    with FakeServer(lambda count, body: faults.get(count, ("ok",))) as server:
        stats, out = run(server, tmp_path, timeout=1.0, max_concurrent=4)
    assert stats.rows_done == 30 and stats.rows_failed == 0
    assert stats.retries == 5 and stats.request_failures == 5
    assert len(out) == 30 and not (tmp_path / "out.failed.jsonl").exists()


def test_429_retry_after_is_honoured(tmp_path):
    arrivals = []

    def policy(count, body):
        arrivals.append(time.monotonic())
        return ("status", 429, {"Retry-After": "1"}) if count == 0 else ("ok",)

    with FakeServer(policy) as server:
        stats, _ = run(server, tmp_path, rows=ROWS[:1])
    assert stats.rows_done == 1 and stats.retries == 1
    assert arrivals[1] - arrivals[0] >= 0.95  # the jittered backoff alone would wait <= 0.05 s


def test_client_errors_fail_the_row_and_rerun_retries_it(tmp_path):
    bad = ROWS[4]["problem"]

    def policy(count, body):
        return ("status", 400) if body["messages"][-1]["content"] == bad else ("ok",)

    with FakeServer(policy) as server:
        stats, out = run(server, tmp_path, num_generations=2)
    assert stats.rows_failed == 1 and stats.rows_done == 29
    assert len([b for b in server.requests if b["messages"][-1]["content"] == bad]) <= 2  # never retried
    failed = read(tmp_path / "out.failed.jsonl")
    assert [r["problem"] for r in failed] == [bad] and "HTTP 400" in failed[0]["error"]
    assert bad not in {r["problem"] for r in out}
    with FakeServer() as server:  # the server is fixed: the rerun sends only the failed row
        stats, out = run(server, tmp_path, num_generations=2)
    assert stats.rows_skipped == 29 and stats.rows_done == 1 and len(server.requests) == 2
    assert sorted(r["problem"] for r in out) == sorted(r["problem"] for r in ROWS)
    assert not (tmp_path / "out.failed.jsonl").exists()


def test_exhausted_retries_go_to_the_failed_file(tmp_path):
    with FakeServer(lambda count, body: ("status", 500)) as server:
        stats, _ = run(server, tmp_path, rows=ROWS[:3], max_retries=2)
    assert stats.rows_failed == 3 and stats.rows_done == 0
    failed = read(tmp_path / "out.failed.jsonl")
    assert len(failed) == 3 and all(r["attempts"] == 3 and "HTTP 500" in r["error"] for r in failed)


def test_requests_spread_over_endpoints_and_a_failing_one_is_backed_off(tmp_path):
    with FakeServer(lambda c, b: ("delay", 0.01)) as a, FakeServer(lambda c, b: ("delay", 0.01)) as b:
        stats, _ = run([a.base_url, b.base_url], tmp_path, max_concurrent=8, num_generations=2)
    assert stats.rows_done == 30 and abs(len(a.requests) - len(b.requests)) <= 10
    with FakeServer(lambda c, b: ("delay", 0.01)) as good, FakeServer(lambda c, b: ("status", 503)) as bad:
        stats, out = run([good.base_url, bad.base_url], tmp_path / "b", max_concurrent=4, backoff_base=0.5)
    assert stats.rows_done == 30 and stats.rows_failed == 0
    assert len(bad.requests) < 10 < len(good.requests)  # paused after a few failures, not hammered


def test_unreachable_server_and_refused_model_are_reported_before_work(tmp_path):
    with FakeServer() as server:
        dead = server.base_url
    with pytest.raises(ConfigError, match=f"cannot reach the server at {dead}"):
        run([dead], tmp_path)
    with FakeServer(probe_action=("status", 404)) as server:
        with pytest.raises(ConfigError, match="refused a test request.*HTTP 404"):
            run(server, tmp_path)
        assert len(server.probes) == 1 and server.requests == []
    assert not (tmp_path / "out.jsonl").exists() and not (tmp_path / "out.stats.json").exists()


def test_model_is_discovered_when_not_given(tmp_path):
    with FakeServer() as server:
        config = GenerateConfig(output=str(tmp_path / "o.jsonl"), base_urls=[server.base_url], progress=False)
        stats = generate(config, rows=ROWS[:2])
    assert stats.model == "fake-model" and server.requests[-1]["model"] == "fake-model"


def test_generate_works_from_inside_a_running_event_loop(tmp_path):
    import asyncio

    async def notebook_cell():
        with FakeServer() as server:
            return run(server, tmp_path, rows=ROWS[:5])

    stats, out = asyncio.run(notebook_cell())
    assert stats.rows_done == 5 and len(out) == 5
