"""The demo report's own numbers: which style a model chose, and the headline that states the result."""

from __future__ import annotations

import pytest

from r1lab.demo.report import headline, working_share

WORKED = "7+6=13, write 3\n4+8+1=13, write 3\ncarry 1\nso 47+86=133"
SHORT = "so 47+86=133"


def test_working_share_reads_split_out_and_inline_reasoning():
    rows = [
        # the server split the reasoning out of the text
        {"generations": ["\\boxed{133}", "\\boxed{133}"], "reasoning": [WORKED, SHORT]},
        # the <think> block stayed in the text
        {"generations": [f"<think>\n{WORKED}\n</think>\n\n\\boxed{{133}}", "\\boxed{13}"]},
    ]
    # worked, short, worked, and no reasoning at all
    assert working_share(rows) == pytest.approx(2 / 4)
    assert working_share([]) is None


def _model(pass_at_1, stderr, working=None):
    return {"pass@1": pass_at_1, "pass@1_stderr": stderr, "shows_working": working}


@pytest.mark.parametrize(
    ("grpo", "opening"),
    [
        (_model(0.75, 0.03, 1.0), "GRPO lifted held-out pass@1 from 40.0% to 75.0% (+35.0 ± 4.2 points)"),
        (
            _model(0.44, 0.03, 0.45),
            "GRPO moved held-out pass@1 from 40.0% to 44.0% (+4.0 ± 4.2 points, within two",
        ),
        (
            _model(0.38, 0.03, 0.45),
            "GRPO did not lift held-out pass@1 in this run: 40.0% → 38.0% (-2.0 ± 4.2 points)",
        ),
    ],
)
def test_headline_states_the_lift_honestly(grpo, opening):
    models = {"cold_start": _model(0.40, 0.03, 0.45), "grpo": grpo, "student": _model(0.9, 0.02)}
    text = headline(models)
    assert text.startswith(opening)
    assert text.endswith("the student distilled from its traces reached 90.0%.")
    # the style change is stated only when it is large enough to matter
    assert ("show their working went from 45.0% to 100.0%" in text) == (grpo["shows_working"] == 1.0)


def test_headline_without_an_evaluation():
    assert headline({}) == "The evaluation did not finish: no accuracy to report."


def test_real_model_headline_states_the_format_not_the_tiny_models_trace_style():
    start = {**_model(0.192, 0.032, 0.39), "format": 0.333}
    grpo = {**_model(0.679, 0.053, 1.0), "format": 1.0}
    text = headline({"instruct": start, "grpo": grpo, "student": _model(0.675, 0.054)})
    assert text.startswith("GRPO lifted held-out pass@1 from 19.2% to 67.9% (+48.7 ± 6.2 points)")
    assert "answers in the <think> format: 33.3% → 100.0%" in text and "working" not in text
