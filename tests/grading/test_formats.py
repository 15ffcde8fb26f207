"""Response formats, answerless responses and final sentences (issue #24), as tables.

``NEW_RULES`` rows were all misgraded by r1lab 5fb97eb (checked by running them through it);
``KEPT_RULES`` are the neighbouring cases that must not change with them. Every row:
(gold, response, problem, finish_reason, expected outcome, why).
"""

from __future__ import annotations

import json

import pytest

from r1lab.formats import FORMATS, chat_bounds, detect_format, get_format, split_sections
from r1lab.grading import STATUS_NO_ANSWER, grade_many
from r1lab.grading.extract import TIERS, find_answer
from r1lab.grading.rows import GRADE_COLUMNS, grade_fields, grade_samples, row_finish_reasons

#: About 1,500 characters of reasoning: a long response, where no body number is an answer.
LONG = "Let me work through this carefully, one step at a time. " * 27
THOUGHT = "<|begin_of_thought|>\n\nMaybe it is \\boxed{5}? " + LONG + "\n\n<|end_of_thought|>\n\n"
TORA = (
    "```python\ndef accepted():\n    return int(12 * 0.5 * 1 / 3)\n\nprint(accepted())\n```\n"
    "```output\n2\n```\n"
)

NEW_RULES = [
    # ---- formats: the answer section first
    (
        "7",
        THOUGHT + "<|begin_of_solution|>\n\nSo the total is \\boxed{7}.\n\n<|end_of_solution|>",
        None,
        None,
        "correct",
        "Sky-T1: the solution, not a box tried in the thought",
    ),
    (
        "7",
        THOUGHT + "<|begin_of_solution|>\n\nThe answer is \\boxed{7}.<|end_of_solution|><|im_end|>",
        None,
        None,
        "correct",
        "Sky-T1 with a ChatML end token after the solution",
    ),
    (
        "3",
        "<|begin_of_thought|>\n\n" + LONG + "so the answer is 3? Let me check",
        None,
        None,
        "no_answer",
        "Sky-T1 cut off in its thought (never closed): no stated answer",
    ),
    (
        "7",
        THOUGHT.replace("\\boxed{5}", "\\boxed{7}") + "<|begin_of_solution|>\n\nWe compute 3 + 4 =",
        None,
        "length",
        "no_answer",
        "Sky-T1 cut off in its solution: a box tried in the thought is not stated",
    ),
    (
        "9",
        "<think>" + LONG + "</think>\n\n" + LONG + "Therefore, the number of divisors of 196 is 9.",
        None,
        None,
        "correct",
        "R1: a long answer section ending in a result sentence",
    ),
    (
        "9",
        LONG + "</think>\n\n**Final Answer**\n\nThe number of divisors is nine.",
        None,
        None,
        "correct",
        "QwQ: pre-filled <think>, a Final Answer heading, a number word",
    ),
    (
        "21",
        "We count the students in each group. " + LONG + "\n\n**Final Answer**\n\nTwenty-one students.",
        None,
        None,
        "correct",
        "Final Answer heading: the section under it, a number word",
    ),
    (
        "100",
        "We use $d = \\frac{1}{p}$ with the parallax $p$. " + LONG + "The distance is 100 parsecs.",
        None,
        None,
        "correct",
        "plain: the result sentence, not the formula stated earlier",
    ),
    (
        "2",
        TORA + "Two people accept the position.",
        None,
        None,
        "correct",
        "ToRA: the sentence after the output",
    ),
    (
        "3",
        LONG + "Since $f(x)^3$ has degree 9, the degree of \\(f(x)\\) is 3.",
        None,
        None,
        "correct",
        "plain: '... is 3.' at any length, not the math span f(x)",
    ),
    # ---- final sentences of any length, number words
    (
        "9",
        LONG + "Therefore, the number of trailing zeros in 42! is 9.\n\nI think that's the answer.",
        None,
        None,
        "correct",
        "a closing remark after the result sentence",
    ),
    ("21", LONG + "So there are twenty-one students in the club.", None, None, "correct", "number words"),
    ("20", LONG + "The total is twenty.", None, None, "correct", "number words up to twenty"),
    ("\\frac{2}{3}", LONG + "The probability is two thirds.", None, None, "correct", "a fraction in words"),
    ("2", LONG + "Two people accept the position.", None, None, "correct", "a counted subject"),
    (
        "18",
        LONG + "So, the greater of the two integers is 18. Let me verify: our answer is correct.",
        None,
        None,
        "correct",
        "'our answer is correct' judges; the conclusion before it states",
    ),
    (
        "6",
        "If the answer is 12 when x is doubled, what is x? Halving 12, x = 6.",
        "If the answer is 12 when x is doubled, what is x?",
        None,
        "correct",
        "an 'answer is' sentence copied from the problem is not the conclusion",
    ),
    # ---- no credit for what the response did not answer
    (
        "x+1",
        "We need to simplify $\\frac{x^2-1}{x-1}$.\n\n\\boxed{}\n\n\\boxed{}",
        "Simplify $\\frac{x^2-1}{x-1}$ for $x > 1$.",
        None,
        "no_answer",
        "empty boxes after the restated expression",
    ),
    (
        "x+1",
        "We need to simplify $\\frac{x^2-1}{x-1}$.\n\n\\boxed{}",
        None,
        None,
        "no_answer",
        "empty boxes: no answer even without the problem text",
    ),
    (
        "70",
        "Compute it: \\boxed{\\dbinom{8}{4}}",
        "Compute $\\dbinom{8}{4}$.",
        None,
        "no_answer",
        "a box holding the problem's own expression",
    ),
    (
        "x+1",
        "The answer is $\\frac{x^2 - 1}{x - 1}$.",
        "Simplify $\\frac{x^2-1}{x-1}$.",
        None,
        "no_answer",
        "the problem's expression restated (spacing aside)",
    ),
    (
        "5",
        "\\boxed{5}. Put your final answer within \\boxed{}.",
        None,
        None,
        "correct",
        "an empty box echoed",
    ),
    (
        "15",
        LONG + "Therefore, the polygon has 15 sides.\n\nI think that's the correct answer.",
        None,
        None,
        "correct",
        "has",
    ),
    (
        "90",
        LONG + "So the number of combinations is indeed 90.",
        None,
        None,
        "correct",
        "a qualifier before it",
    ),
]

# ---- issue 24, round 2: rows from the real-output corpus (tests/grading/corpus), each misgraded at 72b9c38
CORPUS_RULES = [
    (
        "17",
        LONG
        + "Given that, the answer should be x + y = 17.\n\nBut I'm not sure.\n\n"
        + LONG
        + "Alternatively",
        None,
        None,
        "no_answer",
        "cut off (stops on 'Alternatively', finish reason unknown): a tentative 'answer should be' is not stated",
    ),
    (
        "24",
        "So, the correct answer should be 24.\n\nWait, let me check. "
        + LONG
        + "p(0) + p(4) = 24 - 12*(-6) = 24 +",
        None,
        None,
        "no_answer",
        "cut off on an operator: no stated answer",
    ),
    (
        "3",
        "So, three common digits.\n\nTherefore, the answer should be three.\n\nWait, "
        + LONG
        + "413 (base 5) is",
        None,
        None,
        "no_answer",
        "cut off on a word no sentence ends with: a tentative 'answer should be' is not stated",
    ),
    (
        "1",
        THOUGHT + "I think the maximum value is 1.\n\n<|end_of_thought|>\n\n<|begin_of_solution|>\n\n"
        "We compute the partial derivatives:\n\n1.",
        None,
        None,
        "no_answer",
        "a solution section opened and never closed is cut off, whatever the finish reason says",
    ),
    (
        "1,-2",
        "<|begin_of_thought|>\n\n"
        + LONG
        + "\n\n**Final Answer**\n\n\\[ \\boxed{-2,1} \\]\n\n<|end_of_thought|>"
        "\n\n<|begin_of_solution|>\n\nTo solve the functional equation \n\n\\[f(x",
        None,
        None,
        "correct",
        "solution cut off after a thought that closed with its own Final Answer: that answer was stated",
    ),
    # ---- final sentences: read at any length, past closing remarks and comment clauses
    (
        "4",
        LONG + "So, no matter which way I approach it, I end up with 4 inches per second.\n\n"
        "I think that's the correct answer.",
        None,
        None,
        "correct",
        "a concluding sentence's one number",
    ),
    (
        "1940",
        LONG + "Both methods agree, so I'm confident that 1940 is the correct number of ways to form it.",
        None,
        None,
        "correct",
        "a value confirmed as the correct number",
    ),
    (
        ".35625",
        LONG
        + "Therefore, 57/160 is indeed 0.35625, which is a terminating decimal.\n\nI think that's the answer.",
        None,
        None,
        "correct",
        "a comment clause after the result is set aside",
    ),
    (
        "550",
        LONG + "So, based on the information given, Karla would have saved 550 gallons of gasoline last year "
        "by driving the hybrid car instead of the SUV.",
        None,
        None,
        "correct",
        "a concluding sentence with one number, whatever its verb",
    ),
    (
        "10",
        LONG
        + "So \\(0.556 \\times 18 \\approx 10.008\\).\n\nSo, in conclusion, the 8th grade should have 10 "
        "representatives for there to be a fair representation.",
        None,
        None,
        "correct",
        "an ordinal is a name, not a second number; the sentence after the math wins",
    ),
    (
        "4",
        "<|begin_of_thought|>\n\nShort.\n\n<|end_of_thought|>\n\n<|begin_of_solution|>\n\n" + LONG + "\n\n"
        "A proton has 2 up quarks.\n\nThus, the tritium nucleus contains **4 up quarks**. \n\n<|end_of_solution|>",
        None,
        None,
        "correct",
        "a bold result in the solution's final sentence",
    ),
    (
        "3",
        LONG
        + "The remainder when $(n + 2)(n + 4)(n + 6)$ is divided by 7, given that $n \\equiv 2 \\pmod{7}$, "
        "is 3.\n\nThis problem demonstrates the application of modular arithmetic.",
        "If $n \\equiv 2 \\pmod{7}$, then find the remainder when $(n + 2)(n + 4)(n + 6)$ is divided by 7.",
        None,
        "correct",
        "the result after a restated condition; a closing remark about the problem is skipped",
    ),
    (
        "22",
        LONG + "The conjugate is \\(5 - \\sqrt{3}\\).\n\nSo, overall, I'm confident that the product is 22. "
        "It's a simple application of the difference of squares formula, and the expansion confirms the result.",
        None,
        None,
        "correct",
        "'confident that ... is 22' states the answer; the remark after it does not replace it",
    ),
    (
        "4",
        LONG + "So, \\(x = 4\\) is indeed the correct solution.\n\nI don't think there are any other steps "
        "needed. It is straightforward once you recognize that 10 to the power of 4 is 10000.",
        None,
        None,
        "correct",
        "a value confirmed as the correct solution, not a later aside's number",
    ),
    (
        "78",
        LONG + "So \\(\\text{Profit} = 93 - 15 = 78 \\text{ dollars}\\).\n\nProfit: $93 - $15 = $78.\n\n"
        "Everything seems to add up correctly. I think that's the right answer.",
        None,
        None,
        "correct",
        "the final statement's result after closing remarks",
    ),
    (
        "3",
        LONG + "Therefore, I'm confident that the answer is three boxes contain neither pens nor pencils.",
        None,
        None,
        "correct",
        "an answer that opens with a number word",
    ),
    (
        "5",
        TORA.replace("2\n", "5\n") + "5 cars drove through the jam in the first 15 minutes.",
        None,
        None,
        "correct",
        "ToRA: the count opening the sentence, not a restated quantity",
    ),
    (
        "3",
        TORA.replace("2\n", "3.0\n") + "Three trucks will be needed to transport 80 flagstones.",
        None,
        None,
        "correct",
        "ToRA: a number word opening the sentence",
    ),
    (
        "16",
        TORA.replace("2\n", "16.0\n") + "16 people think that horse #12 will win the big race.",
        None,
        None,
        "correct",
        "ToRA: the count, not the horse's number",
    ),
    # ---- labels, summaries, several boxes, units and conditions
    (
        "3",
        LONG + "So, the equilibrium quantity is 3 bushels.\n\n$Q^D \\neq Q^S$ before trade.\n\n"
        "**Final answer for Subproblem 1:** 3 bushels",
        None,
        None,
        "correct",
        "a Final answer label naming the part it answers",
    ),
    (
        "700",
        LONG + "**Final answer: 700°C**\n\nI hope these answers are correct.",
        None,
        None,
        "correct",
        "a temperature's scale letter is a unit",
    ),
    (
        "84.01",
        LONG + "So, to summarize:\n\n- NH₄OH: 35.06 g/mol\n\n- NaHCO₃: 84.01 g/mol\n\n"
        "I think that's it. Let me know if you have any other questions.",
        None,
        None,
        "correct",
        "the last item of a closing summary list (the part asked last)",
    ),
    (
        "11000",
        LONG + "\\[ \\text{NCP} = 15,000 - 4,000 = 11,000 \\text{ kcal} \\]\n\nThus, the final answers are:\n"
        "- Net Primary Productivity (NPP) = 15,000 kcal m⁻² yr⁻¹\n- Net Community Production (NCP) = 11,000 kcal m⁻² yr⁻¹",
        None,
        None,
        "correct",
        "a 'final answers are' list: its last item, units and all",
    ),
    (
        "\\text{(B)}",
        "The equation with the largest solution is \\(\\textbf{(B)}\\).\n\nTherefore, the final answer is "
        "\\(\\boxed{\\textbf{(B)}}\\).",
        "Which equation has the largest solution $x$? $\\textbf{(A)}\\ 3(1 + r)^x = 7\\qquad \\textbf{(B)}\\ "
        "3(1 + r/10)^x = 7$",
        None,
        "correct",
        "a choice letter copied from the problem is an answer, not a restatement",
    ),
    (
        "4",
        LONG + "**Final Answer**\n\n\\[ \\boxed{\\text{Yes}} \\] \n\n\\[ \\boxed{4} \\]",
        None,
        None,
        "correct",
        "a yes/no verdict boxed beside the value: the value answers a numeric gold",
    ),
    (
        "\\frac{1}{4-\\omega^{2}}",
        LONG + "Therefore, the solution is:\n\\[\n\\boxed{A = \\frac{1}{4 - \\omega^2}, \\quad \\text{for } "
        "\\omega^2 \\neq 4}\n\\]",
        None,
        None,
        "correct",
        "an exclusion after the answer is implied by it",
    ),
    (
        "\\sqrt{2} \\cos (2 t-\\pi / 4)",
        LONG
        + "Thus, the final answer is:\n\\[\n\\boxed{f(t) = \\sqrt{2} \\cos(2t - 45^\\circ)}\n\\] \nor \n\\[\n"
        "\\boxed{f(t) = \\sqrt{2} \\cos\\left(2t - \\frac{\\pi}{4}\\right)}\n\\]",
        None,
        None,
        "correct",
        "one answer boxed in degrees and in radians: a trig argument's degrees are an angle",
    ),
    (
        "-1./3",
        "So the slope is \\boxed{-\\frac{1}{3}}.",
        None,
        None,
        "correct",
        "a gold float literal's trailing dot",
    ),
    (
        "4343_6",
        "In base 6 that is \\boxed{4343}.",
        None,
        None,
        "correct",
        "a base-6 gold answered in its digits",
    ),
    (
        "1250",
        LONG + "Therefore, my calculation should be correct.\n\nI think $1250 is the right answer.",
        None,
        None,
        "correct",
        "a currency sign is not an open math environment: the response is complete",
    ),
]

KEPT_RULES = [
    (
        "100",
        "We use $d = \\frac{1}{p}$ with the parallax $p$. "
        + LONG
        + "\n\n**Final Answer**\n\nThe distance is 100 parsecs.",
        None,
        None,
        "correct",
        "Final Answer heading: the sentence, not the formula stated earlier",
    ),
    ("70", "Compute it: \\boxed{70}", "Compute $\\dbinom{8}{4}$.", None, "correct", "the computed value"),
    (
        "2^{100}",
        "\\boxed{2^{100}}",
        "Which is larger, $2^{100}$ or $3^{60}$?",
        None,
        "correct",
        "choosing one of the problem's expressions, when the gold is one",
    ),
    (
        "2",
        "\\boxed{2}",
        "Find the remainder when $2^{100}$ is divided by 7.",
        None,
        "correct",
        "a plain value",
    ),
    (
        "\\frac{1}{4-\\omega^{2}}",
        "\\boxed{A = \\frac{1}{4 - \\omega^2} \\text{ for } \\omega < 2}",
        None,
        None,
        "wrong",
        "a restriction (not an exclusion) is part of the answer",
    ),
    (
        "\\text{Yes}",
        "\\boxed{\\text{No}} \\boxed{4}",
        None,
        None,
        "wrong",
        "the verdict part answers a yes/no gold",
    ),
    ("4343_6", "\\boxed{4343_7}", None, None, "wrong", "digits in another base are another number"),
    ("30", "The angle is \\boxed{30^\\circ}.", None, None, "correct", "a bare angle keeps its degrees"),
    ("7", LONG + "So far 3 + 4 = 7", None, None, "no_answer", "a sentence cut off mid-way is not a result"),
    ("7", "3 + 4 = 7.\n\nLet me know if you need anything else!", None, None, "no_answer", "only the final"),
    ("5", "<think>\\boxed{5}</think>", None, None, "no_answer", "a closed think is never searched"),
    ("4", LONG + "\\boxed{4} and then more", "length", None, "correct", "a stated box in a cut-off trace"),
]


def _outcomes(rows):
    golds, responses, problems, reasons, _, _ = zip(*rows, strict=True)
    grades = grade_many(list(responses), list(golds), finish_reasons=list(reasons), problems=list(problems))
    return [
        STATUS_NO_ANSWER if g.status == STATUS_NO_ANSWER else ("correct" if g.correct else "wrong")
        for g in grades
    ], grades


@pytest.mark.parametrize("table", ["new", "kept", "corpus"])
def test_rules(table):
    rows = {"new": NEW_RULES, "kept": KEPT_RULES, "corpus": CORPUS_RULES}[table]
    outcomes, grades = _outcomes(rows)
    mismatches = [
        (row[5], f"expected {row[4]}, got {got} (extracted {g.extracted!r}, tier {g.tier})")
        for row, got, g in zip(rows, outcomes, grades, strict=True)
        if got != row[4]
    ]
    assert not mismatches


# (response, format name it is detected as, the answer section's text)
FORMAT_ROWS = [
    ("<think>a</think> B", "deepseek-r1", "B"),
    ("a</think> B", "deepseek-r1", "B"),
    ("<|begin_of_thought|>a<|end_of_thought|><|begin_of_solution|>B<|end_of_solution|>", "sky-t1", "B"),
    ("a</think>\n**Final Answer**\nB", "qwq", "B"),
    ("a\n\n**Final Answer**\n\nB", "final-answer", "B"),
    ("a\n## Final Answer:\nB", "final-answer", "B"),
    ("```python\nprint(1)\n```\n```output\n1\n```\nB", "tora", "B"),
    ("a. B", "plain", "a. B"),
]


@pytest.mark.parametrize(("response", "name", "answer"), FORMAT_ROWS)
def test_formats_are_detected_and_split(response, name, answer):
    assert detect_format(response).name == name
    sections = split_sections(response)
    assert response[sections.answer[0] : sections.answer[1]].strip() == answer


def test_every_format_is_in_the_table_tests():
    assert {row[1] for row in FORMAT_ROWS} == set(FORMATS)
    assert get_format("openthoughts") is FORMATS["sky-t1"] and get_format("auto") is None


@pytest.mark.parametrize(
    ("response", "kept"),
    [
        ("<|begin_of_thought|>x<|end_of_thought|>", "<|begin_of_thought|>x<|end_of_thought|>"),
        ("A<|im_end|>\n<|im_start|>user\nB", "A"),
        ("<|im_start|>assistant\nA<|endoftext|>B", "assistant\nA"),
        ("A<|eot_id|><|start_header_id|>user<|end_header_id|>B", "A"),
        ("A<｜end▁of▁sentence｜><｜User｜>B", "A"),
        ("A<end_of_turn>\n<start_of_turn>user B", "A"),
        ("A</s>[INST] B [/INST]", "A"),
        ("A <|step_3|> B", "A <|step_3|> B"),
    ],
)
def test_chat_tokens_by_name(response, kept):
    start, end = chat_bounds(response)
    assert response[start:end] == kept


# (response, format, answer, tier, the text of the answer's span)
TIER_ROWS = [
    ("so \\boxed{3}.", "auto", "3", "boxed", "\\boxed{3}"),
    ("#### 12", "auto", "12", "gsm8k", "#### 12"),
    (
        "Final Answer: The largest $n$ is 34.",
        "auto",
        "34",
        "final_answer",
        "Final Answer: The largest $n$ is 34",
    ),
    ("so the answer is $x^2$ here", "auto", "x^2", "answer_is", "answer is $x^2$"),
    ("so $\\frac{1+\\sqrt5}{2}$", "auto", "\\frac{1+\\sqrt5}{2}", "latex", "$\\frac{1+\\sqrt5}{2}$"),
    (LONG + "The distance is 100 parsecs.", "auto", "100", "sentence", "100"),
    (LONG + "There are nine of them.", "auto", "9", "sentence", "nine"),
    ("temperature fell to -5", "auto", "-5", "number", "-5"),
    (THOUGHT + "<|begin_of_solution|>\\boxed{7}<|end_of_solution|>", "sky-t1", "7", "boxed", "\\boxed{7}"),
    # the format named: a think-format reading of a Sky-T1 response has no reasoning to skip
    (THOUGHT + "<|begin_of_solution|>so<|end_of_solution|>", "deepseek-r1", "5", "boxed", "\\boxed{5}"),
]


@pytest.mark.parametrize(("response", "fmt", "answer", "tier", "span_text"), TIER_ROWS)
def test_tiers_and_spans(response, fmt, answer, tier, span_text):
    found = find_answer(response, response_format=fmt)
    assert (found.answer, found.tier) == (answer, tier)
    assert response[found.span[0] : found.span[1]] == span_text


def test_every_tier_is_tested():
    assert {row[3] for row in TIER_ROWS} == set(TIERS)


def test_finish_reasons_one_rule():
    assert row_finish_reasons(["stop", "length"], 3) == ["stop", "length", None]
    assert row_finish_reasons(["stop", "length", "stop"], 2) == ["stop", "length"]
    assert row_finish_reasons("length", 1) == ["length"]
    assert row_finish_reasons("length", 2) == [None, None]
    assert row_finish_reasons(None, 2) == [None, None]


def test_grade_samples_regroups_and_writes_tiers_and_spans():
    samples = [["\\boxed{1}", LONG + "so far 1 + 1 = 2"], ["The answer is \\boxed{\\dbinom{8}{4}}."]]
    graded = grade_samples(
        samples,
        ["1", "70"],
        finish_reasons=[["stop"], None],
        problems=["What is 1?", "Compute $\\dbinom{8}{4}$."],
    )
    assert [len(g) for g in graded] == [2, 1]
    first, second = grade_fields(graded[0]), grade_fields(graded[1])
    assert set(first) == set(GRADE_COLUMNS)
    assert first["correct"] == [True, False] and first["grade_status"] == ["ok", "no_answer"]
    assert first["answer_tiers"] == ["boxed", None] and first["answer_spans"] == [[0, 9], None]
    assert second["grade_status"] == ["no_answer"] and second["answer_tiers"] == ["restated"]
    span = second["answer_spans"][0]
    assert samples[1][0][span[0] : span[1]] == "\\boxed{\\dbinom{8}{4}}"
    json.dumps(first)


def test_grade_file_takes_a_format_and_the_problem(tmp_path):
    from r1lab.grading import GradeConfig, grade_file

    rows = [
        {
            "problem": "Compute $\\dbinom{8}{4}$.",
            "answer": "70",
            "generations": ["\\boxed{\\dbinom{8}{4}}", "\\boxed{70}"],
        },
        {
            "problem": "p",
            "answer": "7",
            "generations": [THOUGHT + "<|begin_of_solution|>\\boxed{7}<|end_of_solution|>"],
        },
    ]
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out.jsonl"
    grade_file(GradeConfig(input=str(source), output=str(out), format="sky-t1"))
    graded = [json.loads(line) for line in out.read_text().splitlines()]
    assert graded[0]["grade_status"] == ["no_answer", "ok"] and graded[0]["correct"] == [False, True]
    assert graded[1]["correct"] == [True] and graded[1]["answer_tiers"] == ["boxed"]
    with pytest.raises(Exception, match="unknown response format"):
        GradeConfig(input="a", output="b", format="nonsense")


def test_accuracy_reward_passes_the_problem():
    from r1lab.rewards.math import AccuracyReward

    reward = AccuracyReward(workers=0)
    completions = ["\\boxed{\\dbinom{8}{4}}", "\\boxed{70}"]
    problem = "Compute $\\dbinom{8}{4}$."
    assert reward(completions, answer=["70", "70"], problem=[problem, problem]) == [0.0, 1.0]
    assert reward(completions, answer=["70", "70"]) == [1.0, 1.0]  # without the problem: not seen
