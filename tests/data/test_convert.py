"""Every input layout converts to the canonical SFT messages, and the reasoning and answer come back out."""

from __future__ import annotations

import json

import pytest

from r1lab.cli import main
from r1lab.data.convert import ConvertConfig, convert, detect_layout, to_sft_examples
from r1lab.data.io import read_jsonl, write_jsonl
from r1lab.errors import DataError
from r1lab.prompts import R1_SYSTEM_PROMPT, build_messages, format_response, split_reasoning

PROBLEM = "What is $3 \\times 4$?"
REASONING = "Three groups of four.\n\nThat is 4 + 4 + 4 = 12."
ANSWER = "The answer is $\\boxed{12}$."
STRATOS_SYSTEM = (
    "Your role as an assistant involves thoroughly exploring questions through a systematic long thinking "
    "process... Please structure your response into two main sections: Thought and Solution. In the Thought "
    "section, detail your reasoning process using the specified format: <|begin_of_thought|> {thought with "
    "steps separated with '\\n\\n'} <|end_of_thought|> ..."
)


def stratos_response(reasoning: str, solution: str) -> str:
    return (
        f"<|begin_of_thought|>\n\n{reasoning}\n\n<|end_of_thought|>\n\n"
        f"<|begin_of_solution|>\n\n{solution}\n\n<|end_of_solution|>"
    )


def assert_canonical(example, user, reasoning=REASONING, answer=ANSWER, system=None):
    """The example is [system?] user assistant, and the assistant turn splits back into its parts."""
    expected_roles = (["system"] if system else []) + ["user", "assistant"]
    assert [m["role"] for m in example] == expected_roles
    if system:
        assert example[0]["content"] == system
    assert example[-2]["content"] == user
    assert example[-1]["content"] == format_response(reasoning, answer)
    assert example[-1]["content"].startswith("<think>\n")
    assert split_reasoning(example[-1]["content"]) == (reasoning.strip(), answer.strip())


def math_user(problem=PROBLEM):
    return build_messages({"problem": problem})[-1]["content"]


# ------------------------------------------------------------------------------------------- layouts


def test_r1lab_graded_rows_give_one_example_per_correct_complete_generation():
    row = {
        "id": "p1",
        "problem": PROBLEM,
        "answer": "12",
        "generations": [
            f"<think>\n{REASONING}\n</think>\n\n{ANSWER}",
            "<think>\nwrong\n</think>\n\n$\\boxed{13}$",
            "<think>\nI will keep thinking and thinking",
            f"<think>{REASONING}</think>{ANSWER}",
        ],
        "finish_reasons": ["stop", "stop", "length", "stop"],
        "correct": [True, False, False, True],
    }
    examples = to_sft_examples(row)
    assert len(examples) == 2
    for example in examples:
        assert_canonical(example, math_user())
    everything = to_sft_examples(row, include_incorrect=True, keep_truncated=True)
    assert len(everything) == 4
    assert to_sft_examples(row, system_prompt="r1")[0][0] == {"role": "system", "content": R1_SYSTEM_PROMPT}
    assert to_sft_examples(row, prompt_template="plain")[0][0]["content"] == PROBLEM


def test_r1lab_rows_whose_prompt_column_holds_chat_messages():
    chat = [{"role": "system", "content": "Think first."}, {"role": "user", "content": PROBLEM}]
    row = {"prompt": chat, "generations": [f"<think>{REASONING}</think>{ANSWER}"]}
    (example,) = to_sft_examples(row, "r1lab", prompt_column="prompt")
    assert_canonical(example, PROBLEM, system="Think first.")


def test_r1lab_rows_with_server_split_reasoning():
    row = {"problem": PROBLEM, "generations": [ANSWER, "no reasoning here"], "reasoning": [REASONING, ""]}
    first, second = to_sft_examples(row)
    assert_canonical(first, math_user())
    assert second[-1]["content"] == "no reasoning here"
    assert len(to_sft_examples(row, require_reasoning=True)) == 1


def test_openr1_math_layout():
    row = {
        "problem": PROBLEM,
        "solution": "12",
        "answer": "12",
        "messages": [
            {"role": "user", "content": PROBLEM},
            {"role": "assistant", "content": f"<think>\n{REASONING}\n</think>\n\n{ANSWER}"},
        ],
        "generations": [
            f"<think>\n{REASONING}\n</think>\n\n{ANSWER}",
            f"<think>\n{REASONING}\n</think>\n\n{ANSWER}",
            "<think>\nhmm\n</think>\n\n11",
            f"<think>\n{REASONING}",
        ],
        "correctness_math_verify": [True, False, False, True],
        "correctness_llama": [None, True, False, None],  # the judge's verdict counts when math-verify failed
        "is_reasoning_complete": [True, True, True, False],
        "finish_reasons": ["stop", "stop", "stop", "length"],
    }
    assert detect_layout(list(row)) == "openr1-math"
    examples = to_sft_examples(row)
    assert len(examples) == 2
    for example in examples:
        assert_canonical(example, PROBLEM)


def test_bespoke_stratos_and_openthoughts_layout():
    row = {
        "system": STRATOS_SYSTEM,
        "conversations": [
            {"from": "user", "value": PROBLEM},
            {"from": "assistant", "value": stratos_response(REASONING, ANSWER)},
        ],
    }
    (example,) = to_sft_examples(row)
    # The source system prompt describes the markers that no longer exist: it is dropped.
    assert_canonical(example, PROBLEM)
    sharegpt = {
        "system": "You are helpful.",
        "conversations": [
            {"from": "human", "value": PROBLEM},
            {"from": "gpt", "value": stratos_response(REASONING, ANSWER)},
        ],
    }
    assert_canonical(to_sft_examples(sharegpt, "openthoughts")[0], PROBLEM, system="You are helpful.")
    assert to_sft_examples(sharegpt, system_prompt="none")[0][0]["role"] == "user"


def test_dolphin_r1_and_task_rows_reasoning_answer_layout():
    dolphin = {
        "messages": [{"role": "user", "content": PROBLEM}],
        "model": "deepseek-r1",
        "reasoning": REASONING,
        "answer": ANSWER,
    }
    assert detect_layout(list(dolphin)) == "reasoning-answer"
    assert_canonical(to_sft_examples(dolphin)[0], PROBLEM)

    task = {"id": "t1", "problem": "Compute 3 * 4.", "answer": "12", "reasoning": "3 * 4 = 12"}
    (example,) = to_sft_examples(task, box_answer=True, prompt_template="plain")
    assert_canonical(example, "Compute 3 * 4.", reasoning="3 * 4 = 12", answer="\\boxed{12}")


def test_openai_messages_layout():
    with_field = {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": PROBLEM}]},
            {"role": "assistant", "content": ANSWER, "reasoning_content": REASONING},
        ]
    }
    assert_canonical(to_sft_examples(with_field)[0], PROBLEM, system="Be brief.")
    inline = {
        "messages": [
            {"role": "user", "content": PROBLEM},
            {"role": "assistant", "content": f"<think>{REASONING}</think>  {ANSWER}"},
        ]
    }
    (example,) = to_sft_examples(inline, "chat")
    assert_canonical(example, PROBLEM)
    # Canonical output converts to itself: the layout is a fixed point.
    assert to_sft_examples({"messages": example}) == [example]


def test_prompt_completion_layout():
    row = {
        "prompt": [{"role": "user", "content": PROBLEM}],
        "completion": [{"role": "assistant", "content": f"<think>{REASONING}</think>{ANSWER}"}],
    }
    assert_canonical(to_sft_examples(row)[0], PROBLEM)
    plain = {"prompt": PROBLEM, "completion": f"<think>{REASONING}</think>{ANSWER}"}
    assert_canonical(to_sft_examples(plain, "prompt-completion")[0], PROBLEM)


# ------------------------------------------------------------------------------------------- errors


def test_unknown_layout_lists_the_columns():
    with pytest.raises(DataError) as err:
        to_sft_examples({"question": "q", "response": "r", "score": 3})
    assert "question, response, score" in str(err.value)
    with pytest.raises(DataError, match="needs column.*conversations.*the columns are: messages"):
        to_sft_examples({"messages": []}, "openthoughts")
    with pytest.raises(DataError, match="unknown layout 'alpaca'"):
        to_sft_examples({"messages": []}, "alpaca")


def test_malformed_rows_are_skipped_or_stop_a_strict_run(tmp_path):
    good = {
        "system": "",
        "conversations": [
            {"from": "user", "value": "q"},
            {"from": "assistant", "value": stratos_response("r", "a")},
        ],
    }
    unclosed = {
        "system": "",
        "conversations": [
            {"from": "user", "value": "q"},
            {"from": "assistant", "value": "<|begin_of_thought|> r"},
        ],
    }
    no_answer = {"system": "", "conversations": [{"from": "user", "value": "q"}]}
    write_jsonl(tmp_path / "in.jsonl", [good, unclosed, good, no_answer])
    stats = convert(ConvertConfig(input=str(tmp_path / "in.jsonl"), output=str(tmp_path / "out.jsonl")))
    assert (stats.rows, stats.examples, stats.skipped_rows) == (4, 2, 2)
    with pytest.raises(DataError, match=r"in.jsonl, row 2, field 'conversations'"):
        convert(
            ConvertConfig(input=str(tmp_path / "in.jsonl"), output=str(tmp_path / "s.jsonl"), strict=True)
        )
    assert not (tmp_path / "s.jsonl").exists()  # no half-written output


# ------------------------------------------------------------------------------------------- files and CLI


def test_convert_file_ids_and_kept_columns(tmp_path):
    rows = [
        {
            "id": f"p{i}",
            "problem": PROBLEM,
            "answer": "12",
            "generations": [f"<think>{REASONING}</think>{ANSWER}"] * 2,
            "correct": [True, i % 2 == 0],
        }
        for i in range(3)
    ]
    write_jsonl(tmp_path / "graded.jsonl", rows)
    stats = convert(
        ConvertConfig(
            input=str(tmp_path / "graded.jsonl"), output=str(tmp_path / "sft.jsonl"), keep_columns=["answer"]
        )
    )
    out = list(read_jsonl(tmp_path / "sft.jsonl"))
    assert [r["id"] for r in out] == ["p0-0", "p0-1", "p1-0", "p2-0", "p2-1"]
    assert stats.dropped["incorrect"] == 1 and all(r["answer"] == "12" for r in out)
    for r in out:
        assert_canonical(r["messages"], math_user())


def test_cli_convert_openthoughts_to_parquet_and_unknown_layout(tmp_path, capsys, caplog):
    import pyarrow.parquet as pq

    source = tmp_path / "stratos.jsonl"
    source.write_text(
        "\n".join(
            json.dumps(
                {
                    "system": STRATOS_SYSTEM,
                    "conversations": [
                        {"from": "user", "value": f"{PROBLEM} ({i})"},
                        {"from": "assistant", "value": stratos_response(REASONING, ANSWER)},
                    ],
                }
            )
            for i in range(3)
        )
        + "\n"
    )
    out = tmp_path / "sft.parquet"
    assert main(["convert", "--input", str(source), "--from", "bespoke-stratos", "--output", str(out)]) == 0
    assert "examples:      3" in capsys.readouterr().out
    rows = pq.read_table(out).to_pylist()
    assert len(rows) == 3 and len({r["id"] for r in rows}) == 3
    assert_canonical(rows[2]["messages"], f"{PROBLEM} (2)")

    write_jsonl(tmp_path / "odd.jsonl", [{"instruction": "x", "output": "y"}])
    assert (
        main(["convert", "--input", str(tmp_path / "odd.jsonl"), "--output", str(tmp_path / "o.jsonl")]) == 2
    )
    assert "the columns are: instruction, output" in caplog.text


def test_r1_distill_sft_reannotated_messages_column():
    row = {
        "problem": PROBLEM,
        "messages": [{"role": "user", "content": PROBLEM}, {"role": "assistant", "content": "12"}],
        "reannotated_messages": [
            {"role": "user", "content": PROBLEM},
            {"role": "assistant", "content": f"<think>\n{REASONING}\n</think>\n\n{ANSWER}"},
        ],
    }
    (plain,) = to_sft_examples(row)
    assert plain[-1]["content"] == "12"  # the original, reasoning-free answer
    assert_canonical(to_sft_examples(row, messages_column="reannotated_messages")[0], PROBLEM)


def test_converted_example_trains_on_the_whole_think_block():
    """Through the tiny model's chat template, the assistant-only loss mask covers <think>...answer."""
    from r1lab.models.tokenizer import build_char_tokenizer

    tokenizer = build_char_tokenizer(padding_side="right")
    row = {
        "system": STRATOS_SYSTEM,
        "conversations": [
            {"from": "user", "value": "2+2?"},
            {"from": "assistant", "value": stratos_response("add", "4")},
        ],
    }
    (example,) = to_sft_examples(row)
    encoded = tokenizer.apply_chat_template(
        example, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
    )
    trained = [t for t, m in zip(encoded["input_ids"], encoded["assistant_masks"], strict=True) if m]
    assert tokenizer.decode(trained) == "<think>\nadd\n</think>\n\n4<|im_end|>"
    assert tokenizer.convert_tokens_to_ids("<think>") in trained  # one special token, not 7 characters
