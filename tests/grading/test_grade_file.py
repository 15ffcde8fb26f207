"""`r1lab grade` end to end on real files: columns added, filters, errors that name file/row/field."""

from __future__ import annotations

import json

import pytest

from r1lab.cli import main
from r1lab.errors import ConfigError
from r1lab.grading import GradeConfig, grade_file

ROWS = [
    # 2 of 3 correct
    {
        "id": "a",
        "answer": "\\frac12",
        "generations": ["<think>x</think>\\boxed{0.5}", "\\boxed{2}", "\\boxed{1/2}"],
        "finish_reasons": ["stop", "length", "stop"],
    },
    # a plain string generation: a list of one
    {"id": "b", "answer": "3", "generations": "The answer is 3"},
    # never correct
    {"id": "c", "answer": "7", "generations": ["\\boxed{8}", "no idea"]},
    # unreadable gold
    {"id": "d", "answer": "\\frac{", "generations": ["\\boxed{1}"]},
]


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _read(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_grade_adds_columns_and_prints_accuracy(tmp_path, capsys):
    src, out = _write(tmp_path / "gen.jsonl", ROWS), tmp_path / "graded.jsonl"
    assert main(["grade", "--input", str(src), "--output", str(out)]) == 0
    rows = _read(out)
    assert [r["id"] for r in rows] == ["a", "b", "c", "d"]
    assert rows[0]["correct"] == [True, False, True]
    assert rows[0]["extracted"] == ["0.5", "2", "1/2"]
    assert rows[1]["correct"] == [True] and rows[1]["generations"] == "The answer is 3"
    assert rows[2]["grade_status"] == ["ok", "no_answer"]
    assert rows[3]["grade_status"] == ["unparseable_gold"]
    printed = capsys.readouterr().out
    assert "accuracy        0.5000  (3/6 generations)" in printed  # the unreadable gold is not counted
    assert "unparseable_gold  1" in printed


def test_keep_correct_is_rejection_sampling(tmp_path):
    src, out = _write(tmp_path / "gen.jsonl", ROWS), tmp_path / "sft.jsonl"
    stats = grade_file(GradeConfig(input=str(src), output=str(out), keep="correct"))
    rows = _read(out)
    assert [r["id"] for r in rows] == ["a", "b"]
    assert rows[0]["generations"] == ["<think>x</think>\\boxed{0.5}", "\\boxed{1/2}"]
    assert rows[0]["finish_reasons"] == ["stop", "stop"]  # parallel columns filtered alike
    assert rows[0]["correct"] == [True, True]
    assert (stats.rows_out, stats.generations_out) == (2, 3)


def test_keep_any_correct_keeps_whole_rows(tmp_path):
    src, out = _write(tmp_path / "gen.jsonl", ROWS), tmp_path / "out.jsonl"
    grade_file(GradeConfig(input=str(src), output=str(out), keep="any-correct"))
    rows = _read(out)
    assert [r["id"] for r in rows] == ["a", "b"] and len(rows[0]["generations"]) == 3


def test_pass_rate_selects_problems_for_rl(tmp_path):
    src, out = _write(tmp_path / "gen.jsonl", ROWS), tmp_path / "rl.jsonl"
    assert main(["grade", "--input", str(src), "--output", str(out), "--pass-rate", "0.1", "0.9"]) == 0
    assert [r["id"] for r in _read(out)] == ["a"]  # 2/3 solved; b always, c never, d unknown
    grade_file(GradeConfig(input=str(src), output=str(out), pass_rate=[0.0, 0.0]))
    assert [r["id"] for r in _read(out)] == ["c"]


def test_other_columns_and_parquet(tmp_path):
    rows = [{"q": "1+1", "gold": 2, "outs": ["\\boxed{2}", "3"]}]
    src, out = _write(tmp_path / "gen.jsonl", rows), tmp_path / "graded.parquet"
    grade_file(GradeConfig(input=str(src), output=str(out), answer_column="gold", generations_column="outs"))
    from r1lab.data import open_dataset

    graded = open_dataset(out)
    assert graded[0]["correct"] == [True, False]


def test_missing_column_names_file_row_and_field(tmp_path, caplog):
    src = _write(tmp_path / "gen.jsonl", [ROWS[0], {"id": "x", "answer": "1"}])
    out = tmp_path / "graded.jsonl"
    assert main(["grade", "--input", str(src), "--output", str(out)]) == 2
    err = caplog.text
    assert "gen.jsonl" in err and "row 2" in err and "'generations'" in err
    assert not out.exists()  # no half-written output


def test_bad_options_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="keep"):
        GradeConfig(input="a", output="b", keep="best")
    with pytest.raises(ConfigError, match="pass_rate"):
        GradeConfig(input="a", output="b", pass_rate=[0.5])
    with pytest.raises(ConfigError, match="pass_rate"):
        GradeConfig(input="a", output="b", pass_rate=[0.9, 0.1])


def test_finish_reasons_make_a_cut_off_generation_no_answer(tmp_path, capsys):
    # The same text twice: finished, its final sentence states 7; cut off at the token limit, it
    # stated nothing, and its last number being the gold does not make it right.
    rows = [
        {"id": "t", "answer": "7", "generations": ["so 3 + 4 = 7"] * 2, "finish_reasons": ["stop", "length"]}
    ]
    src, out = _write(tmp_path / "gen.jsonl", rows), tmp_path / "graded.jsonl"
    assert main(["grade", "--input", str(src), "--output", str(out)]) == 0
    graded = _read(out)[0]
    assert graded["correct"] == [True, False]
    assert graded["grade_status"] == ["ok", "no_answer"]
    assert "no_answer         1" in capsys.readouterr().out


def test_evaluation_passes_finish_reasons_to_grading():
    # r1lab evaluate grades through the same path: a sample cut off at max_tokens is no_answer there too.
    from r1lab.evaluation.config import EvalConfig
    from r1lab.evaluation.runner import grade_rows

    config = EvalConfig(base_urls=["http://127.0.0.1:1/v1"], model="m")
    rows = [
        (
            {"id": "1", "problem": "p", "answer": "7"},
            {"generations": ["so 3 + 4 = 7"] * 2, "finish_reasons": ["stop", "length"]},
        ),
        (
            {"id": "2", "problem": "q", "answer": "7"},
            {"generations": ["so 3 + 4 = 7"]},
        ),  # no finish reasons: finished
    ]
    details = grade_rows(rows, 1, config)
    assert [d["grade_status"] for d in details] == [["ok"], ["ok"]]
    details = grade_rows(rows[:1], 2, config)
    assert details[0]["grade_status"] == ["ok", "no_answer"]
    assert details[0]["correct"] == [True, False]
