"""End to end against a real `transformers serve` process running the tiny model."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from r1lab.generation import GenerateConfig, generate


@pytest.mark.server
def test_generate_against_transformers_serve(tiny_server, tmp_path):
    rows = [{"problem": f"{i} + {i} = ?", "answer": str(2 * i)} for i in range(2)]
    for api in ("chat", "completions"):
        config = GenerateConfig(
            output=str(tmp_path / f"{api}.jsonl"),
            base_urls=[tiny_server.base_url],
            model=tiny_server.model,
            api=api,
            num_generations=2,
            use_n=api == "chat",  # transformers serve ignores n: the client must ask again
            max_tokens=8,
            max_concurrent=8,
            progress=False,
        )
        stats = generate(config, rows=rows)
        assert stats.rows_done == 2 and stats.rows_failed == 0
        out = [json.loads(line) for line in (tmp_path / f"{api}.jsonl").read_text().splitlines()]
        assert sorted(r["answer"] for r in out) == ["0", "2"]
        for row in out:
            assert len(row["generations"]) == 2 and all(isinstance(g, str) for g in row["generations"])
            assert all(reason in ("stop", "length") for reason in row["finish_reasons"])
            assert 0 < row["usage"]["completion_tokens"] <= 2 * 8
            assert row["usage"]["prompt_tokens"] > 0


@pytest.mark.server
def test_cli_generate_against_transformers_serve(tiny_server, tmp_path):
    out = tmp_path / "out.jsonl"
    cmd = [sys.executable, "-m", "r1lab.cli", "generate", "--input", "aime24", "--limit", "2",
           "--output", str(out), "--base-url", tiny_server.base_url, "--model", tiny_server.model,
           "--max-tokens", "4", "--no-progress"]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    from r1lab.data import load_benchmark

    assert sorted(r["id"] for r in rows) == sorted(load_benchmark("aime24")["id"][:2])
    assert all(r["answer"] and len(r["generations"]) == 1 for r in rows)
    stats = json.loads((tmp_path / "out.stats.json").read_text())
    assert stats["rows_done"] == 2 and stats["model"] == tiny_server.model


@pytest.mark.slow
@pytest.mark.server
def test_serve_model_option_starts_and_stops_a_server(tiny_model_dir, tmp_path):
    def servers() -> set[str]:  # the session's tiny_server, when running, serves the same directory
        found = subprocess.run(["pgrep", "-f", f"serve {tiny_model_dir}"], capture_output=True, text=True)
        return set(found.stdout.split())

    before = servers()
    out = tmp_path / "out.jsonl"
    cmd = [sys.executable, "-m", "r1lab.cli", "generate", "--input", "aime24", "--limit", "2",
           "--output", str(out), "--serve-model", str(tiny_model_dir), "--max-tokens", "8", "--no-progress"]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert len(out.read_text().splitlines()) == 2
    assert servers() == before  # the server it started is gone


@pytest.mark.server
def test_servers_side_by_side_keep_their_cache_small(tiny_server, tiny_model_dir):
    """On a CPU transformers sizes the KV cache at 60% of free RAM: a second server got OOM-killed.

    r1lab caps it (CPU_CACHE_MEMORY_FRACTION), so two servers that have both answered requests
    are alive, and neither holds more than a third of the machine's memory.
    """
    import urllib.request

    from r1lab.generation import serve_model
    from r1lab.generation.server import CPU_CACHE_MEMORY_FRACTION, serve_command

    assert serve_command("m", 1)[-1] == "--continuous-batching"  # the cap is r1lab's choice, made here
    assert serve_command("m", 1, cache_memory_fraction=0.25)[-2:] == ["--cb-max-memory-percent", "0.25"]
    assert "--cb-max-memory-percent" not in serve_command("m", 1, False, 0.25)

    def ask(server) -> None:
        body = json.dumps(
            {"model": server.model, "messages": [{"role": "user", "content": "1+1"}], "max_tokens": 4}
        )
        request = urllib.request.Request(
            server.base_url + "/chat/completions",
            data=body.encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=300) as response:
            assert response.status == 200

    def rss_fraction(pid: int) -> float:
        with open(f"/proc/{pid}/status") as f:
            rss_kb = next(int(line.split()[1]) for line in f if line.startswith("VmRSS"))
        with open("/proc/meminfo") as f:
            total_kb = next(int(line.split()[1]) for line in f if line.startswith("MemTotal"))
        return rss_kb / total_kb

    ask(tiny_server)
    with serve_model(tiny_model_dir) as second:
        assert "--cb-max-memory-percent" in " ".join(second.process.args)
        ask(second)  # the cache is allocated on the first request
        ask(tiny_server)
        for server in (tiny_server, second):
            assert server.process.poll() is None
            assert rss_fraction(server.process.pid) < CPU_CACHE_MEMORY_FRACTION + 0.15
