"""End to end through the real generation engine and grader, against a loopback server.

The server replays MATH-500's reference solutions, so a correct pipeline must score (almost)
100%; a variant corrupts a known share of the answers, and the score must drop by that share.
"""

import json

import pytest

from r1lab.data import load_benchmark
from r1lab.evaluation import EvalConfig, evaluate

WRONG = "\n\nOn reflection, the final answer is $\\boxed{-98765}$."


@pytest.fixture(scope="module")
def math500():
    rows = load_benchmark("math500")
    return {row["problem"]: row for row in rows}


def _reference(math500):
    return lambda problem, index: (
        "<think>\nreplaying the reference\n</think>\n\n" + math500[problem]["solution"]
    )


def test_replaying_reference_solutions_scores_full_marks(tmp_path, math500, replay_server):
    server = replay_server(math500, _reference(math500))
    config = EvalConfig(
        benchmarks=["math500"],
        base_urls=[server.base_url],
        model="replay",
        num_samples=1,
        output_dir=str(tmp_path),
        progress=False,
        max_concurrent=32,
    )
    (results,) = evaluate(config)
    metrics = results["metrics"]
    assert results["num_problems"] == 500 and results["num_samples"] == 1
    assert metrics["pass@1"] >= 0.995
    assert metrics["truncation_rate"] == 0.0
    assert results["sampling"] == {
        "model": "replay",
        "num_samples": 1,
        "top_k": None,
        "seed": None,
        "temperature": 0.6,
        "top_p": 0.95,
        "max_tokens": 32768,
        "prompt_template": "{problem}\nPlease reason step by step, and put your final answer within \\boxed{}.",
        "system_prompt": None,
        "api": "chat",
        "extra_body": {},
    }
    # the environment is recorded from the same RunSettings: the packages this process imported
    import transformers

    versions = results["environment"]["versions"]
    assert versions["transformers"] == transformers.__version__ and versions["r1lab"]
    assert set(versions) >= {"r1lab", "transformers", "trl", "torch", "math-verify"}
    # MATH-500 breakdown: 7 subjects, levels 1-5, problem counts add up
    assert len(results["breakdown"]["subject"]) == 7
    assert list(results["breakdown"]["level"]) == ["1", "2", "3", "4", "5"]
    assert sum(g["num_problems"] for g in results["breakdown"]["level"].values()) == 500
    out = tmp_path / "math500"
    on_disk = json.loads((out / "results.json").read_text())
    assert on_disk["metrics"] == metrics
    details = [json.loads(line) for line in (out / "details.jsonl").read_text().splitlines()]
    assert len(details) == 500
    first = details[0]
    assert set(first) >= {
        "id",
        "problem",
        "gold",
        "generations",
        "extracted",
        "correct",
        "completion_tokens",
        "finish_reasons",
    }
    assert first["completion_tokens"] == [
        len(first["generations"][0]) // 4
    ]  # one sample: the usage is its own
    assert (out / "report.md").read_text().startswith("# math500: replay")
    assert (out / "length_hist.png").read_bytes()[:4] == b"\x89PNG"
    assert "data:image/png;base64," in (out / "report.html").read_text()

    # Reports can be rebuilt from the files alone.
    (out / "report.md").unlink()
    from r1lab.evaluation.reporting import report_from_dir

    assert report_from_dir(out)["markdown"].read_text().startswith("# math500: replay")

    # A rerun resumes: nothing is requested again, the same scores come out.
    requests_before = server.requests
    (again,) = evaluate(config)
    assert server.requests == requests_before
    assert again["metrics"]["pass@1"] == metrics["pass@1"]


def test_corrupted_answers_lower_the_score_by_their_share(tmp_path, math500, replay_server):
    problems = list(load_benchmark("math500").select(range(100))["problem"])
    corrupt_all = set(problems[::5])  # 20 problems: every sample wrong
    reference = _reference(math500)

    def corrupting(problem, index):
        # The others: the first of each problem's 4 samples is wrong (25% of 80 problems' samples).
        if problem in corrupt_all or index % 4 == 0:
            return reference(problem, index) + WRONG
        return reference(problem, index)

    common = dict(
        benchmarks=["math500"], model="replay", num_samples=4, limit=100, progress=False, max_concurrent=32
    )
    clean = replay_server(problems, reference)
    (base,) = evaluate(EvalConfig(base_urls=[clean.base_url], output_dir=str(tmp_path / "clean"), **common))
    bad = replay_server(problems, corrupting)
    (worse,) = evaluate(EvalConfig(base_urls=[bad.base_url], output_dir=str(tmp_path / "bad"), **common))

    corrupted_share = (20 * 4 + 80 * 1) / 400  # 0.4 of all samples
    assert base["num_problems"] == worse["num_problems"] == 100
    assert base["metrics"]["pass@1"] - worse["metrics"]["pass@1"] == pytest.approx(corrupted_share, abs=0.01)
    # Majority vote and pass@4 survive one wrong sample in four, not four in four.
    assert base["metrics"]["cons@4"] - worse["metrics"]["cons@4"] == pytest.approx(0.2, abs=0.01)
    assert base["metrics"]["pass@4"] - worse["metrics"]["pass@4"] == pytest.approx(0.2, abs=0.01)
    # pass@1's standard error is across problems: positive once problems differ.
    assert 0 < worse["metrics"]["pass@1_stderr"] < 0.1
