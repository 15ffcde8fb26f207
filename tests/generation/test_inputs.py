"""Input checks, ids and shards: everything decided before the first request."""

from __future__ import annotations

import json

import pytest

from r1lab.data.io import stable_id
from r1lab.errors import ConfigError, DataError
from r1lab.generation import generate
from r1lab.generation.config import GenerateConfig
from r1lab.generation.inputs import build_request, open_source, plan_input
from r1lab.testkit import FakeServer


def config(**kw):
    return GenerateConfig(output="out.jsonl", base_urls=["http://127.0.0.1:1/v1"], **kw)


ROWS = [{"problem": f"problem {i}", "answer": str(i), "uid": f"u{i}"} for i in range(200)]


def test_ids_hash_the_prompt_or_come_from_the_id_column():
    plan = plan_input(config(), ROWS, "rows", set())
    assert plan.ids[3] == stable_id("problem 3")
    plan = plan_input(config(id_column="uid"), ROWS, "rows", set())
    assert plan.ids[3] == "u3"
    with_id = [{"problem": "p", "id": 7}, {"problem": "p", "id": 8}]  # a data-stage `id` is kept
    assert plan_input(config(), with_id, "rows", set()).ids == ["7", "8"]


def test_shards_partition_the_input_deterministically():
    shards = [plan_input(config(num_shards=4, shard_index=i), ROWS, "rows", set()).selected for i in range(4)]
    flat = sorted(i for shard in shards for i in shard)
    assert flat == list(range(200))
    assert all(20 < len(s) < 80 for s in shards)  # a hash split, roughly even
    again = plan_input(config(num_shards=4, shard_index=2), list(reversed(ROWS)), "rows", set())
    assert {ROWS[i]["uid"] for i in shards[2]} == {ROWS[::-1][i]["uid"] for i in again.selected}


def test_done_rows_duplicates_and_limit():
    done = {stable_id("problem 0"), stable_id("problem 1")}
    rows = ROWS[:5] + [dict(ROWS[2])]
    plan = plan_input(config(), rows, "rows", done)
    assert plan.selected == [2, 3, 4] and plan.rows_skipped == 2 and plan.duplicates == 1
    plan = plan_input(config(limit=3), rows, "rows", done)
    assert plan.rows_total == 3 and plan.selected == [2]


def test_missing_column_names_the_file_and_lists_columns(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps({"question": "q", "answer": "1"}) + "\n" for _ in range(3)))
    cfg = config(input=str(path))
    rows, source = open_source(cfg)
    with pytest.raises(DataError, match=r"in.jsonl.*missing column 'problem'.*question, answer"):
        plan_input(cfg, rows, source, set())
    with pytest.raises(DataError, match="missing id column 'nope'"):
        plan_input(config(input=str(path), prompt_column="question", id_column="nope"), rows, source, set())


def test_empty_prompt_names_row_and_field():
    rows = [{"problem": "a"}, {"problem": "  "}]
    with pytest.raises(DataError, match=r"rows, row 2, field 'problem': empty prompt"):
        plan_input(config(), rows, "rows", set())


def test_template_column_missing():
    with pytest.raises(DataError, match="'hint'"):
        plan_input(config(prompt_template="{problem} {hint}"), ROWS, "rows", set())


def test_bundled_benchmark_input():
    rows, source = open_source(config(input="aime24"))
    plan = plan_input(config(input="aime24"), rows, source, set())
    assert plan.rows_total == len(rows) == 30 and plan.ids[0] == "2024-I-1"


def test_requests_for_chat_completions_and_messages():
    cfg = config(system_prompt="r1", prompt_template="plain", model="m", extra_body={"seed": 1})
    body = build_request(cfg, {"problem": "2+2?"})
    assert body["messages"][0]["role"] == "system" and body["messages"][1] == {
        "role": "user",
        "content": "2+2?",
    }
    assert body["seed"] == 1 and body["model"] == "m" and "n" not in body
    body = build_request(config(api="completions"), {"problem": "2+2?"})
    assert body["prompt"].startswith("2+2?\nPlease reason step by step")
    messages = [{"role": "user", "content": "hi"}]
    assert build_request(config(prompt_column="prompt"), {"prompt": messages})["messages"] == messages
    with pytest.raises(DataError, match="need --api chat"):
        plan_input(config(prompt_column="prompt", api="completions"), [{"prompt": messages}], "rows", set())


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"num_generations": 0}, "num_generations"),
        ({"shard_index": 2, "num_shards": 2}, "shard_index"),
        ({"top_p": 0}, "top_p"),
        ({"base_urls": ["localhost:8000"]}, "http://"),
        ({"extra_body": "{bad"}, "extra_body"),
    ],
)
def test_bad_arguments(kw, message):
    base = {"output": "o.jsonl", "base_urls": ["http://x/v1"]}
    with pytest.raises(ConfigError, match=message):
        GenerateConfig(**{**base, **kw})


def test_a_system_prompt_with_a_worked_example_sends_it_on_every_api():
    """``r1-example``: R1's system prompt, then one example exchange in the run's own template."""
    from r1lab.prompts import EXAMPLE_TURNS, R1_SYSTEM_PROMPT, build_messages

    example_problem, example_response = EXAMPLE_TURNS["r1-example"][0]
    body = build_request(config(system_prompt="r1-example", prompt_template="math"), {"problem": "7+8?"})
    roles = [m["role"] for m in body["messages"]]
    assert roles == ["system", "user", "assistant", "user"]
    assert body["messages"][0]["content"] == R1_SYSTEM_PROMPT
    assert body["messages"][1]["content"].startswith(example_problem + "\nPlease reason step by step")
    assert body["messages"][2]["content"] == example_response and "</think>" in example_response
    assert body["messages"][3]["content"].startswith("7+8?\nPlease reason")
    assert body["messages"] == build_messages({"problem": "7+8?"}, "math", "r1-example")  # one builder
    # a chat prompt column gets the system turn and the example before its own turns
    chat = [{"role": "user", "content": "hi"}]
    sent = build_request(config(system_prompt="r1-example", prompt_column="p"), {"p": chat})["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"] and sent[-1] == chat[0]
    # "example" has no system text but still brings the exchange, to a chat column too
    sent = build_request(config(system_prompt="example", prompt_column="p"), {"p": chat})["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]
    assert sent[1]["content"] == example_response
    # the completions API gets the same text, in order
    text = build_request(config(system_prompt="r1-example", api="completions"), {"problem": "7+8?"})["prompt"]
    assert text.index(R1_SYSTEM_PROMPT) < text.index(example_response) < text.index("7+8?")
    # "r1" alone brings no example
    assert [m["role"] for m in build_messages("7+8?", "math", "r1")] == ["system", "user"]


def test_rows_carry_their_own_max_tokens(tmp_path):
    rows = [{"problem": f"p{i}", "budget": 10 * (i + 1)} for i in range(3)] + [{"problem": "p3"}]
    with FakeServer() as server:
        config = GenerateConfig(
            output=str(tmp_path / "out.jsonl"), base_urls=[server.base_url], model="m", max_tokens=7, prompt_template="plain",
            max_tokens_column="budget", extra_body={"ignore_eos": True}, progress=False,
        )  # fmt: skip
        generate(config, rows=rows)
    sent = {request["messages"][-1]["content"][-2:]: request for request in server.requests}
    budgets = {problem: sent[problem]["max_tokens"] for problem in ("p0", "p1", "p2", "p3")}
    assert budgets == {"p0": 10, "p1": 20, "p2": 30, "p3": 7}  # no value: the run's --max-tokens
    assert all(request["ignore_eos"] is True for request in server.requests)


def test_a_bad_budget_names_file_row_and_field(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps({"problem": "q", "budget": b}) + "\n" for b in (8, 2.5)))
    config = GenerateConfig(output=str(tmp_path / "o.jsonl"), input=str(path), max_tokens_column="budget")
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    with pytest.raises(DataError, match=r"in.jsonl, row 2, field 'budget': must be a whole number"):
        plan_input(config, rows, str(path), set())
    with pytest.raises(DataError, match="--max-tokens-column 'nope': no such column"):
        plan_input(GenerateConfig(output="o", max_tokens_column="nope"), rows, str(path), set())
