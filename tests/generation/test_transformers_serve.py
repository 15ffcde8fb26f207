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
    out = tmp_path / "out.jsonl"
    cmd = [sys.executable, "-m", "r1lab.cli", "generate", "--input", "aime24", "--limit", "2",
           "--output", str(out), "--serve-model", str(tiny_model_dir), "--max-tokens", "8", "--no-progress"]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert len(out.read_text().splitlines()) == 2
    leftover = subprocess.run(["pgrep", "-f", f"serve {tiny_model_dir}"], capture_output=True, text=True)
    assert leftover.stdout.strip() == ""
