"""Decontamination against the bundled benchmarks: real benchmark files, real n-gram matching."""

from __future__ import annotations

import json

import pytest

from r1lab.cli import main
from r1lab.data import benchmark_path, load_benchmark
from r1lab.data.decontaminate import ContaminationIndex, DecontaminateConfig, decontaminate
from r1lab.data.io import read_jsonl, write_jsonl
from r1lab.data.text import match_words as words

FILLER_BEFORE = "zebra quokka marmalade trombone"
FILLER_AFTER = "lighthouse pancake nebula accordion"


@pytest.fixture(scope="module")
def math500_index() -> ContaminationIndex:
    return ContaminationIndex.from_sources(["math500"], ngram=8)


@pytest.fixture(scope="module")
def long_problem() -> str:
    """A MATH-500 problem with at least 20 words, to cut 7- and 8-word windows from."""
    return next(p for p in load_benchmark("math500")["problem"] if len(words(p)) >= 20)


def test_math500_against_itself_flags_every_problem(tmp_path):
    stats = decontaminate(
        DecontaminateConfig(
            input=str(benchmark_path("math500")), output=str(tmp_path / "o.jsonl"), against=["math500"]
        )
    )
    assert stats.rows == 500
    assert stats.flagged == {"math500": 500}
    rows = list(read_jsonl(tmp_path / "o.jsonl"))
    assert len(rows) == 500 and all(r["contaminated_math500"] for r in rows)


def test_gsm8k_against_math500_flags_almost_none(tmp_path):
    # Grade-school word problems and competition problems were written independently: a shared
    # 8-word run can only be stock phrasing. 1% (13 of 1319) tolerates that while any matcher
    # bug that matches on short runs or on normalization alone flags hundreds.
    stats = decontaminate(
        DecontaminateConfig(
            input=str(benchmark_path("gsm8k")), output=str(tmp_path / "o.jsonl"), against=["math500"]
        )
    )
    print(f"GSM8K rows sharing an 8-gram with MATH-500: {stats.flagged['math500']} of {stats.rows}")
    assert stats.rows == 1319
    assert stats.flagged["math500"] <= 13


def test_shared_8gram_is_caught_and_7_words_are_not(math500_index, long_problem):
    tokens = words(long_problem)
    eight, seven = " ".join(tokens[3:11]), " ".join(tokens[3:10])
    caught = math500_index.matches(f"{FILLER_BEFORE} {eight} {FILLER_AFTER}")
    assert {name for name, _ in caught} == {"math500"}
    assert math500_index.matches(f"{FILLER_BEFORE} {seven} {FILLER_AFTER}") == set()
    # Two disjoint 7-word runs of the same problem do not add up to a match either.
    assert math500_index.matches(f"{seven} {FILLER_AFTER} {' '.join(tokens[12:19])}") == set()


def test_case_punctuation_and_spacing_do_not_hide_a_match(math500_index, long_problem):
    shouted = "  ".join(w.upper() + "," for w in words(long_problem)[:8])
    assert math500_index.matches(f"{FILLER_BEFORE}\n{shouted}\t{FILLER_AFTER}")


def test_problem_shorter_than_n_is_matched_whole():
    index = ContaminationIndex(ngram=8)
    index.add("bench", "p1", "Compute $\\dbinom{31}{28}$.")
    assert index.matches("First, compute \\dbinom{31}{28} and then add one.") == {("bench", "p1")}
    assert index.matches("compute dbinom 31 29") == set()
    assert index.matches("we recompute dbinom 31 28") == set()  # a word boundary is required


def test_drop_record_matches_conversation_roles_and_local_benchmark_file(tmp_path, long_problem):
    bench = tmp_path / "my_eval.jsonl"
    write_jsonl(bench, [{"problem": "The quick brown fox jumps over the lazy sleeping dog today."}])
    leaked = f"{FILLER_BEFORE} {long_problem}"
    data = tmp_path / "chat.jsonl"
    write_jsonl(
        data,
        [
            {"messages": [{"role": "user", "content": leaked}, {"role": "assistant", "content": "ok"}]},
            {
                "messages": [
                    {"role": "user", "content": "clean question"},
                    {"role": "assistant", "content": leaked},
                ]
            },
            {
                "messages": [
                    {"role": "user", "content": "the QUICK brown fox jumps over the lazy sleeping dog"}
                ]
            },
        ],
    )
    out = tmp_path / "flagged.jsonl"
    stats = decontaminate(
        DecontaminateConfig(
            input=str(data), output=str(out), against=[f"math500,{bench}"], record_matches=True
        )
    )
    assert stats.flagged == {"math500": 1, "my_eval": 1} and stats.flagged_any == 2
    rows = list(read_jsonl(out))
    assert [(r["contaminated_math500"], r["contaminated_my_eval"]) for r in rows] == [
        (True, False),
        (False, False),  # the leak is in the assistant turn: only user turns are checked by default
        (False, True),
    ]
    assert rows[0]["contamination_matches"][0].startswith("math500:")

    both_roles = decontaminate(
        DecontaminateConfig(
            input=str(data),
            output=str(tmp_path / "d.jsonl"),
            against=["math500"],
            roles=["user,assistant"],
            drop=True,
        )
    )
    assert (both_roles.flagged_any, both_roles.written) == (2, 1)
    assert list(read_jsonl(tmp_path / "d.jsonl"))[0]["messages"][0]["content"].startswith("the QUICK")


def test_parquet_in_and_out_streams(tmp_path, long_problem):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [{"problem": f"clean problem number {i}", "n": i} for i in range(2500)]
    rows[1234]["problem"] = long_problem
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "in.parquet", row_group_size=500)
    stats = decontaminate(
        DecontaminateConfig(
            input=str(tmp_path / "in.parquet"),
            output=str(tmp_path / "out.parquet"),
            against=["math500"],
            drop=True,
        )
    )
    assert (stats.rows, stats.written, stats.flagged["math500"]) == (2500, 2499, 1)
    table = pq.read_table(tmp_path / "out.parquet")
    assert table.num_rows == 2499 and 1234 not in table.column("n").to_pylist()


def test_cli_prints_counts_and_reports_bad_input(tmp_path, capsys, caplog, long_problem):
    data = tmp_path / "d.jsonl"
    write_jsonl(data, [{"question": long_problem}, {"question": "what is two plus two"}])
    out = tmp_path / "o.jsonl"
    code = main(["decontaminate", "--input", str(data), "--against", "math500,aime24", "--output", str(out)])
    assert code == 0
    table = capsys.readouterr().out
    assert "math500" in table and "aime24" in table
    assert [r["contaminated_math500"] for r in read_jsonl(out)] == [True, False]

    code = main(["decontaminate", "--input", str(data), "--columns", "problem", "--output", str(out)])
    assert code == 2
    assert "field 'problem'" in caplog.text

    (tmp_path / "bad.jsonl").write_text(json.dumps({"question": "x"}) + "\n{oops\n")
    assert main(["decontaminate", "--input", str(tmp_path / "bad.jsonl"), "--output", str(out)]) == 2
    assert "bad.jsonl, row 2" in caplog.text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Apples, PEARS and  plums.", ["apples", "pears", "and", "plums"]),  # case, spacing, end punctuation
        ("Let $a,$ $b$ be real.", ["let", "a", "b", "be", "real"]),  # math delimiters at word ends
        ("Solve x^2+3x=4 now", ["solve", "x^2+3x=4", "now"]),  # a formula stays one word
        (
            "Compute $\\dbinom{31}{28}$.",
            ["compute", "\\dbinom{31}{28"],
        ),  # LaTeX commands keep their backslash
        ("“Quoted” — dash … ", ["quoted", "dash"]),  # Unicode punctuation alone is no word
        ("ﬁnd x_1", ["find", "x_1"]),  # NFKC folds ligatures
    ],
)
def test_match_words(text, expected):
    assert words(text) == expected
