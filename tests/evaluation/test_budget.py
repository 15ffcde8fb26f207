"""Accuracy against token budget, against hand-computed cases and through a real evaluation."""

import json

import pytest

from r1lab.evaluation.budget import budget_curve, budget_results, default_budgets, pass_at_budget
from selfcontained import network_loads  # tests/ is on sys.path

# Two problems. Problem 0: samples of 100 (correct), 300 (correct), 500 (wrong), 800 (correct).
# Problem 1: 200 (correct), 1000 (truncated at the limit: wrong).
TOKENS = [[100, 300, 500, 800], [200, 1000]]
CORRECT = [[True, True, False, True], [True, False]]


def test_budget_curve_hand_computed():
    # each correct sample of problem 0 adds 1/(4*2) = 0.125, problem 1's adds 1/(2*2) = 0.25
    assert budget_curve(TOKENS, CORRECT) == [
        (100, 0.125),
        (200, 0.375),
        (300, 0.5),
        (800, 0.625),
    ]
    curve = budget_curve(TOKENS, CORRECT)
    assert pass_at_budget(curve, 99) == 0.0
    assert pass_at_budget(curve, 100) == 0.125
    assert pass_at_budget(curve, 799) == 0.5
    assert pass_at_budget(curve, 1000) == 0.625  # the run's own pass@1: (3/4 + 1/2) / 2


def test_budget_curve_ends_at_pass_at_1_and_ties_add_up():
    from r1lab.evaluation.metrics import summarize

    tokens = [[50, 50, 50], [50, 70, 90]]
    correct = [[True, True, False], [False, True, True]]
    curve = budget_curve(tokens, correct)
    assert curve == [(50, pytest.approx(1 / 3)), (70, pytest.approx(0.5)), (90, pytest.approx(2 / 3))]
    assert curve[-1][1] == pytest.approx(summarize(correct)["pass@1"])
    assert budget_curve([[10]], [[False]]) == [] and budget_curve([], []) == []
    with pytest.raises(ValueError):
        budget_curve([[1, 2]], [[True]])


def test_default_budgets():
    assert default_budgets(32768, 5000) == [64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768]
    assert default_budgets(12, 12) == [1, 2, 4, 8, 12]
    assert default_budgets(None, 300) == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300]


def test_budget_results_table_and_length_by_outcome():
    out = budget_results(TOKENS, CORRECT, 1000)
    table = {row["max_tokens"]: row["pass@1"] for row in out["table"]}
    assert table[64] == 0.0 and table[128] == 0.125 and table[256] == 0.375 and table[512] == 0.5
    assert table[1000] == 0.625
    assert out["curve"][-1] == [800, 0.625]
    # 50% of 0.625 is first reached at 200 (0.375 >= 0.3125), 90% (0.5625) at 800
    assert out["tokens_to_reach"] == {"50%": 200, "90%": 800, "100%": 800}
    assert out["length_by_outcome"]["correct"]["count"] == 4
    assert out["length_by_outcome"]["correct"]["median"] == 250  # of 100, 200, 300, 800
    assert out["length_by_outcome"]["incorrect"] == {
        "count": 2,
        "mean": 750,
        "median": 750,
        "p90": 950,
        "max": 1000,
    }


def test_evaluation_writes_the_budget_curve_parquet_and_viewer(tmp_path, replay_server):
    """Through the real engine and grader: short correct answers, long wrong ones."""
    import datasets

    from r1lab.data import load_benchmark
    from r1lab.evaluation import EvalConfig, evaluate

    rows = list(load_benchmark("math500").select(range(6)))
    by_problem = {row["problem"]: row for row in rows}

    def answer(problem, index):
        if index % 2 == 0:
            return f"Short. $\\boxed{{{by_problem[problem]['answer']}}}$"
        return "long " * 60 + "so the answer is $\\boxed{-98765}$"

    server = replay_server(by_problem, answer)
    config = EvalConfig(
        benchmarks=["math500"],
        base_urls=[server.base_url],
        model="replay",
        num_samples=2,
        limit=6,
        max_tokens=4096,
        output_dir=str(tmp_path),
        progress=False,
    )
    (results,) = evaluate(config)
    out = tmp_path / "math500"
    budget = results["budget"]
    assert results["metrics"]["pass@1"] == pytest.approx(0.5)
    assert budget["table"][-1] == {"max_tokens": 4096, "pass@1": pytest.approx(0.5)}
    # wrong answers are ~75 tokens long (300 chars / 4 in the replay server's usage), correct ones short
    lengths = budget["length_by_outcome"]
    assert lengths["correct"]["count"] == 6 and lengths["incorrect"]["count"] == 6
    assert lengths["correct"]["max"] < lengths["incorrect"]["mean"]
    assert json.loads((out / "results.json").read_text())["budget"] == json.loads(json.dumps(budget))
    assert (out / "budget.png").stat().st_size > 10_000
    assert "Accuracy against token budget" in (out / "report.md").read_text()
    # the per-sample Parquet opens with datasets, one row per sample, same verdicts as details.jsonl
    ds = datasets.load_dataset("parquet", data_files=str(out / "details.parquet"), split="train")
    assert len(ds) == 12 and ds.column_names[:3] == ["id", "sample", "problem"]
    assert sum(ds["correct"]) == 6
    assert set(ds["outcome"]) == {"correct", "wrong"} and set(ds["finish_reason"]) == {"stop"}
    assert ds[0]["subject"] == rows[0]["subject"] and ds[0]["level"] == str(rows[0]["level"])
    page = (out / "viewer.html").read_text()
    assert page.count('type="application/x-r1-gzip"') == 6
    # self-contained: nothing is loaded from a network address (XML namespace names such as
    # http://www.w3.org/1998/Math/MathML inside the vendored math renderer are names, not requests)
    assert not network_loads(page), network_loads(page)


def test_report_from_dir_adds_budget_viewer_and_parquet_to_an_older_run(tmp_path):
    """A run written before these files existed (no ``budget`` in results.json) re-renders with them."""
    from r1lab.evaluation.reporting import report_from_dir

    details = [
        {
            "id": f"p{i}",
            "problem": f"q{i}",
            "gold": "1",
            "generations": ["\\boxed{1}", "\\boxed{2}"],
            "extracted": ["1", "2"],
            "correct": [True, False],
            "grade_status": ["ok", "ok"],
            "clusters": [0, 1],
            "finish_reasons": ["stop", "length"],
            "completion_tokens": [TOKENS[0][i], 1000],
        }
        for i in range(2)
    ]
    (tmp_path / "details.jsonl").write_text("".join(json.dumps(d) + "\n" for d in details))
    results = {
        "benchmark": "toy",
        "model": "m",
        "num_problems": 2,
        "num_samples": 2,
        "sampling": {"temperature": 0.6, "top_p": 0.95, "max_tokens": 1000, "prompt_template": "{problem}"},
        "metrics": {"pass@1": 0.5, "pass@1_stderr": 0.0},
    }
    (tmp_path / "results.json").write_text(json.dumps(results))
    paths = report_from_dir(tmp_path)
    assert paths["budget"].exists() and paths["viewer"].exists() and paths["parquet"].exists()
    markdown = (tmp_path / "report.md").read_text()
    # p0's correct sample is 100 tokens long, p1's 300: half the score by 100, all of it by 300
    assert "| 64 | 0.0 |" in markdown and "| 128 | 25.0 |" in markdown and "| 512 | 50.0 |" in markdown
    assert "50% of it by 100, 90% of it by 300, 100% of it by 300 tokens" in markdown
