"""``r1lab merge``: shards written by the real ``r1lab generate`` against a loopback server, merged
and checked (every input row once; shards of other runs, missing or doubled rows refused)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap

import pytest

from r1lab.cli import main
from r1lab.errors import ConfigError, DataError
from r1lab.generation.merge import merge_shards
from r1lab.testkit import FakeServer

N_ROWS = 30


@pytest.fixture(autouse=True)
def keep_sigterm():
    """The CLI installs a SIGTERM handler in this (pytest's) process: put the old one back."""
    before = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, before)


@pytest.fixture
def server():
    # Rows whose prompt is "bad 7" fail with a non-retryable error: they end in OUT.failed.jsonl.
    def policy(count, body):
        text = body["messages"][-1]["content"]
        return ("status", 400, {}) if text == "bad 7" else ("ok",)

    with FakeServer(policy) as s:
        yield s


def write_input(path, bad=False):
    rows = [{"id": f"r{i}", "problem": f"bad {i}" if bad and i == 7 else f"p {i}"} for i in range(N_ROWS)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def gen(server, input_path, out, shard, num_shards=3, *extra):
    return main(
        ["-q", "generate", "--input", str(input_path), "--output", str(out), "--base-url", server.base_url,
         "--model", "m", "--prompt-template", "plain", "--no-progress", "--max-retries", "0",
         "--shard-index", str(shard), "--num-shards", str(num_shards), *extra]
    )  # fmt: skip


def shards(tmp_path, server, input_path, **per_shard_extra):
    paths = []
    for i in range(3):
        out = tmp_path / f"shard-{i}.jsonl"
        gen(server, input_path, out, i, 3, *per_shard_extra.get(str(i), ()))
        paths.append(out)
    return paths


def ids_of(path):
    return [json.loads(line)["id"] for line in path.read_text().splitlines()]


def test_merge_three_shards_every_row_once(tmp_path, server):
    paths = shards(tmp_path, server, write_input(tmp_path / "in.jsonl"))
    assert all(p.with_name(p.stem + ".manifest.json").exists() for p in paths)
    out = tmp_path / "merged.jsonl"
    assert main(["-q", "merge", *map(str, paths), "--output", str(out)]) == 0
    assert sorted(ids_of(out)) == sorted(f"r{i}" for i in range(N_ROWS))
    stats = json.loads((tmp_path / "merged.stats.json").read_text())
    assert stats["rows_done"] == N_ROWS and stats["shards"] == 3
    assert [s["rows_done"] for s in stats["per_shard"]] == [len(ids_of(p)) for p in paths]
    # The merged output resumes like an unsharded run of the same settings: nothing left to do.
    assert gen(server, tmp_path / "in.jsonl", out, 0, 1) == 0
    assert sorted(ids_of(out)) == sorted(f"r{i}" for i in range(N_ROWS))
    assert json.loads((tmp_path / "merged.stats.json").read_text())["rows_skipped"] == N_ROWS


def test_merge_refuses_shards_of_different_runs(tmp_path, server):
    paths = shards(tmp_path, server, write_input(tmp_path / "in.jsonl"), **{"2": ["--temperature", "1.0"]})
    with pytest.raises(ConfigError, match="different runs.*temperature: 0.6 vs 1.0"):
        merge_shards(paths, tmp_path / "merged.jsonl")
    assert not (tmp_path / "merged.jsonl").exists()
    assert main(["-q", "merge", *map(str, paths), "--output", str(tmp_path / "m.jsonl")]) == 2


def test_resuming_a_shard_with_other_settings_is_refused(tmp_path, server):
    input_path = write_input(tmp_path / "in.jsonl")
    out = tmp_path / "shard-0.jsonl"
    gen(server, input_path, out, 0)
    with pytest.raises(ConfigError, match="another run.*top_p"):
        from r1lab.cli.merge import prepare_run
        from r1lab.generation import GenerateConfig

        prepare_run(GenerateConfig(input=str(input_path), output=str(out), base_urls=[server.base_url],
                                   model="m", prompt_template="plain", num_shards=3, top_p=0.5))  # fmt: skip


def test_merge_reports_missing_duplicate_and_failed_rows(tmp_path, server):
    paths = shards(tmp_path, server, write_input(tmp_path / "in.jsonl", bad=True))
    # r7 failed (HTTP 400): it is missing, and its error is reported.
    with pytest.raises(DataError, match=r"1 missing: r7.*failed .*r7: .*400"):
        merge_shards(paths, tmp_path / "merged.jsonl")
    report = merge_shards(paths, tmp_path / "merged.jsonl", allow_missing=True)
    assert report.missing == ["r7"] and list(report.failed) == ["r7"] and not report.complete
    assert json.loads((tmp_path / "merged.failed.jsonl").read_text())["id"] == "r7"
    assert main(["-q", "merge", *map(str, paths), "-o", str(tmp_path / "m2.jsonl"), "--allow-missing"]) == 1

    # A row written twice (one shard's line copied into another) is refused, naming the id.
    first_line = paths[0].read_text().splitlines()[0]
    with paths[1].open("a") as f:
        f.write(first_line + "\n")
    with pytest.raises(DataError, match="1 duplicates: " + json.loads(first_line)["id"]):
        merge_shards(paths, tmp_path / "merged3.jsonl", allow_missing=True)


def test_merge_refuses_a_missing_shard_and_skips_a_torn_tail(tmp_path, server):
    paths = shards(tmp_path, server, write_input(tmp_path / "in.jsonl"))
    with pytest.raises(DataError, match=r"shard\(s\) \[2\] of 3 are missing"):
        merge_shards(paths[:2], tmp_path / "merged.jsonl")
    # A task killed mid-write leaves a torn last line: that row counts as missing, nothing crashes.
    lines = paths[2].read_bytes().splitlines(keepends=True)
    torn_id = json.loads(lines[-1])["id"]
    paths[2].write_bytes(b"".join(lines[:-1]) + lines[-1][:10])
    report = merge_shards(paths, tmp_path / "merged.jsonl", allow_missing=True)
    assert report.missing == [torn_id] and report.rows == N_ROWS - 1


def test_sigterm_outside_the_request_window_runs_the_cleanup(tmp_path):
    """Without the handler, SIGTERM kills at once; with it, `finally` blocks run, then status 130."""
    script = textwrap.dedent(
        """
        import os, signal, sys
        from r1lab.generation import preempt
        assert preempt.install()
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            signal.raise_signal(signal.SIGTERM)  # a second one during cleanup is ignored
        finally:
            print("cleanup ran", preempt.terminated())
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert "cleanup ran True" in result.stdout
    assert "Terminated" in result.stderr and result.returncode == 1  # an uncaught KeyboardInterrupt


def test_sigterm_after_a_request_window_still_runs_the_cleanup(tmp_path, server):
    """The runner's asyncio handler is removed after each window; the one installed before comes back."""
    script = textwrap.dedent(
        f"""
        import os, signal
        from r1lab.generation import GenerateConfig, generate, preempt
        assert preempt.install()
        config = GenerateConfig(output={str(tmp_path / "out.jsonl")!r}, base_urls=[{server.base_url!r}],
                                model="m", prompt_template="plain", progress=False)
        generate(config, rows=[{{"problem": "p 1"}}])
        assert signal.getsignal(signal.SIGTERM) is preempt._on_sigterm
        try:
            os.kill(os.getpid(), signal.SIGTERM)  # e.g. between two benchmarks of one evaluate
        finally:
            print("cleanup ran", preempt.terminated())
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert "cleanup ran True" in result.stdout, result.stderr
