"""Math drawn in headless Chromium: the trace viewer, the demo report's traces, the evaluation report.

Real MATH-500 problems, responses written the way R1-style models write (inline and display
LaTeX, ``\\boxed{}``, a dollar amount, formulas that are not valid LaTeX), answers read by the
real extractor (`r1lab.grading.find_answer`). What a reader would check is checked: a known
formula is drawn as a MathML ``math`` element and no raw ``\\frac`` is left visible where it was;
the answer the grader read is highlighted around the drawn formula, with its tier; malformed
LaTeX and "$5 and $10" still read as their text (never an error box); formulas far below the
screen are not drawn until scrolled to; the "show LaTeX source" switch brings the source back.
Screenshots go to test-artifacts/ (the docs' images are copies of them).
"""

from __future__ import annotations

import time

import pytest

from r1lab.data.io import write_jsonl
from r1lab.grading import find_answer

from .conftest import ARTIFACTS

PROBLEM_ID = "test/algebra/2584.json"  # If f(x) = \frac{3x-2}{x-2}, ... f(-2) + f(-1) + f(0)? gold 14/3
MALFORMED = "$\\frac{1}{$"
CURRENCY = "he paid $5 and $10 for them"


def _long_reasoning(paragraphs: int) -> str:
    parts = [
        "Let me compute each term. We have $f(-2) = \\frac{3(-2)-2}{-2-2} = \\frac{-8}{-4} = 2$.",
        f"Careful with the sign: {MALFORMED} that was a typo, and {CURRENCY} is unrelated.",
        "Display form:\n$$f(-1) = \\frac{-5}{-3} = \\frac{5}{3}$$\nand \\(f(0) = \\frac{-2}{-2} = 1\\).",
        "\\[ 2 + \\frac{5}{3} + 1 = \\frac{14}{3} \\]",
    ]
    filler = [
        f"Step {k}: check $x_{{{k}}} = \\sqrt{{{k}}} + \\frac{{{k}}}{{7}}$ again." for k in range(paragraphs)
    ]
    return "<think>\n" + "\n\n".join(parts + filler) + "\n</think>\n\n"


def math_rows() -> list[dict]:
    """Three MATH-500 problems x 2 samples, graded by the real extractor (correct when equal to gold)."""
    from r1lab.data import load_benchmark

    bench = {str(p["id"]): p for p in load_benchmark("math500")}
    ids = [PROBLEM_ID, "test/precalculus/807.json", "test/intermediate_algebra/1994.json"]
    rows = []
    for pid in ids:
        problem = bench[pid]
        gold = str(problem["answer"])
        texts = [
            _long_reasoning(120) + f"Adding up, the sum is $2 + \\frac{{5}}{{3}} + 1$.\n\n"
            f"The final answer is $\\boxed{{{gold}}}$.",
            "<think>\nshort\n</think>\n\nThe answer is $\\frac{7}{2}$, I think.",
        ]
        found = [find_answer(t, finish_reason="stop") for t in texts]
        extracted = [f.answer if f else None for f in found]
        rows.append(
            {
                "id": pid,
                "problem": problem["problem"],
                "gold": gold,
                "generations": texts,
                "extracted": extracted,
                "correct": [x == gold for x in extracted],
                "grade_status": ["ok", "ok"],
                "finish_reasons": ["stop", "stop"],
                "completion_tokens": [len(t) // 4 for t in texts],
                "subject": problem["subject"],
                "level": problem["level"],
            }
        )
    return rows


@pytest.fixture(scope="module")
def math_viewer(tmp_path_factory):
    from r1lab.evaluation.samples import write_viewer_for

    out = tmp_path_factory.mktemp("math-viewer")
    rows = math_rows()
    write_jsonl(out / "details.jsonl", rows)
    return rows, write_viewer_for(out / "details.jsonl", title="MATH-500: math rendering")


def _fresh(browser, url: str) -> None:
    browser.call("Page.navigate", {"url": "about:blank"})
    browser.wait("location.href === 'about:blank'")
    browser.open(url)


VISIBLE_TEXT = "(s => document.querySelector(s).innerText)"


def test_viewer_draws_math_marks_the_answer_and_keeps_bad_latex_as_text(browser, math_viewer):
    from urllib.parse import quote

    rows, page = math_viewer
    row = rows[0]
    assert row["extracted"][0] == row["gold"] == "\\frac{14}{3}" and row["correct"] == [True, False]
    _fresh(browser, f"{page.as_uri()}#problem={quote(PROBLEM_ID, safe='')}&sample=0")
    browser.wait("!!document.querySelector('.answer .tex.done')")

    # the problem statement: \frac{3x-2}{x-2} is a drawn fraction, and no "\frac" is left to read
    problem = browser.js(
        "({fracs: document.querySelectorAll('.ptext math mfrac').length, text: document.querySelector('.ptext').innerText})"
    )
    assert problem["fracs"] >= 1 and "\\frac" not in problem["text"] and "f(-2)" not in problem["text"]
    # the final answer: the graded span is marked, around the drawn \boxed{\frac{14}{3}}, with its tier
    answer = browser.js(
        "(() => { const m = document.querySelector('.answer mark.answer'); return m && {"
        "tex: [...m.querySelectorAll('.tex')].map(t => t.dataset.tex), math: m.querySelectorAll('math menclose, math mfrac').length,"
        "text: document.querySelector('.answer pre').innerText, tier: document.querySelector('tr.sample.open td.tier').innerText,"
        "label: document.querySelector('.answer .label').innerText}; })()"
    )
    assert answer is not None, "no answer highlight"
    assert answer["tex"] == ["\\boxed{\\frac{14}{3}}"] and answer["math"] >= 2
    assert "\\boxed" not in answer["text"] and "\\frac" not in answer["text"]
    assert answer["tier"] == "\\boxed{}" and "\\boxed{}" in answer["label"]
    ARTIFACTS.mkdir(exist_ok=True)
    browser.js("document.querySelector('section.problem.open').scrollIntoView({block: 'start'})")
    browser.screenshot(ARTIFACTS / "viewer_math.png")

    # the reasoning, opened: drawn on screen only; bad LaTeX and dollar amounts read as text
    browser.js("document.querySelector('details.reasoning summary').click()")
    browser.js("document.querySelector('details.reasoning').scrollIntoView({block: 'start'})")
    browser.wait("document.querySelectorAll('details.reasoning .tex.done').length > 5")
    time.sleep(0.3)
    state = browser.js(
        "(() => { const r = document.querySelector('details.reasoning pre');"
        "const all = r.querySelectorAll('.tex'), done = r.querySelectorAll('.tex.done');"
        "const bad = [...r.querySelectorAll('.tex.bad')];"
        "return {all: all.length, done: done.length, bad: bad.map(b => [b.dataset.tex, b.innerText, b.checkVisibility()]),"
        "text: r.innerText, errors: document.querySelectorAll('.katex-error').length,"
        "display: r.querySelectorAll('math[display=block]').length}; })()"
    )
    assert state["all"] > 100 and 0 < state["done"] < state["all"] / 2, state[
        "done"
    ]  # lazily: what is on screen
    assert [b[0] for b in state["bad"]] == ["\\frac{1}{"] and state["bad"][0][1:] == [MALFORMED, True]
    assert state["errors"] == 0  # KaTeX's red error boxes are never shown
    assert CURRENCY in state["text"]  # "$5 and $10" is money, not a formula
    assert "\\frac{-8}{-4}" not in state["text"] and state["display"] >= 2  # $$...$$ and \[...\] as blocks
    browser.screenshot(ARTIFACTS / "viewer_math_reasoning.png")
    # scrolled to the end, the formulas there are drawn too
    browser.js("document.querySelector('details.reasoning pre').scrollTop = 1e9")
    browser.wait(
        "[...document.querySelectorAll('details.reasoning .tex')].slice(-3).every(t => t.classList.contains('done'))"
    )

    # the switch shows the source again, and the URL keeps it
    browser.js("document.querySelector('#f-tex').click()")
    source = browser.js(
        "({text: document.querySelector('.answer pre').innerText, hash: location.hash, "
        "reasoning: document.querySelector('details.reasoning pre').innerText})"
    )
    assert "$\\boxed{\\frac{14}{3}}$" in source["text"] and "tex=src" in source["hash"]
    assert "\\frac{-8}{-4}" in source["reasoning"]
    browser.js("document.querySelector('#f-tex').click()")
    assert "\\boxed" not in browser.js("document.querySelector('.answer pre').innerText")


def test_viewer_marks_an_answer_read_from_a_sentence(browser, math_viewer):
    rows, page = math_viewer
    from urllib.parse import quote

    _fresh(browser, f"{page.as_uri()}#problem={quote(PROBLEM_ID, safe='')}&sample=1")
    browser.wait("!!document.querySelector('.answer .tex.done')")
    found = find_answer(rows[0]["generations"][1])
    shown = browser.js(
        "({tex: [...document.querySelectorAll('.answer mark.answer .tex')].map(t => t.dataset.tex),"
        "mark: document.querySelector('.answer mark.answer').innerText,"
        "badge: document.querySelector('.answer .badge').innerText, tier: document.querySelector('tr.sample.open td.tier').innerText})"
    )
    assert found.tier == "answer_is" and shown["tex"] == ["\\frac{7}{2}"]
    assert shown["mark"].startswith("answer is") and shown["badge"] == "wrong"
    assert shown["tier"] == '"the answer is"'


def test_demo_report_and_evaluation_report_draw_math(browser, tmp_path):
    """The demo report's trace section (pick_traces + trace_html, the report's own CSS) and an
    evaluation report.html, each with math on: drawn fractions, the marked answer, the bad formula's text."""
    from r1lab.demo.config import MODELS
    from r1lab.demo.report.pages import _css
    from r1lab.demo.report.traces import pick_traces, trace_html
    from r1lab.demo.stages import Paths
    from r1lab.report.render import HtmlPage

    rows = math_rows()
    paths = Paths(tmp_path / "demo")
    for number, name in enumerate(MODELS):
        model_rows = []
        for row in rows:
            short = dict(row)
            said = row["gold"] if number else "\\frac{7}{2}"  # the cold start is wrong everywhere
            text = (
                f"<think>\nFirst $f(-2) = \\frac{{-8}}{{-4}} = 2$; {MALFORMED} oops; {CURRENCY}.\n</think>\n\n"
                f"So the total is $\\boxed{{{said}}}$."
            )
            found = find_answer(text)
            short.update(
                generations=[text],
                extracted=[found.answer],
                correct=[found.answer == row["gold"]],
                finish_reasons=["stop"],
            )
            model_rows.append(short)
        write_jsonl(paths.eval_details(name), model_rows)
    traces = pick_traces(paths, 2, MODELS)
    assert traces and all(r["span"] and r["tier"] == "boxed" for t in traces for r in t["responses"].values())
    page = HtmlPage("r1lab demo: sample traces", css=_css(), math=True)
    page.heading("Sample traces")
    for trace in traces:
        page.raw(trace_html(trace))
    report = page.write(tmp_path / "demo_report.html")
    _fresh_static(browser, report.as_uri())
    browser.wait("document.querySelectorAll('.tex.done').length > 0")
    demo = browser.js(
        "({fracs: document.querySelectorAll('.trace math mfrac').length, marks: document.querySelectorAll('.trace mark.answer .tex.done').length,"
        "text: document.querySelector('.trace').innerText, bad: [...document.querySelectorAll('.tex.bad')].map(b => b.innerText),"
        "errors: document.querySelectorAll('.katex-error').length})"
    )
    assert demo["fracs"] >= 3 and demo["marks"] == 3 * 2  # every response's answer marked, around drawn math
    assert "\\frac" not in demo["text"].replace(MALFORMED, "") and CURRENCY in demo["text"]
    assert demo["bad"] and set(demo["bad"]) == {MALFORMED} and demo["errors"] == 0
    browser.screenshot(ARTIFACTS / "demo_report_math.png")

    # the evaluation report: the problems no sample solved, drawn
    from r1lab.evaluation.reporting import write_benchmark_report

    results = {
        "benchmark": "math500",
        "model": "synthetic",
        "metrics": {"pass@1": 0.5, "pass@1_stderr": 0.1},
        "sampling": {"temperature": 0.6, "top_p": 0.95, "max_tokens": 32768, "prompt_template": "{problem}"},
        "num_problems": 3,
        "num_samples": 2,
    }
    unsolved = [dict(r, correct=[False, False], extracted=["\\frac{7}{2}", "3"]) for r in rows]
    out = write_benchmark_report(tmp_path / "eval", results, unsolved)
    _fresh_static(browser, out["html"].as_uri())
    assert browser.js("document.querySelectorAll('.tex.done').length") == 0  # the section is off screen
    browser.js("document.querySelector('.missed').scrollIntoView({block: 'start'})")
    browser.wait("document.querySelectorAll('.missed .tex.done').length > 0")
    time.sleep(0.2)
    browser.screenshot(ARTIFACTS / "evaluation_report_math.png")
    evaluation = browser.js(
        "({fracs: document.querySelectorAll('.missed math mfrac').length, n: document.querySelectorAll('.missed').length,"
        "text: [...document.querySelectorAll('.missed')].map(m => m.innerText).join('\\n'),"
        "toggle: !!document.querySelector('#tex-source')})"
    )
    assert evaluation["n"] == 3 and evaluation["fracs"] >= 3 and evaluation["toggle"]
    assert "\\frac" not in evaluation["text"]
    browser.js("document.querySelector('#tex-source').click()")
    assert "\\frac{7}{2}" in browser.js(
        "[...document.querySelectorAll('.missed')].map(m => m.innerText).join()"
    )


def _fresh_static(browser, url: str) -> None:
    """Open a static report (no viewer 'ready' flag): wait for the math script to have run."""
    browser.call("Page.navigate", {"url": "about:blank"})
    browser.wait("location.href === 'about:blank'")
    browser.call("Page.navigate", {"url": url})
    browser.wait(
        "document.readyState === 'complete' && document.body && document.body.dataset.math === '1'", 60
    )
