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


# ---- a response that states no final answer never earns an accuracy reward (issue #13)
# Reasoning made of these can hold the gold anywhere (as a number, in $...$, after "the answer is")
# but can never form a stated answer: no box, no "####", no "final answer", no "Answer:".
REASONING = [
    "7",
    "3 + 4 = 7",
    "so we get",
    "the answer is 7",
    "$7$",
    "$x = 7$",
    "\\frac{14}{2}",
    "Let me check",
    "x",
    "=",
    "\n",
    ". ",
    "7.",
    "hmm, 7?",
    "1,000",
]
reasoning = st.lists(
    st.sampled_from(REASONING) | st.text(alphabet="abcdefgh 0123456789+-=.", max_size=12), max_size=40
)
golds = st.sampled_from(["7", "\\frac{14}{2}", "7.0", "1000"])


def _accuracy_and_statuses(completions: list, gold: str) -> tuple[list, list]:
    from r1lab.rewards.math import AccuracyReward

    logged: dict[str, list] = {}
    values = AccuracyReward(timeout=2.0)(
        completions, answer=[gold] * len(completions), log_extra=lambda column, v: logged.update({column: v})
    )
    return values, logged["grade_status"]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parts=reasoning, gold=golds)
def test_a_cut_off_trace_never_earns_accuracy(parts, gold):
    # An unclosed <think> is a trace cut off by the token limit: whatever numbers it holds, it
    # stated no final answer. The trailing gold makes "its last number equals the gold" certain.
    trace = "<think>" + " ".join(parts) + " " + gold
    values, statuses = _accuracy_and_statuses([trace, [{"role": "assistant", "content": trace}]], gold)
    assert values == [0.0, 0.0]
    assert statuses == ["no_answer", "no_answer"]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    parts=st.lists(st.sampled_from([p for p in REASONING if not any(c in p for c in ("$", "\\", "answer"))]))
)
def test_a_long_response_without_an_answer_never_earns_accuracy(parts):
    # A finished but long response with no anchor and no math: its body's numbers are not an answer.
    body = ("We keep working on the problem. " * 40) + " ".join(parts) + " so 7"
    values, statuses = _accuracy_and_statuses([body], "7")
    assert values == [0.0]
    assert statuses == ["no_answer"]
