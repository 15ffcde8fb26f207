"""The resumable output file: torn-line repair, never a row twice, the lock, the failed-rows file."""

from __future__ import annotations

import json

import pytest

from r1lab.errors import ConfigError, DataError
from r1lab.generation.store import OutputStore, repair_torn_tail


def lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_torn_last_line_is_cut(tmp_path):
    out = tmp_path / "out.jsonl"
    out.write_text('{"id": "a"}\n{"id": "b"}\n{"id": "c", "generations": ["half')
    assert repair_torn_tail(out) > 0
    assert out.read_text() == '{"id": "a"}\n{"id": "b"}\n'


def test_complete_last_line_without_newline_is_kept(tmp_path):
    out = tmp_path / "out.jsonl"
    out.write_text('{"id": "a"}\n{"id": "b"}')
    assert repair_torn_tail(out) == 0
    assert out.read_text() == '{"id": "a"}\n{"id": "b"}\n'


def test_torn_only_line(tmp_path):
    out = tmp_path / "out.jsonl"
    out.write_text('{"id": "a", "gen')
    repair_torn_tail(out)
    assert out.read_text() == ""


def test_store_resumes_and_never_writes_twice(tmp_path):
    out, failed = tmp_path / "out.jsonl", tmp_path / "out.failed.jsonl"
    with OutputStore(out, failed) as store:
        store.write({"id": "a", "generations": ["x"]})
        store.write({"id": "a", "generations": ["again"]})
    out.write_text(out.read_text() + '{"id": "b", "gener')  # a crash mid-write
    with OutputStore(out, failed) as store:
        assert store.done == {"a"}
        store.write({"id": "b", "generations": ["y"]})
    assert [r["id"] for r in lines(out)] == ["a", "b"]
    assert lines(out)[0]["generations"] == ["x"]


def test_second_writer_is_refused(tmp_path):
    out, failed = tmp_path / "out.jsonl", tmp_path / "out.failed.jsonl"
    with OutputStore(out, failed), pytest.raises(ConfigError, match="another process"):
        OutputStore(out, failed)


def test_corrupt_middle_line_names_file_and_line(tmp_path):
    out = tmp_path / "out.jsonl"
    out.write_text('{"id": "a"}\nnot json\n{"id": "c"}\n')
    with pytest.raises(DataError, match=r"out.jsonl, row 2"):
        OutputStore(out, tmp_path / "f.jsonl")


def test_failed_file_keeps_only_rows_still_missing(tmp_path):
    out, failed = tmp_path / "out.jsonl", tmp_path / "out.failed.jsonl"
    with OutputStore(out, failed) as store:
        store.write_failed({"id": "a", "problem": "p"}, "HTTP 500", 3)
        store.write_failed({"id": "b", "problem": "q"}, "HTTP 400", 1)
    assert {r["id"] for r in lines(failed)} == {"a", "b"}
    with OutputStore(out, failed) as store:
        assert set(store.previously_failed) == {"a", "b"}
        store.write({"id": "a", "generations": ["ok"]})
    assert [(r["id"], r["error"], r["attempts"]) for r in lines(failed)] == [("b", "HTTP 400", 1)]
    with OutputStore(out, failed) as store:
        store.write({"id": "b", "generations": ["ok"]})
    assert not failed.exists()
