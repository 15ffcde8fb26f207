"""`r1lab view` on generate, grade and evaluate outputs; sample outcomes; the page's data blocks."""

import base64
import gzip
import json
import re

import pytest

from r1lab.cli import main
from r1lab.evaluation.metrics import sample_outcome
from r1lab.evaluation.samples import sample_rows, viewer_problem


@pytest.mark.parametrize(
    ("correct", "status", "finish", "expected"),
    [
        (True, "ok", "stop", "correct"),
        (True, "ok", "length", "correct"),  # answered before the cut: still correct
        (False, "ok", "stop", "wrong"),
        (False, "ok", "length", "truncated"),
        (False, "no_answer", "length", "truncated"),  # cut off explains the missing answer
        (False, "no_answer", "stop", "no_answer"),
        (False, "timeout", "stop", "timeout"),
        (False, "unparseable_gold", "stop", "unparseable_gold"),
        (False, "unparseable_gold", "length", "unparseable_gold"),
        (False, "error", None, "error"),
    ],
)
def test_sample_outcome(correct, status, finish, expected):
    assert sample_outcome(correct, status, finish) == expected


def _generations(path):
    rows = [
        {
            "id": "a",
            "problem": "What is 1+1?",
            "answer": "2",
            "generations": ["<think>one plus one</think> $\\boxed{2}$", "It is $\\boxed{3}$", "I think"],
            "finish_reasons": ["stop", "stop", "length"],
            "usage": {"completion_tokens": 30},
        },
        {
            "id": "b</script><b>",
            "problem": "What is 2+2? </script><script>alert(1)</script>",
            "answer": "4",
            "generations": ["$\\boxed{4}$", "$\\boxed{4}$", "$\\boxed{4.0}$"],
            "finish_reasons": ["stop", "stop", "stop"],
        },
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return rows


def _meta(page: str) -> dict:
    found = re.search(r'<script type="application/json" id="r1-meta">(.*?)</script>', page, re.S)
    return json.loads(found.group(1))


def _texts(page: str, index: int) -> dict:
    found = re.search(rf'<script type="application/x-r1-gzip" id="t-{index}">(.*?)</script>', page, re.S)
    return json.loads(gzip.decompress(base64.b64decode(found.group(1))))


def test_view_generate_then_grade_output(tmp_path, capsys):
    generated = tmp_path / "gen.jsonl"
    rows = _generations(generated)
    assert main(["view", str(generated)]) == 0
    page_path = tmp_path / "gen.viewer.html"
    assert capsys.readouterr().out.strip() == str(page_path)
    page = page_path.read_text()
    # the problem text cannot close the data block: exactly one real script element runs
    assert page.count("<script>") == 1 and "alert(1)</script>" not in page
    meta = _meta(page)
    assert [p["id"] for p in meta["problems"]] == ["a", "b</script><b>"]
    first = meta["problems"][0]
    assert first["g"] == "2" and first["rate"] is None  # not graded yet
    assert [s["o"] for s in first["s"]] == ["ungraded"] * 3 and first["s"][2]["f"] == "length"
    assert _texts(page, 0)["t"] == rows[0]["generations"]

    graded = tmp_path / "graded.jsonl"
    assert main(["grade", "--input", str(generated), "--output", str(graded)]) == 0
    capsys.readouterr()
    assert main(["view", str(graded), "--output", str(tmp_path / "g.html"), "--title", "graded"]) == 0
    meta = _meta((tmp_path / "g.html").read_text())
    assert meta["title"] == "graded"
    first, second = meta["problems"]
    assert [s["o"] for s in first["s"]] == ["correct", "wrong", "truncated"]
    assert [s["x"] for s in first["s"]][:2] == ["2", "3"]
    assert first["rate"] == pytest.approx(1 / 3) and first["dis"] is True
    # 4 and 4.0 differ as text (no verifier clusters in grade output): flagged as disagreeing
    assert second["rate"] == 1.0 and second["dis"] is True


def test_view_a_run_dir_writes_one_page_per_benchmark(tmp_path, capsys):
    for bench in ("math500", "aime24"):
        (tmp_path / bench).mkdir()
        detail = {
            "id": "p0",
            "problem": "x?",
            "gold": "1",
            "generations": ["\\boxed{1}", "\\boxed{2}"],
            "extracted": ["1", "2"],
            "correct": [True, False],
            "grade_status": ["ok", "ok"],
            "clusters": [0, 0],
            "finish_reasons": ["stop", "stop"],
            "completion_tokens": [5, 6],
            "level": 3,
        }
        (tmp_path / bench / "details.jsonl").write_text(json.dumps(detail) + "\n")
    assert main(["view", str(tmp_path)]) == 0
    assert sorted(capsys.readouterr().out.split()) == sorted(
        str(tmp_path / b / "viewer.html") for b in ("math500", "aime24")
    )
    problem = _meta((tmp_path / "math500" / "viewer.html").read_text())["problems"][0]
    assert problem["lvl"] == "3" and problem["dis"] is False  # clusters say the answers agree
    assert [s["n"] for s in problem["s"]] == [5, 6]
    assert main(["view", str(tmp_path), "--output", str(tmp_path / "x.html")]) == 2  # two pages, one --output
    assert main(["view", str(tmp_path / "nowhere")]) == 2


def test_sample_rows_flatten_and_keep_reasoning():
    row = {
        "id": 7,
        "problem": "p",
        "answer": "1",
        "generations": ["a", "b"],
        "reasoning": ["r0", None],
        "correct": [True, False],
        "grade_status": ["ok", "no_answer"],
        "finish_reasons": ["stop", "length"],
    }
    flat = list(sample_rows([row]))
    assert [(r["id"], r["sample"], r["gold"], r["outcome"]) for r in flat] == [
        ("7", 0, "1", "correct"),
        ("7", 1, "1", "truncated"),
    ]
    assert flat[0]["reasoning"] == "r0" and flat[1]["reasoning"] is None
    problem = viewer_problem(row)
    assert problem["reasoning"] == ["r0", ""] and problem["samples"][0]["chars"] == 3
