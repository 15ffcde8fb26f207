"""Every grading rule in one place, as rows of (gold, response, expected outcome, why).

Written the way Math-Verify's own tests are: one table, one row per behaviour, the reason next to
it. ``expected`` is "correct", "wrong" (an answer was found and it is not the gold) or
"no_answer" (the response states no final answer: never credited). The first block is the
issue's list of real misgradings (#13); `TIER_ROWS` pins which extraction tier reads what.
"""

from __future__ import annotations

import pytest

from r1lab.grading import STATUS_NO_ANSWER, STATUS_OK, grade_many
from r1lab.grading.extract import TIERS, find_answer

LONG_REASONING = "Let me think about this step by step. " * 40  # ~1,500 characters: a long response
#: A long chain of thought cut off mid-sentence, whose last number (7) happens to equal the gold.
TRUNCATED_TRACE = LONG_REASONING + "So far 3 + 4 = 7"

# (gold, response, finish_reason, expected, why)
RULES = [
    # ---- issue #13: credited although no answer is there
    ("2", "$\\frac{1+\\sqrt5}{2}$", None, "wrong", "bare LaTeX is read whole, not digit-first"),
    ("2", "the answer is $x^2$", None, "wrong", "the math after 'answer is', not its exponent"),
    ("2", "$\\sqrt{2}$", None, "wrong", "sqrt(2) is not 2"),
    ("3", "$3\\pi$", None, "wrong", "3*pi is not 3"),
    ("3", "10^{3}", None, "wrong", "a power is read whole: 1000"),
    ("1", "$-[0,1)$", None, "wrong", "an interval expression is not its endpoint"),
    ("7", TRUNCATED_TRACE, "length", "no_answer", "cut off: the last number is not an answer"),
    ("7", "<think>" + TRUNCATED_TRACE, None, "no_answer", "an unclosed <think> is a cut-off trace"),
    ("7", TRUNCATED_TRACE, None, "no_answer", "never a plain number from the body of a long response"),
    # ---- issue #13: right answers written the way people write them
    ("35", "35.0\\%", None, "correct", "a percentage with a zero fraction, like 35\\%"),
    ("35", "\\boxed{35.0\\%}", None, "correct", "the same, boxed"),
    ("35.5", "\\boxed{35.5\\%}", None, "correct", "a decimal percentage against its number"),
    ("12", "12^{\\mathrm{th}} \\text{ grade}", None, "correct", "ordinal and unit words"),
    ("12", "\\boxed{12^{\\mathrm{th}} \\text{ grade}}", None, "correct", "the same, boxed"),
    ("\\text{4:30 p.m.}", "4:30 \\text{ p.m.}", None, "correct", "a time of day, not the ratio 4/30"),
    ("\\text{4:30 p.m.}", "\\boxed{4:30 \\text{ p.m.}}", None, "correct", "the same, boxed"),
    ("\\text{4:30 p.m.}", "\\boxed{4:30 \\text{ a.m.}}", None, "wrong", "a.m. is not p.m."),
    ("34", "Final Answer: The largest $n$ is 34.", None, "correct", "the final token sequence, not the line"),
    (
        "12000023",
        "The final answer is 12,000,023. I hope it is correct. <|im_start|>user",
        None,
        "correct",
        "thousands separators; the Minerva suffix and chat junk are cut",
    ),
    (
        "12000023",
        "The final answer is 12,000,023. I hope it is correct.<|im_end|>\n<|im_start|>user\n"
        "What is 2+2?<|im_end|>\n<|im_start|>assistant\n\\boxed{4}",
        None,
        "correct",
        "chat junk anywhere after the answer ends the response: its box is not the answer",
    ),
    ("\\boxed{1} and \\boxed{-2}", "\\boxed{-2, 1}", None, "correct", "a gold with several boxes is a set"),
    ("\\boxed{1} and \\boxed{-2}", "\\boxed{1}", None, "wrong", "one element of the set is not the set"),
    (
        "\\boxed{1} and \\boxed{-2}",
        "$x = \\boxed{1}$ or $x = \\boxed{-2}$",
        None,
        "correct",
        "boxes of one statement",
    ),
    ("0.111", "0,111", None, "correct", "a decimal comma, as math-verify reads plain numbers"),
    ("111", "0,111", None, "wrong", "0,111 is never cleaned into 111"),
    # ---- tiers: boxed / #### / final answer / answer is / latex / number
    ("6", "<think>it is \\boxed{5}?</think>\n\nNo: \\boxed{6}", None, "correct", "only after </think>"),
    (
        "5",
        "<think>it is \\boxed{5}?</think>\n\nNo: \\boxed{6}",
        None,
        "wrong",
        "a dropped box is not the answer",
    ),
    (
        "\\frac{1}{2}",
        "first \\boxed{3}, and finally \\boxed{\\frac12}",
        None,
        "correct",
        "the last statement's box",
    ),
    ("18", "She makes 9 * 2 = $18 a day.\n#### 18", None, "correct", "GSM8K marker"),
    (
        "10455",
        "\\boxed{200} then \\boxed{255}. Final Answer: The final answer is $10,455$.",
        None,
        "correct",
        "a final-answer statement after the boxes is the last word",
    ),
    ("5", "Final Answer: The final answer is: \\( x = 5 \\)", None, "correct", "x = 5 against 5"),
    (
        "3",
        "Final Answer: Jane started growing Sphere 3 hours ago.",
        None,
        "correct",
        "the number in the words",
    ),
    ("5", "Final Answer: 5 because it is the only even prime.", None, "correct", "what opens the sentence"),
    ("\\{2, 3\\}", "Final Answer: 2 and 3", None, "correct", "numbers joined by 'and' are a set"),
    ("2", "Final Answer: 2 and 3", None, "wrong", "a set of two is not one of them"),
    ("17", "**Answer:** 17", None, "correct", "markdown label"),
    ("18", "Answer: $18", None, "correct", "a lone $ is currency"),
    ("\\frac{3}{4}", "The final answer is $0.75$. I hope it is correct.", None, "correct", "Minerva format"),
    ("5", "So the answer is 5.", None, "correct", "'answer is' anchor"),
    ("12", "He pays 3 + 4 = 7 dollars, and then 12 more.", None, "correct", "short answer: final sentence"),
    (
        "7",
        "3 + 4 = 7.\n\nLet me know if you need anything else!",
        None,
        "no_answer",
        "only the final sentence",
    ),
    ("\\frac{2}{3}", "So P(A) = (1/2) / (3/4). The probability is 2/3.", None, "correct", "a plain fraction"),
    ("2", "We found $x = 1$ and $y = 2$ in the end, then $z=3$.", None, "wrong", "the last math span"),
    ("\\{1,2\\}", "The roots are $1$ and $2$", None, "correct", "spans joined by 'and' are a set"),
    (
        "18",
        "Janet sells 16 - 3 - 4 = 9 eggs. She makes 9 * $2 = $18.",
        None,
        "correct",
        "dollars are not math",
    ),
    (
        "18",
        "Each costs $2. She makes 9 * 2 = 18 dollars",
        None,
        "correct",
        "a later number beats earlier math",
    ),
    ("5", "\\boxed{5}\n\nThis is the final answer: we are done.", None, "correct", "prose after a box"),
    # ---- cut off, but the answer was stated
    (
        "4",
        LONG_REASONING + "\\boxed{4} and then more thinking",
        "length",
        "correct",
        "a stated box still counts",
    ),
    (
        "4",
        LONG_REASONING + "The final answer is 4. Now, to double",
        "length",
        "correct",
        "a stated final answer",
    ),
    (
        "4",
        LONG_REASONING + "so the answer is 4? Let me",
        "length",
        "no_answer",
        "'answer is' mid-thought is not stated",
    ),
    ("4", LONG_REASONING + "so $x = 4$ and then", "length", "no_answer", "bare LaTeX in a cut-off trace"),
    ("4", "<think>" + LONG_REASONING + "</think>\n\n$4$", "stop", "correct", "a closed think is finished"),
    # ---- normalisation a careful human grader applies
    ("10080", "\\boxed{10,\\!080}", None, "correct", "LaTeX thousands separator ,\\!"),
    ("10000", "$10{,}000$", None, "correct", "LaTeX thousands separator {,}"),
    ("7425000", "\\boxed{7,425,000}", None, "correct", "plain thousands separators"),
    ("\\frac{1}{2}", "\\boxed{\\dfrac{1}{2}}", None, "correct", "\\dfrac"),
    ("\\frac{1}{2}", "\\boxed{\\tfrac12}", None, "correct", "\\tfrac"),
    ("30", "\\boxed{30^\\circ}", None, "correct", "degrees"),
    ("30", "\\boxed{30°}", None, "correct", "degree sign"),
    ("30^\\circ", "\\boxed{30}", None, "correct", "degrees in the gold"),
    ("5", "\\boxed{5 \\text{ cm}}", None, "correct", "unit text"),
    ("5", "\\boxed{\\$5.00}", None, "correct", "currency"),
    ("4343_6", "\\boxed{4343_{6}}", None, "correct", "the same base-6 numeral"),
    # a base-b gold answered with its digits alone: the question named the base (corpus audit of
    # math500 number_theory/368); the same digits in another base stay wrong
    ("4343_6", "\\boxed{4343}", None, "correct", "a base-6 gold answered with its digits"),
    ("4343_6", "\\boxed{4343_{7}}", None, "wrong", "base subscripts kept: 4343_7 is not 4343_6"),
    ("4343", "\\boxed{4343_6}", None, "wrong", "and the other way round"),
    ("101_{10}", "\\boxed{101}", None, "correct", "base 10 is the plain number"),
    ("x_1", "\\boxed{x_1}", None, "correct", "an ordinary subscript is not a base"),
    ("5", "\\boxed{x = 5}", None, "correct", "an assignment against its value"),
    ("x=5", "\\boxed{5}", None, "correct", "and the other way round"),
    ("1-\\frac{1}{\\mathrm{e}}", "\\boxed{1 - e^{-1}}", None, "correct", "\\mathrm{e}"),
    ("[0,1)", "\\boxed{[0,1)}", None, "correct", "intervals: math-verify compares them"),
    ("(1,2]", "\\boxed{[1,2]}", None, "wrong", "open and closed ends differ"),
    ("1<x<2", "\\boxed{(1,2)}", None, "correct", "an inequality gold accepts its interval"),
    ("(1,2)", "\\boxed{1<x<2}", None, "wrong", "not the reverse (math-verify is asymmetric)"),
    ("\\{1, 2\\}", "\\boxed{2, 1}", None, "correct", "sets are unordered"),
    ("\\sqrt{8}", "\\boxed{2\\sqrt{2}}", None, "correct", "unsimplified gold: math-verify's call (equal)"),
    ("2\\sqrt{2}", "\\boxed{\\sqrt{8}}", None, "correct", "unsimplified answer: math-verify's call (equal)"),
    (
        "\\frac{1}{2}",
        "\\boxed{\\frac{2}{4}}",
        None,
        "correct",
        "unsimplified fraction: math-verify's call (equal)",
    ),
    ("\\text{Evelyn}", "\\boxed{\\text{Evelyn}}", None, "correct", "text answers"),
    ("7", "\\boxed{7.0000001}", None, "wrong", "a close number is not the number"),
    (
        "\\frac{639}{40}",
        "$= \\boxed{15\\frac{39}{40}},$ or $\\boxed{\\frac{639}{40}}$ inches.",
        None,
        "correct",
        "two boxes, one value written two ways (a mixed number)",
    ),
    ("1", "\\boxed{1} or \\boxed{2}", None, "wrong", "listing several values is never right"),
    (
        "44",
        "so $17^{-1}\\equiv \\boxed{44}$.\n\nWe may check our answer: $17\\cdot 44 = 748$.",
        None,
        "correct",
        "'our answer:' in a sentence is not an Answer: label",
    ),
    # ---- no answer at all
    ("3", "I do not know.", None, "no_answer", "nothing stated"),
    ("2", "\\boxed{\\frac{}", None, "no_answer", "an unclosed box is no answer"),
    ("2", "", None, "no_answer", "empty"),
]

# (response, finish_reason, extracted answer, tier)
TIER_ROWS = [
    ("so \\boxed{3}", None, "3", "boxed"),
    ("$x = \\boxed{1}$ or $x = \\boxed{-2}$", None, "1, -2", "boxed"),
    ("$$\\boxed{(3, 3)} \\text{ for part (a) and } \\boxed{(1, 1)}$$", None, "(3, 3), (1, 1)", "boxed"),
    ("\\boxed{7} then a truncated \\boxed{12", None, "7", "boxed"),
    ("#### 1,234.5", None, "1234.5", "gsm8k"),
    ("Final Answer: The largest $n$ is 34.", None, "34", "final_answer"),
    ("The final answer is $\\frac{3}{4}$. I hope it is correct.", None, "\\frac{3}{4}", "final_answer"),
    ("Answer: 1,000", None, "1000", "final_answer"),
    ("the answer is $x^2$", None, "x^2", "answer_is"),
    ("so $\\frac{1+\\sqrt5}{2}$", None, "\\frac{1+\\sqrt5}{2}", "latex"),
    ("\\frac{1}{3} is what we get", None, "\\frac{1}{3}", "latex"),
    ("x = 5", None, "x = 5", "latex"),
    ("temperature fell to -5", None, "-5", "number"),
    ("The total is 35 percent.", None, "35\\%", "sentence"),
    ("She pays 12 and gets 35 percent back", None, "35\\%", "number"),
    (TRUNCATED_TRACE, "length", None, None),
    (TRUNCATED_TRACE + " \\boxed{7}", "length", "7", "boxed"),
]


def test_rules():
    golds, responses, reasons, expected, _ = zip(*RULES, strict=True)
    grades = grade_many(list(responses), list(golds), finish_reasons=list(reasons))
    outcomes = [
        STATUS_NO_ANSWER if g.status == STATUS_NO_ANSWER else ("correct" if g.correct else "wrong")
        for g in grades
    ]
    mismatches = [
        (row[0], row[1][-60:], row[4], f"expected {row[3]}, got {got} (extracted {g.extracted!r})")
        for row, got, g in zip(RULES, outcomes, grades, strict=True)
        if got != row[3]
    ]
    assert not mismatches
    assert all(g.status in (STATUS_OK, STATUS_NO_ANSWER) for g in grades)


@pytest.mark.parametrize(("response", "finish_reason", "answer", "tier"), TIER_ROWS)
def test_tiers(response, finish_reason, answer, tier):
    found = find_answer(response, finish_reason=finish_reason)
    got = (found.answer, found.tier) if found else (None, None)
    assert got == (answer, tier)
    assert tier is None or tier in TIERS


def test_every_tier_is_tested():
    assert {row[3] for row in TIER_ROWS if row[3]} == set(TIERS)
