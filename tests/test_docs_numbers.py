"""The docs' measured tables are renderings of bench/results/*.json (`make docs-numbers`), never hand edits."""

from __future__ import annotations

import copy
import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load_module(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


docs_numbers = _load_module("docs_numbers")
RESULTS = docs_numbers.load_results()


@pytest.mark.parametrize("doc", docs_numbers.DOCS)
def test_every_marked_section_is_its_json_rendered(doc):
    text = (ROOT / doc).read_text(encoding="utf-8")
    stale = docs_numbers.stale_sections(text, RESULTS)
    assert not stale, f"{doc}: {stale} differ from bench/results; run `make docs-numbers`"


def test_the_docs_have_marked_sections():
    names = [
        m["name"] for doc in docs_numbers.DOCS for m in docs_numbers.MARKER.finditer((ROOT / doc).read_text())
    ]
    assert len(names) >= 25
    assert {"serving.quiet", "serving.attention-speedup", "demo-full.accuracy", "demo-smollm2.readme"} <= set(
        names
    )


def test_a_changed_number_is_caught():
    """Edit one cell of the JSON: the section that shows it is reported stale, and rendering fixes it."""
    results = copy.deepcopy(RESULTS)
    results["serving"]["tables"]["quiet"]["rows"][5][4] = "99.9"
    text = (ROOT / "docs" / "real-model.md").read_text(encoding="utf-8")
    assert docs_numbers.stale_sections(text, results) == ["serving.quiet"]
    rendered = docs_numbers.render(text, results)
    assert "| 99.9 |" in rendered
    assert docs_numbers.stale_sections(rendered, results) == []


def test_a_hand_edit_in_the_doc_is_caught():
    text = (ROOT / "docs" / "real-model.md").read_text(encoding="utf-8")
    edited = text.replace("| 69.7 |", "| 71.0 |", 1)
    assert edited != text
    assert docs_numbers.stale_sections(edited, RESULTS) == ["serving.quiet"]


def test_a_marker_without_its_table_is_an_error():
    with pytest.raises(docs_numbers.NumbersError, match="no table or line 'nope'"):
        docs_numbers.render("<!-- numbers:serving.nope --><!-- /numbers:serving.nope -->", RESULTS)
    with pytest.raises(docs_numbers.NumbersError, match="no bench/results/absent.json"):
        docs_numbers.render("<!-- numbers:absent.x --><!-- /numbers:absent.x -->", RESULTS)


@pytest.mark.parametrize("stem", sorted(RESULTS))
def test_every_results_file_says_where_it_came_from(stem):
    record = RESULTS[stem]
    for key in ("bench", "command", "args", "date", "transcribed", "machine", "load_average", "versions"):
        assert key in record, f"bench/results/{stem}.json lacks {key!r}"
    assert record["tables"] or record["lines"]
    for name, spec in record["tables"].items():
        assert all(len(row) == len(spec["columns"]) for row in spec["rows"]), f"{stem}.{name}"
    if record["transcribed"]:
        assert record["source"], "a transcribed file names the doc it was copied from"
        assert record["versions"] is None, "a transcribed file cannot know its versions"
    else:
        assert record["versions"]["transformers"] and record["versions"]["torch"]
        assert record["machine"]["cores"] >= 1
        assert set(record["load_average"]) == {"start", "end"}


def test_record_writes_the_convention(tmp_path, monkeypatch):
    """bench/record.py's write_results: what a re-run bench leaves behind renders like the docs expect."""
    record = _load_module("record")
    monkeypatch.setattr(record, "RESULTS_DIR", tmp_path)
    spec = record.table(["what", "tok/s"], [["served", 69.7]], right=1)
    path = record.write_results(
        "probe", {"prompts": 3}, {"tok_s": 69.7}, tables={"t": spec}, lines={"l": "x"}
    )
    written = json.loads(path.read_text())
    assert written["transcribed"] is False
    assert written["args"] == {"prompts": 3}
    assert written["versions"]["transformers"]
    assert written["tables"]["t"] == {
        "columns": ["what", "tok/s"],
        "rows": [["served", "69.7"]],
        "align": ["left", "right"],
    }
    section = docs_numbers.render_section("probe.t", {"probe": written})
    assert "| served | 69.7 |" in section and "bench/results/probe.json" in section


def test_a_name_that_is_both_a_table_and_a_line_is_an_error():
    results = copy.deepcopy(RESULTS)
    results["serving"]["lines"]["quiet"] = "a sentence"
    with pytest.raises(docs_numbers.NumbersError, match="a table and a line"):
        docs_numbers.render("<!-- numbers:serving.quiet --><!-- /numbers:serving.quiet -->", results)
