"""Property tests: no reward raises on odd completions, and every value is None or in its range."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from r1lab.rewards import REWARDS, get_reward_funcs

FRAGMENTS = [
    "<think>",
    "</think>",
    "<answer>",
    "</answer>",
    "\\boxed{",
    "}",
    "{",
    "\\fbox{",
    "$",
    "\\frac{1}{2}",
    "Step 1:",
    "\n- ",
    "First,",
    "####",
    "Answer:",
    "final answer is",
    "```python\n",
    "```",
    "9^{9^{9}}",
    "(1 + 2) * 3",
    "=",
    "\u200b",
    "é",
    "🙂",
    "\x00",
    "\\",
    "12",
    "-3.5",
    " ",
    "\n",
]
text = st.one_of(
    st.text(max_size=200),
    st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=10), max_size=30).map("".join),
    st.sampled_from(["", " " * 1000, "x" * 100_000, "</think>" * 500, "<think>" * 500, "\\boxed{" * 1000]),
)
completion = st.one_of(text, text.map(lambda t: [{"role": "assistant", "content": t}]))
gold = st.one_of(st.sampled_from(["4", "\\frac{1}{2}", "", "\\frac{", "x^2", "#### 3"]), st.text(max_size=20))

PARAMS = {"max_completion_len": 50, "test_timeout": 2.0, "timeout": 2.0}
FUNCS = get_reward_funcs(list(REWARDS), **PARAMS)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(batch=st.lists(st.tuples(completion, gold), min_size=1, max_size=4), data=st.data())
def test_rewards_never_raise_and_stay_in_range(batch, data):
    completions = [c for c, _ in batch]
    n = len(completions)
    columns = {
        "answer": [g for _, g in batch],
        "nums": data.draw(
            st.lists(st.lists(st.integers(1, 100), min_size=2, max_size=4), min_size=n, max_size=n)
        ),
        "target": data.draw(st.lists(st.integers(-10, 1000), min_size=n, max_size=n)),
        "test_cases": [[{"input": "1\n", "output": "1\n"}]] * n,
        "completion_ids": data.draw(
            st.lists(st.lists(st.integers(0, 5), max_size=120), min_size=n, max_size=n)
        ),
        "prompts": data.draw(st.lists(st.sampled_from(["p", "q"]), min_size=n, max_size=n)),
    }
    for func in FUNCS:
        values = func(completions, **columns)
        assert len(values) == n, func.__name__
        low, high = func.bounds()
        for value in values:
            assert value is None or (isinstance(value, float) and low <= value <= high), (
                func.__name__,
                value,
            )
