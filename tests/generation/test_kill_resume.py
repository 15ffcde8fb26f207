"""Crash safety of the real CLI: SIGKILL mid-run then rerun; Ctrl-C and SIGTERM stop cleanly."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from r1lab.testkit import FakeServer

N_ROWS = 150


@pytest.fixture
def input_file(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps({"question": f"q{i}", "n": i}) + "\n" for i in range(N_ROWS)))
    return path


def command(input_file, out, url):
    return [
        sys.executable, "-m", "r1lab.cli", "generate", "--input", str(input_file), "--output", str(out),
        "--base-url", url, "--model", "m", "--prompt-column", "question", "--prompt-template", "plain",
        "--num-generations", "2", "--max-concurrent", "8", "--no-progress",
    ]  # fmt: skip


def wait_for_lines(path, count, proc, limit=60.0):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if path.exists() and path.read_bytes().count(b"\n") >= count:
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    raise AssertionError(f"{path} never reached {count} lines")


def check_complete(out):
    raw = out.read_bytes()
    assert raw.endswith(b"\n")
    rows = [json.loads(line) for line in raw.splitlines()]  # every line parses: nothing torn
    assert sorted(r["n"] for r in rows) == list(range(N_ROWS))  # every row exactly once
    for row in rows:
        assert row["generations"] == [f"echo[0]: q{row['n']}"] * 2
    return rows


def test_sigkill_then_rerun_writes_every_row_exactly_once(tmp_path, input_file):
    out = tmp_path / "out.jsonl"
    with FakeServer(lambda c, b: ("delay", 0.03)) as server:
        proc = subprocess.Popen(command(input_file, out, server.base_url), stderr=subprocess.PIPE)
        wait_for_lines(out, 20, proc)
        proc.kill()  # SIGKILL: no cleanup runs
        proc.wait()
        written = out.read_bytes().count(b"\n")
        assert 20 <= written < N_ROWS
        with out.open("ab") as f:  # and as if the kill had landed mid-write
            f.write(b'{"id": "torn", "generations": ["hal')
        time.sleep(0.5)  # let the server read whatever the killed client had already sent
        sent_before = len(server.requests)
        done = subprocess.run(command(input_file, out, server.base_url), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "torn last line" in done.stderr
    check_complete(out)
    # the rerun asked only for rows not yet written (2 requests each), plus at most the lost in-flight ones
    assert len(server.requests) - sent_before == 2 * (N_ROWS - written)
    stats = json.loads((tmp_path / "out.stats.json").read_text())
    assert stats["rows_skipped"] == written and stats["rows_done"] == N_ROWS - written


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 130)])
def test_interrupt_stops_cleanly_and_resumes(tmp_path, input_file, sig, code):
    out = tmp_path / "out.jsonl"
    with FakeServer(lambda c, b: ("delay", 0.03)) as server:
        proc = subprocess.Popen(command(input_file, out, server.base_url), stderr=subprocess.PIPE, text=True)
        wait_for_lines(out, 10, proc)
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=30)
        assert proc.returncode == code, stderr
        assert "interrupted" in stderr.lower()
        assert out.read_bytes().endswith(b"\n")
        stats = json.loads((tmp_path / "out.stats.json").read_text())
        assert stats["interrupted"] is True and 10 <= stats["rows_done"] < N_ROWS
        done = subprocess.run(command(input_file, out, server.base_url), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    check_complete(out)


def test_cli_reports_bad_input_without_traceback(tmp_path, input_file):
    out = tmp_path / "out.jsonl"
    cmd = command(input_file, out, "http://127.0.0.1:9/v1")
    cmd[cmd.index("question")] = "problem"
    result = subprocess.run(cmd, capture_output=True, text=True)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert (
        "in.jsonl" in result.stderr
        and "missing column 'problem'" in result.stderr
        and "question, n" in result.stderr
    )
    cmd[cmd.index("problem")] = "question"
    result = subprocess.run(cmd, capture_output=True, text=True)
    assert result.returncode == 2 and "cannot reach the server at http://127.0.0.1:9/v1" in result.stderr
