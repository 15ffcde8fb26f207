"""The published-scores file and the --compare table."""

import pytest

from r1lab.evaluation.published import compare_rows, compare_table, load_published, match_model

SIX = [
    "DeepSeek-R1-Distill-Qwen-1.5B",
    "DeepSeek-R1-Distill-Qwen-7B",
    "DeepSeek-R1-Distill-Qwen-14B",
    "DeepSeek-R1-Distill-Qwen-32B",
    "DeepSeek-R1-Distill-Llama-8B",
    "DeepSeek-R1-Distill-Llama-70B",
]


def test_every_model_has_both_sources_for_math500_and_aime24():
    published = load_published()
    assert sorted(published.models) == sorted(SIX)
    for model in SIX:
        for benchmark in ("math500", "aime24"):
            for source in ("deepseek", "open-r1"):
                value = published.lookup(model, benchmark, "pass@1", source)
                assert value is not None and 0 < value < 1, (model, benchmark, source)
    for source in published.sources.values():
        assert source["url"].startswith("https://") and source["retrieved_from"] and source["protocol"]


def test_known_values_from_the_r1_paper():
    published = load_published()
    # DeepSeek-R1 paper Table 5 / model cards.
    assert published.lookup(
        "DeepSeek-R1-Distill-Qwen-1.5B", "math500", "pass@1", "deepseek"
    ) == pytest.approx(0.839)
    assert published.lookup("DeepSeek-R1-Distill-Qwen-32B", "aime24", "pass@1", "deepseek") == pytest.approx(
        0.726
    )
    assert published.lookup(
        "DeepSeek-R1-Distill-Llama-70B", "aime24", "cons@64", "deepseek"
    ) == pytest.approx(0.867)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B", "DeepSeek-R1-Distill-Qwen-1.5B"),
        ("/models/deepseek-r1-distill-qwen-14b", "DeepSeek-R1-Distill-Qwen-14B"),
        ("DeepSeek-R1-Distill-Llama-70B-AWQ", "DeepSeek-R1-Distill-Llama-70B"),
        ("Qwen/Qwen2.5-7B-Instruct", None),
        (None, None),
    ],
)
def test_match_model(name, expected):
    assert match_model(name) == expected


def _result(model, benchmark, p, se):
    return {"benchmark": benchmark, "model": model, "metrics": {"pass@1": p, "pass@1_stderr": se}}


def test_compare_shows_the_run_beside_its_published_model():
    results = [_result("deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", "math500", 0.9, 0.01)]
    headers, rows = compare_rows(results)
    assert headers[:4] == ["model", "benchmark", "metric", "this run"]
    math_row = next(r for r in rows if r[1] == "math500")
    assert math_row[0] == "DeepSeek-R1-Distill-Qwen-7B"
    assert math_row[3] == "90.0 ± 1.0"
    assert math_row[4] == "92.8"  # DeepSeek reported
    assert {r[0] for r in rows} == {"DeepSeek-R1-Distill-Qwen-7B"}
    assert "arXiv:2501.12948" in compare_table(results)


def test_compare_unknown_model_lists_all_six_and_the_run():
    rows = compare_rows(
        [_result("my-sft-model", "aime24", 0.1, 0.05), _result("my-sft-model", "gsm8k", 0.5, 0.01)]
    )[1]
    names = {r[0] for r in rows}
    assert set(SIX) <= names and "my-sft-model" in names
    assert any(r[1] == "gsm8k" and r[3] == "50.0 ± 1.0" for r in rows)
