import json

import pytest

from r1lab.data import BENCHMARKS, load_benchmark, load_problems
from r1lab.errors import DataError

EXPECTED_ROWS = {"math500": 500, "aime24": 30, "aime25": 30, "amc23": 40, "gsm8k": 1319}


@pytest.mark.parametrize("name", sorted(EXPECTED_ROWS))
def test_bundled_benchmark_has_uniform_schema(name):
    dataset = load_benchmark(name)
    assert len(dataset) == EXPECTED_ROWS[name]
    for column in ("id", "problem", "answer"):
        assert column in dataset.column_names
    assert all(isinstance(a, str) and a.strip() for a in dataset["answer"])
    assert all(isinstance(p, str) and p.strip() for p in dataset["problem"])
    assert len(set(dataset["id"])) == len(dataset), "ids must be unique"


def test_every_bundled_benchmark_is_tested():
    assert set(BENCHMARKS) == set(EXPECTED_ROWS)


def test_gsm8k_answer_is_the_final_number_and_solution_is_kept():
    row = load_benchmark("gsm8k")[0]
    assert row["answer"] == "18"
    assert row["solution"].rstrip().endswith("#### 18")
    assert row["problem"] == row["question"]


def test_math500_keeps_source_fields():
    row = load_benchmark("math500")[0]
    assert {"subject", "level", "solution", "unique_id"} <= set(row)
    assert row["id"] == row["unique_id"]


def test_local_file_with_column_mapping(tmp_path):
    path = tmp_path / "mine.jsonl"
    path.write_text("\n".join(json.dumps({"q": f"What is {i}+1?", "a": i + 1}) for i in range(3)) + "\n")
    dataset = load_problems(path, problem_column="q", answer_column="a")
    assert dataset["problem"][2] == "What is 2+1?"
    assert dataset["answer"] == ["1", "2", "3"]
    assert len(set(dataset["id"])) == 3
    # ids are a stable hash of the problem text
    assert load_problems(path, problem_column="q", answer_column="a")["id"] == dataset["id"]


def test_missing_column_names_file_and_columns(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"question": "x", "solution": "y"}) + "\n")
    with pytest.raises(DataError) as info:
        load_problems(path)
    message = str(info.value)
    assert str(path) in message and "'problem'" in message and "question" in message and "solution" in message


def test_malformed_line_names_file_and_row(tmp_path):
    path = tmp_path / "broken.jsonl"
    path.write_text('{"problem": "a", "answer": "1"}\n{"problem": "b", "answer": \n')
    with pytest.raises(DataError, match=r"broken.jsonl, row 2"):
        load_problems(path)


def test_empty_answer_names_row_and_field(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text('{"problem": "a", "answer": "1"}\n{"problem": "b", "answer": " "}\n')
    with pytest.raises(DataError, match=r"row 2, field 'answer'"):
        load_problems(path)


def test_parquet_source(tmp_path):
    from datasets import Dataset

    path = tmp_path / "p.parquet"
    Dataset.from_list([{"problem": "1+1", "answer": "2"}]).to_parquet(str(path))
    assert load_problems(path)["answer"] == ["2"]


def test_ids_are_text_even_when_the_source_stores_integers():
    dataset = load_benchmark("gsm8k")
    assert dataset.features["id"].dtype == "string"
    assert dataset[0]["id"] == "0"
