"""Every prompt template and system prompt r1lab uses, in one place.

Training (SFT, GRPO) and evaluation build their prompts here, so a model is evaluated with the
same instruction it was trained on. The response format is R1's: the reasoning inside
``<think>...</think>``, then the final answer, with the result in ``\\boxed{}`` for math.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

THINK_START = "<think>"
THINK_END = "</think>"

#: DeepSeek-R1's evaluation directive for math (R1 paper, section 3; also used by Open-R1's lighteval tasks).
DEEPSEEK_MATH_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."

#: The default user turn for math problems: the problem, then DeepSeek's directive. No system prompt.
MATH_PROMPT_TEMPLATE = "{problem}\n" + DEEPSEEK_MATH_INSTRUCTION.replace("{}", "{{}}")

#: A bare template: the problem alone (used for tasks whose training data carries its own instruction).
PLAIN_PROMPT_TEMPLATE = "{problem}"

#: The R1-Zero style system prompt that asks for the think-then-answer format explicitly; used for
#: GRPO from a base model, where no SFT taught the format.
R1_SYSTEM_PROMPT = (
    "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. "
    "The assistant first thinks about the reasoning process in the mind and then provides the user with "
    "the answer. The reasoning process is enclosed within <think> </think>, followed by the final answer, "
    "e.g., <think> reasoning process here </think> answer here, with the final result in \\boxed{}."
)

PROMPT_TEMPLATES: dict[str, str] = {"math": MATH_PROMPT_TEMPLATE, "plain": PLAIN_PROMPT_TEMPLATE}
#: Named system prompts. ``example`` has no system text (a chat template's own default stays) and
#: brings only the worked example of ``EXAMPLE_TURNS``; ``r1-example`` brings R1's instruction too.
SYSTEM_PROMPTS: dict[str, str] = {"r1": R1_SYSTEM_PROMPT, "r1-example": R1_SYSTEM_PROMPT, "example": ""}

#: Worked examples that a named system prompt brings as a prior user/assistant exchange, rendered
#: with the run's own template. A model as small as SmolLM2-135M-Instruct follows R1's format from
#: one example turn (think tags in 42 of 48 samples with R1's instruction, 17 of 48 with the example
#: alone) and never from the instruction alone, however spelled out (0 of 160 samples:
#: docs/real-model.md); without the format in its samples, a format reward has nothing for GRPO to
#: reinforce.
_ADDITION_EXAMPLE = (
    "What is 2+3?",
    f"{THINK_START}\n2 plus 3 makes 5.\n{THINK_END}\n\nThe answer is \\boxed{{5}}.",
)
EXAMPLE_TURNS: dict[str, tuple[tuple[str, str], ...]] = {
    "r1-example": (_ADDITION_EXAMPLE,),
    "example": (_ADDITION_EXAMPLE,),
}


def resolve_template(template: str | None) -> str:
    """A template given by name ("math", "plain") or literally; None means the math default."""
    if template is None:
        return MATH_PROMPT_TEMPLATE
    return PROMPT_TEMPLATES.get(template, template)


def resolve_system_prompt(system_prompt: str | None) -> str | None:
    """A system prompt given by name ("r1") or literally; None or "" means no system prompt."""
    if not system_prompt:
        return None
    return SYSTEM_PROMPTS.get(system_prompt, system_prompt)


def preamble_messages(system_prompt: str | None, template: str | None = None) -> list[dict[str, str]]:
    """What goes before a problem's user turn: the system turn, if any, then the worked-example
    exchange a named system prompt brings (none for most), rendered in ``template``."""
    system = resolve_system_prompt(system_prompt)
    turns = [{"role": "system", "content": system}] if system else []
    for problem, response in EXAMPLE_TURNS.get(system_prompt or "", ()):
        turns.append({"role": "user", "content": render_prompt({"problem": problem}, template)})
        turns.append({"role": "assistant", "content": response})
    return turns


def describe_system_prompt(system_prompt: str | None) -> str | None:
    """The system prompt as run records show it: its text, and its worked examples when it has any."""
    system = resolve_system_prompt(system_prompt)
    examples = EXAMPLE_TURNS.get(system_prompt or "", ())
    if not examples:
        return system
    shown = " | ".join(f"{problem} -> {response!r}" for problem, response in examples)
    return f"{system + ' ' if system else ''}[then {len(examples)} worked example turn(s): {shown}]"


def template_fields(template: str) -> list[str]:
    """The row fields a template refers to, e.g. ["problem"] for the math template."""
    return [name for _, name, _, _ in string.Formatter().parse(template) if name]


def render_prompt(row: Mapping[str, Any], template: str | None = None, prompt_column: str = "problem") -> str:
    """Fill a template from a row. ``{problem}`` always means the row's prompt column."""
    fields = dict(row)
    fields.setdefault("problem", row.get(prompt_column))
    if prompt_column in row:
        fields["problem"] = row[prompt_column]
    return resolve_template(template).format(**fields)


def build_messages(
    row: Mapping[str, Any] | str,
    template: str | None = None,
    system_prompt: str | None = None,
    prompt_column: str = "problem",
) -> list[dict[str, str]]:
    """The chat messages for one problem: an optional system turn (and the worked examples a named
    system prompt brings), then the rendered user turn."""
    if isinstance(row, str):
        row = {prompt_column: row}
    user = {"role": "user", "content": render_prompt(row, template, prompt_column)}
    return [*preamble_messages(system_prompt, template), user]


def format_response(reasoning: str | None, answer: str) -> str:
    """The canonical assistant turn: ``<think>\\nreasoning\\n</think>\\n\\nanswer`` (R1-Distill layout)."""
    if reasoning is None:
        return answer
    return f"{THINK_START}\n{reasoning.strip()}\n{THINK_END}\n\n{answer.strip()}"


def split_reasoning(text: str) -> tuple[str | None, str]:
    """Split a response into (reasoning, answer) at the last ``</think>``.

    Without ``</think>`` the reasoning is None and the whole text is the answer; a leading
    ``<think>`` is dropped from the reasoning. Chat templates that pre-fill ``<think>`` produce
    responses that start inside the reasoning, which this handles the same way.
    """
    head, sep, tail = text.rpartition(THINK_END)
    if not sep:
        return None, text
    reasoning = head.split(THINK_START, 1)[1] if THINK_START in head else head
    return reasoning.strip(), tail.strip()
