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
        for name in (
            "results.json",
            "report.md",
            "report.html",
            "length_hist.png",
            "budget.png",
            "viewer.html",
        ):
            assert (out / name).stat().st_size > 0
        # the budget curve ends at the run's pass@1 and its table at the run's max_tokens
        budget = r["budget"]
        assert budget["table"][-1] == {"max_tokens": 12, "pass@1": pytest.approx(r["metrics"]["pass@1"])}
        assert (
            budget["length_by_outcome"]["correct"]["count"]
            + budget["length_by_outcome"]["incorrect"]["count"]
            == 6
        )
        # the per-sample Parquet opens with datasets and matches details.jsonl
        import datasets

        ds = datasets.load_dataset("parquet", data_files=str(out / "details.parquet"), split="train")
        assert len(ds) == 6
        assert ds["completion_tokens"] == [n for d in details for n in d["completion_tokens"]]
        assert ds["finish_reason"] == [f for d in details for f in d["finish_reasons"]]
        assert all(
            (o == "truncated") == (f == "length" and not c)
            for o, f, c in zip(ds["outcome"], ds["finish_reason"], ds["correct"], strict=True)
        )
        page = (out / "viewer.html").read_text()
        assert (
            page.count('type="application/x-r1-gzip"') == 3
            and "viewer.html" in (out / "report.html").read_text()
        )


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
    results = evaluate(config)
    _check_run(tmp_path, results, "transformers serve")
    # the server's URL and the streaming picked for it belong to the run, not to the caller's config
    assert (config.base_urls, config.stream, config.serve_model) == ([], None, str(tiny_model_dir))
    # the run record names the server r1lab started, and the installed transformers it runs on
    import transformers

    environment = results[0]["environment"]
    assert environment["server"]["kind"] == "transformers serve"
    assert (
        environment["server"]["version"]
        == environment["versions"]["transformers"]
        == transformers.__version__
    )


@pytest.mark.slow
def test_compare_two_checkpoints_served_by_transformers_serve(tmp_path, tiny_server, tiny_model_dir, capsys):
    """Two checkpoints (the tiny model and one with other random weights), each through a real server.

    Random byte models rarely say a lone digit, but over 12 problems x 4 samples of 24 tokens they
    do now and then, so some problems flip; whatever flips, `r1lab compare` must list exactly the
    problems whose pass rates differ in the two details.jsonl files.
    """
    from r1lab.models import build_tiny_model
    from r1lab.models.config import TinyModelConfig

    other = build_tiny_model(tmp_path / "other-checkpoint", TinyModelConfig(seed=1))
    data = tmp_path / "digits.jsonl"
    data.write_text(
        "".join(
            json.dumps({"problem": f"Problem {i}: say the digit {i % 10}.", "answer": str(i % 10)}) + "\n"
            for i in range(12)
        )
    )
    common = [
        "--benchmark",
        str(data),
        "--num-samples",
        "4",
        "--max-tokens",
        "24",
        "--no-progress",
        "--tokenizer",
        str(tiny_model_dir),
    ]
    run_a, run_b = tmp_path / "a", tmp_path / "b"
    assert (
        main(
            [
                "evaluate",
                *common,
                "--base-url",
                tiny_server.base_url,
                "--model",
                tiny_server.model,
                "--output-dir",
                str(run_a),
            ]
        )
        == 0
    )
    assert main(["evaluate", *common, "--serve-model", str(other), "--output-dir", str(run_b)]) == 0
    capsys.readouterr()
    assert (
        main(["compare", str(run_a), str(run_b), "--max-flips", "100", "--json", str(tmp_path / "c.json")])
        == 0
    )
    out = capsys.readouterr().out
    assert "difference B - A:" in out and "95% CI [" in out and "sign test:" in out

    def rates(run):
        rows = [json.loads(line) for line in (run / "digits" / "details.jsonl").read_text().splitlines()]
        return {r["id"]: sum(r["correct"]) / len(r["correct"]) for r in rows}

    ra, rb = rates(run_a), rates(run_b)
    (saved,) = json.loads((tmp_path / "c.json").read_text())
    assert {f["id"] for f in saved["to_b"]} == {i for i in ra if rb[i] > ra[i]}
    assert {f["id"] for f in saved["to_a"]} == {i for i in ra if ra[i] > rb[i]}
    assert saved["difference"] == pytest.approx(sum(rb.values()) / 12 - sum(ra.values()) / 12)
    low, high = saved["interval"]
    assert low <= saved["difference"] <= high
    for flip in saved["to_b"] + saved["to_a"]:
        assert f"viewer.html#problem={flip['id']}" in out
    assert (run_a / "digits" / "viewer.html").is_file() and (run_b / "digits" / "viewer.html").is_file()
