"""The trace viewer in headless Chromium on an R1-sized run: MATH-500 x 4 samples of 10-20k characters.

What is checked is what a reader does: the page opens without rendering the 30 MB of traces,
each filter shows exactly the problems Python counts for it, search narrows the list, a sample
opens with its reasoning collapsed and its final answer highlighted, and a link with
``#problem=ID&sample=J`` opens that sample. Screenshots go to test-artifacts/. Timings are
printed (never asserted: the machine is shared); the DOM size is asserted instead, since that is
what keeps the page responsive.
"""

from __future__ import annotations

import json
import time

import pytest

from r1lab.data.io import write_jsonl
from r1lab.evaluation.samples import write_viewer_for

from .conftest import ARTIFACTS, synthetic_details

SELECT = """(() => {{ const s = document.querySelector('{selector}'); s.value = {value};
  s.dispatchEvent(new Event('change')); return document.querySelector('#count').textContent; }})()"""


@pytest.fixture(scope="module")
def big_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("viewer")
    started = time.perf_counter()
    rows = synthetic_details(num_problems=500, samples=4)
    write_jsonl(out / "details.jsonl", rows)
    made = time.perf_counter()
    page = write_viewer_for(out / "details.jsonl")
    written = time.perf_counter()
    chars = sum(len(g) for r in rows for g in r["generations"])
    print(
        f"\nsynthetic run: {len(rows)} problems, {chars / 1e6:.1f} M characters of traces; built in "
        f"{made - started:.1f} s, viewer written in {written - made:.1f} s, {page.stat().st_size / 1e6:.1f} MB"
    )
    return rows, page


def _select(browser, selector: str, value: str) -> str:
    return browser.js(SELECT.format(selector=selector, value=json.dumps(value)))


def _count(text: str) -> int:
    return int(text.split(" of ")[0].replace(",", ""))


def test_viewer_filters_search_and_lazy_samples(browser, big_run):
    rows, page = big_run
    assert sum(len(r["generations"]) for r in rows) == 2000
    assert page.stat().st_size < 20e6  # gzip keeps 30 MB of traces well below that
    seconds = browser.open(page.as_uri())
    dom = browser.js(
        "({nodes: document.getElementsByTagName('*').length, text: document.body.innerText.length, "
        "rows: document.querySelectorAll('section.problem').length, count: document.querySelector('#count').textContent})"
    )
    print(f"opened in {seconds:.2f} s: {dom}")
    assert dom["count"] == "500 of 500 problems, page 1 of 20" and dom["rows"] == 25
    assert dom["nodes"] < 3000 and dom["text"] < 60_000  # no trace text in the DOM until one is opened
    ARTIFACTS.mkdir(exist_ok=True)
    browser.screenshot(ARTIFACTS / "viewer_list.png")

    def expect(name, predicate):
        return sum(1 for r in rows if predicate(r))

    checks = {
        "truncated": lambda r: "length" in r["finish_reasons"],
        "wrong": lambda r: any(
            s == "ok" and not c for s, c in zip(r["grade_status"], r["correct"], strict=True)
        ),
        "no_answer": lambda r: any(x is None for x in r["extracted"]),
        "disagree": lambda r: len(set(r["clusters"])) > 1,
        "timeout": lambda r: "timeout" in r["grade_status"],
        "unsolved": lambda r: not any(r["correct"]),
    }
    for name, predicate in checks.items():
        started = time.perf_counter()
        shown = _count(_select(browser, "#f-show", name))
        print(f"filter {name}: {shown} problems in {1000 * (time.perf_counter() - started):.0f} ms")
        assert shown == expect(name, predicate) and 0 < shown < 500, name
    # the truncated filter shows only problems with a truncated chip, on every page
    _select(browser, "#f-show", "truncated")
    assert browser.js(
        "[...document.querySelectorAll('section.problem')].every(s => s.querySelector('.chip.o-truncated'))"
    )

    _select(browser, "#f-show", "all")
    _select(browser, "#f-subject", "Algebra")
    shown = _count(_select(browser, "#f-level", "5"))
    assert shown == expect("algebra 5", lambda r: r["subject"] == "Algebra" and r["level"] == 5) > 0
    assert "show=" not in browser.js("location.hash") and "subject=Algebra" in browser.js("location.hash")
    _select(browser, "#f-subject", "")
    _select(browser, "#f-level", "")
    shown = _count(_select(browser, "#f-q", "polar"))
    assert shown == expect("search", lambda r: "polar" in r["problem"].lower()) > 0
    _select(browser, "#f-q", "")

    # open a correct sample: reasoning collapsed, final answer highlighted, only this trace inflated
    index = next(i for i, r in enumerate(rows[:25]) if any(r["correct"]))
    row, sample = rows[index], rows[index]["correct"].index(True)
    browser.js(f"document.querySelectorAll('section.problem .head')[{index}].click()")
    browser.js(f"document.querySelector('section.problem.open tr.sample[data-sample=\"{sample}\"]').click()")
    started = time.perf_counter()
    browser.wait("!!document.querySelector('.trace-body')")
    print(f"sample opened in {1000 * (time.perf_counter() - started):.0f} ms")
    opened = browser.js(
        "({mark: document.querySelector('.trace-body mark.answer .tex').dataset.tex, "
        "open: document.querySelector('details.reasoning').open, "
        "shown: document.querySelector('details.reasoning pre').checkVisibility(), "
        "text: document.body.innerText.length, hash: location.hash})"
    )
    assert opened["mark"] == "\\boxed{" + row["gold"] + "}"
    assert opened["open"] is False and opened["shown"] is False  # collapsed: the reasoning is not shown
    assert f"sample={sample}" in opened["hash"]
    browser.js("document.querySelector('details.reasoning summary').click()")
    expanded = browser.js("document.body.innerText.length")
    assert expanded > dom["text"] + 9_000  # the one opened trace (10-20k characters) is now shown
    assert expanded < dom["text"] + 25_000  # and no other
    browser.js("document.querySelector('details.reasoning summary').click()")
    browser.js("window.scrollTo(0, 0)")
    browser.screenshot(ARTIFACTS / "viewer_sample.png")


def test_viewer_deep_link_opens_a_truncated_sample(browser, big_run):
    rows, page = big_run
    index = next(i for i, r in enumerate(rows) if i > 300 and "length" in r["finish_reasons"])
    sample = rows[index]["finish_reasons"].index("length")
    from urllib.parse import quote

    browser.call("Page.navigate", {"url": "about:blank"})
    browser.wait("location.href === 'about:blank'")
    browser.open(f"{page.as_uri()}#problem={quote(rows[index]['id'], safe='')}&sample={sample}")
    browser.wait("!!document.querySelector('.trace-body')")
    state = browser.js(
        "({open: document.querySelector('section.problem.open').dataset.id, "
        "count: document.querySelector('#count').textContent, "
        "badge: document.querySelector('.answer .badge').textContent, "
        "note: document.querySelector('.answer').innerText})"
    )
    assert state["open"] == rows[index]["id"]
    assert state["count"].endswith(f"page {index // 25 + 1} of 20")
    assert state["badge"] == "truncated" and "cut off at the token limit" in state["note"]
    import matplotlib.image

    for name in ("viewer_list.png", "viewer_sample.png"):
        image = matplotlib.image.imread(ARTIFACTS / name)
        assert image.shape[0] >= 800 and image.shape[1] >= 1200 and image.std() > 0.05, name
