"""End to end against a real `transformers serve` running the tiny model (scores near zero are fine).

What is tested is the path: the server started for the run, N samples per problem through the
engine, grading, exact per-sample token counts from the server's usage, every output file, and resuming.
"""

import json

import pytest

from r1lab.cli import main
from r1lab.evaluation import EvalConfig, evaluate

pytestmark = pytest.mark.server


def _check_run(tmp_path, results, endpoint_prefix):
    assert [r["benchmark"] for r in results] == ["aime24", "math500"]
    for r in results:
        out = tmp_path / r["benchmark"]
        assert r["num_problems"] == 3 and r["num_samples"] == 2 and r["num_missing"] == 0
        assert r["endpoint"].startswith(endpoint_prefix)
        assert 0.0 <= r["metrics"]["pass@1"] <= 1.0
        # one choice per request: the server's usage is each sample's exact length
        assert r["response_length"]["source"] == "usage"
        assert 1 <= r["response_length"]["max"] <= 12  # never more than max_tokens
        assert all(0.0 <= v <= 1.0 for v in r["metrics"].values())
        details = [json.loads(line) for line in (out / "details.jsonl").read_text().splitlines()]
        assert len(details) == 3
        for d in details:
            assert len(d["generations"]) == 2 and len(d["completion_tokens"]) == 2
            assert all(reason in ("stop", "length") for reason in d["finish_reasons"])
        truncated = sum(reason == "length" for d in details for reason in d["finish_reasons"])
        assert r["metrics"]["truncation_rate"] == pytest.approx(truncated / 6)
        for name in ("results.json", "report.md", "report.html", "length_hist.png"):
            assert (out / name).stat().st_size > 0


def test_evaluate_cli_against_a_running_transformers_serve(tmp_path, tiny_server, tiny_model_dir, capsys):
    code = main(
        [
            "evaluate",
            "--benchmark",
            "aime24",
            "--benchmark",
            "math500",
            "--base-url",
            tiny_server.base_url,
            "--model",
            tiny_server.model,
            "--tokenizer",
            str(tiny_model_dir),
            "--num-samples",
            "2",
            "--limit",
            "3",
            "--max-tokens",
            "12",
            "--output-dir",
            str(tmp_path),
            "--no-progress",
            "--compare",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "aime24" in out and "DeepSeek reported" in out  # an unknown model: all six listed for reference
    results = [json.loads((tmp_path / b / "results.json").read_text()) for b in ("aime24", "math500")]
    _check_run(tmp_path, results, tiny_server.base_url)


@pytest.mark.slow
def test_evaluate_serves_the_tiny_model_for_the_run(tmp_path, tiny_model_dir):
    config = EvalConfig(
        benchmarks=["aime24", "math500"],
        serve_model=str(tiny_model_dir),
        num_samples=2,
        limit=3,
        max_tokens=12,
        max_concurrent=8,
        output_dir=str(tmp_path),
        progress=False,
    )
    _check_run(tmp_path, evaluate(config), "transformers serve")
