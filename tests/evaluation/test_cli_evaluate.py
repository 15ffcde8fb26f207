"""`r1lab evaluate` on the command line: options, the summary, --compare, errors without tracebacks."""

import json

from r1lab.cli import main
from r1lab.data import load_benchmark


def test_evaluate_cli_with_compare_and_two_benchmarks(tmp_path, replay_server, capsys):
    rows = list(load_benchmark("math500").select(range(5))) + list(load_benchmark("gsm8k").select(range(5)))
    answers = {row["problem"]: f"The final answer is $\\boxed{{{row['answer']}}}$." for row in rows}
    server = replay_server(answers, lambda problem, index: answers[problem])
    code = main(
        [
            "evaluate",
            "--benchmark",
            "math500",
            "--benchmark",
            "gsm8k",
            "--base-url",
            server.base_url,
            "--model",
            "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B",
            "--limit",
            "5",
            "--num-samples",
            "2",
            "--max-tokens",
            "64",
            "--output-dir",
            str(tmp_path),
            "--compare",
            "--no-progress",
            "--extra-body",
            '{"seed": 1}',
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "| benchmark | problems | samples | pass@1 | pass@n | cons@n | truncated | mean tokens |" in out
    assert "| gsm8k | 5 | 2 | 100.0 ± 0.0 | 100.0 | 100.0 | 0.0 |" in out
    assert "DeepSeek reported" in out and "83.9" in out  # the 1.5B model's published MATH-500 pass@1
    results = json.loads((tmp_path / "gsm8k" / "results.json").read_text())
    assert results["num_problems"] == 5 and results["num_samples"] == 2
    assert results["sampling"]["max_tokens"] == 64 and results["sampling"]["extra_body"] == {"seed": 1}
    assert results["metrics"]["pass@1"] == 1.0 and results["metrics"]["cons@2"] == 1.0
    assert (tmp_path / "compare.md").exists()
    # the per-benchmark reports carry the matched model's published numbers too
    assert (
        "| DeepSeek-R1-Distill-Qwen-1.5B | math500 | pass@1 | 100.0"
        in (tmp_path / "math500" / "report.md").read_text()
    )
    assert '<td class="num">83.9</td>' in (tmp_path / "math500" / "report.html").read_text()


def test_evaluate_cli_errors_are_one_line(tmp_path, caplog):
    assert main(["evaluate", "--benchmark", "math500", "--output-dir", str(tmp_path)]) == 2
    assert "--base-url" in caplog.text
    code = main(
        ["evaluate", "--benchmark", str(tmp_path / "nope.jsonl"), "--base-url", "http://127.0.0.1:9/v1"]
    )
    assert code == 2
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "1+1?", "answer": "2"}\n')
    code = main(
        [
            "evaluate",
            "--benchmark",
            str(bad),
            "--base-url",
            "http://127.0.0.1:9/v1",
            "--output-dir",
            str(tmp_path),
        ]
    )
    assert code == 2
    assert "missing column(s) 'problem'" in caplog.text and "bad.jsonl" in caplog.text
    assert "Traceback" not in caplog.text


def test_evaluate_any_local_dataset_with_mapped_columns(tmp_path, replay_server, caplog):
    data = tmp_path / "my_set.jsonl"
    data.write_text("".join(json.dumps({"q": f"What is {i}+{i}?", "a": str(2 * i)}) + "\n" for i in range(6)))
    answers = {f"What is {i}+{i}?": str(2 * i if i % 2 else 2 * i + 1) for i in range(6)}  # odd i right
    server = replay_server(answers, lambda problem, index: f"\\boxed{{{answers[problem]}}}")
    args = [
        "evaluate",
        "--benchmark",
        str(data),
        "--problem-column",
        "q",
        "--answer-column",
        "a",
        "--base-url",
        server.base_url,
        "--model",
        "m",
        "--output-dir",
        str(tmp_path / "out"),
        "--no-progress",
    ]
    code = main(args)
    assert code == 0
    results = json.loads((tmp_path / "out" / "my_set" / "results.json").read_text())
    assert results["num_samples"] == 4  # the default for datasets that are not bundled
    assert results["metrics"]["pass@1"] == 0.5

    # Resuming with other sampling settings would mix two experiments: refused, nothing lost.
    assert main(args + ["--temperature", "0.2", "--num-samples", "8"]) == 2
    assert "num_samples: 4 -> 8; temperature: 0.6 -> 0.2" in caplog.text
    assert json.loads((tmp_path / "out" / "my_set" / "results.json").read_text())["metrics"]["pass@1"] == 0.5
    assert main(args) == 0  # the same settings resume


def test_evaluate_yaml_config_rejects_a_misspelt_key(tmp_path, caplog):
    recipe = tmp_path / "eval.yaml"
    recipe.write_text("benchmarks: [aime24]\nbase_urls: [http://127.0.0.1:9/v1]\nnum_sample: 8\n")
    assert main(["evaluate", "--config", str(recipe)]) == 2
    assert "unknown key 'num_sample' (did you mean 'num_samples'?)" in caplog.text


def test_an_evaluation_shard_scores_its_own_problems_and_misses_none(tmp_path, replay_server, caplog):
    from r1lab.generation.inputs import shard_of

    rows = list(load_benchmark("gsm8k").select(range(12)))
    answers = {row["problem"]: f"The final answer is $\\boxed{{{row['answer']}}}$." for row in rows}
    server = replay_server(answers, lambda problem, index: answers[problem])
    held = {}
    for shard in (0, 1):
        out = tmp_path / f"shard-{shard}"
        args = [
            "evaluate",
            "--benchmark",
            "gsm8k",
            "--base-url",
            server.base_url,
            "--model",
            "m",
            "--limit",
            "12",
        ]
        args += ["--num-shards", "2", "--shard-index", str(shard), "--output-dir", str(out), "--no-progress"]
        caplog.clear()
        assert main(args) == 0
        results = json.loads((out / "gsm8k" / "results.json").read_text())
        held[shard] = {str(r["id"]) for r in rows if shard_of(str(r["id"]), 2) == shard}
        assert results["num_problems"] == len(held[shard]) and results["num_missing"] == 0
        assert "have no generations" not in caplog.text  # the other shard's problems are not "missing"
    assert held[0] and held[1] and held[0] | held[1] == {str(r["id"]) for r in rows}
