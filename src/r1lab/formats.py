"""The response formats models write, as data: where the reasoning ends and the answer section is.

`r1lab.prompts` writes one format (R1's ``<think>...</think>`` then the answer); this module reads
every format people train and evaluate on, so grading (`r1lab.grading.extract`) and conversion
(`r1lab.data.convert`) share one description of each. It sits beside ``prompts`` (below both
``data`` and ``grading``) so either can import it and imports stay one-way.

A format is a row of `FORMATS`:

* ``reasoning``: the markers around the reasoning. A closed reasoning block is never searched for
  the answer (an answer tried and dropped while thinking is not the answer); one that is opened
  and never closed marks a cut-off response. The opening marker may be missing (chat templates
  that pre-fill ``<think>``).
* ``answer``: the markers around the answer section, searched first; then the rest of the
  response outside the reasoning. Without answer markers, the answer section is everything after
  the reasoning, from the last ``heading`` match on when the format has one.

Chat-template tokens (ChatML, Llama 3, Gemma, Phi, Command-R, DeepSeek's fullwidth tokens) are
recognised by name (`CHAT_TOKENS`), never by their ``<|word|>`` shape: Sky-T1's
``<|begin_of_solution|>`` has that shape and holds the answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from r1lab.errors import ConfigError
from r1lab.prompts import THINK_END, THINK_START

THOUGHT_START, THOUGHT_END = "<|begin_of_thought|>", "<|end_of_thought|>"
SOLUTION_START, SOLUTION_END = "<|begin_of_solution|>", "<|end_of_solution|>"
#: The "**Final Answer**" heading (QwQ-32B-Preview, Qwen2.5 instruct, many fine-tunes), on its own line.
FINAL_ANSWER_HEADING = r"^[ \t#>]*(?:\*\*|__)?\s*Final\s+Answer\s*(?:\*\*|__)?\s*:?\s*(?:\*\*)?[ \t]*$"
#: The end of a ToRA program's output block: the sentence after it states the result.
TORA_OUTPUT = r"```output\n(?:.*\n)*?```[ \t]*\n?"

#: Special tokens of common chat templates. Text from the first one after the response's start is
#: not part of the response (a model running on into a fake next turn does not answer twice).
CHAT_TOKENS = (
    # ChatML (Qwen, SmolLM, Yi, InternLM), Phi-4
    "<|im_start|>",
    "<|im_end|>",
    "<|im_sep|>",
    "<|endoftext|>",
    # Llama 3
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|eot_id|>",
    "<|eom_id|>",
    "<|python_tag|>",
    # Phi-3, GLM, Zephyr
    "<|user|>",
    "<|assistant|>",
    "<|system|>",
    "<|end|>",
    "<|observation|>",
    # Gemma
    "<start_of_turn>",
    "<end_of_turn>",
    "<eos>",
    # Llama 2, Mistral
    "</s>",
    "[INST]",
    "[/INST]",
    # Command-R
    "<|START_OF_TURN_TOKEN|>",
    "<|END_OF_TURN_TOKEN|>",
    "<|USER_TOKEN|>",
    "<|CHATBOT_TOKEN|>",
    "<|SYSTEM_TOKEN|>",
    # DeepSeek (V3, R1 and its distills): fullwidth bars and the "▁" space
    "<｜begin▁of▁sentence｜>",
    "<｜end▁of▁sentence｜>",
    "<｜User｜>",
    "<｜Assistant｜>",
    "<｜tool▁calls▁begin｜>",
    "<｜tool▁calls▁end｜>",
    "<｜tool▁outputs▁begin｜>",
    "<｜tool▁outputs▁end｜>",
)
_CHAT_TOKEN_RE = re.compile("|".join(re.escape(token) for token in CHAT_TOKENS))


@dataclass(frozen=True)
class ResponseFormat:
    """One response format: how its reasoning and its answer section are delimited."""

    name: str
    description: str
    #: (opening, closing) markers of the reasoning; the opening one may be absent (pre-filled).
    reasoning: tuple[str, str] | None = None
    #: (opening, closing) markers of the answer section; a missing closing marker runs to the end.
    answer: tuple[str, str] | None = None
    #: A regex (multiline) whose last match, after the reasoning, starts the answer section.
    heading: str | None = None
    aliases: tuple[str, ...] = ()


FORMATS: dict[str, ResponseFormat] = {
    f.name: f
    for f in (
        ResponseFormat(
            "deepseek-r1",
            "DeepSeek-R1 and its distills: <think>reasoning</think> then the answer",
            reasoning=(THINK_START, THINK_END),
            aliases=("r1", "think"),
        ),
        ResponseFormat(
            "sky-t1",
            "Sky-T1 / OpenThoughts / Bespoke-Stratos: <|begin_of_thought|>...<|end_of_thought|> "
            "<|begin_of_solution|>...<|end_of_solution|>",
            reasoning=(THOUGHT_START, THOUGHT_END),
            answer=(SOLUTION_START, SOLUTION_END),
            aliases=("openthoughts", "bespoke-stratos", "stratos", "thought-solution"),
        ),
        ResponseFormat(
            "qwq",
            "QwQ: reasoning closed by </think> (its template pre-fills <think>), the answer after it, "
            "under a '**Final Answer**' heading when there is one",
            reasoning=(THINK_START, THINK_END),
            heading=FINAL_ANSWER_HEADING,
        ),
        ResponseFormat(
            "final-answer",
            "chain of thought, then a '**Final Answer**' heading (QwQ-32B-Preview, Qwen2.5 instruct)",
            heading=FINAL_ANSWER_HEADING,
        ),
        ResponseFormat(
            "tora",
            "ToRA: programs, their ```output``` blocks, then a sentence stating the result",
            heading=TORA_OUTPUT,
            aliases=("program",),
        ),
        ResponseFormat("plain", "plain chain of thought: the answer is in its conclusion", aliases=("cot",)),
    )
}
ALIASES = {alias: f.name for f in FORMATS.values() for alias in f.aliases}
AUTO = "auto"


def format_names() -> list[str]:
    """Every name `get_format` accepts."""
    return [AUTO, *FORMATS, *ALIASES]


def get_format(name: str) -> ResponseFormat | None:
    """The format called ``name`` (or an alias); None for "auto"; ConfigError for an unknown name."""
    key = name.strip().lower()
    if key == AUTO:
        return None
    key = ALIASES.get(key, key)
    if key not in FORMATS:
        raise ConfigError(f"unknown response format {name!r}; choose one of: {', '.join(format_names())}")
    return FORMATS[key]


def check_format(name: str) -> str:
    """``name`` if it names a format or "auto" (for config validation), else ConfigError."""
    get_format(name)
    return name


_HEADINGS = {
    f.heading: re.compile(f.heading, re.IGNORECASE | re.MULTILINE) for f in FORMATS.values() if f.heading
}


def detect_format(text: str) -> ResponseFormat:
    """The format a response is written in, from its markers (the most specific first)."""
    if THOUGHT_START in text or THOUGHT_END in text or SOLUTION_START in text:
        return FORMATS["sky-t1"]
    if THINK_END in text or THINK_START in text:
        heading = _HEADINGS[FINAL_ANSWER_HEADING]
        return FORMATS["qwq"] if heading.search(text, text.rfind(THINK_END) + 1) else FORMATS["deepseek-r1"]
    if "```output" in text:
        return FORMATS["tora"]
    if _HEADINGS[FINAL_ANSWER_HEADING].search(text):
        return FORMATS["final-answer"]
    return FORMATS["plain"]


def chat_bounds(text: str) -> tuple[int, int]:
    """(start, end) of the response proper: leading chat tokens skipped, cut at the next one."""
    start = 0
    for match in _CHAT_TOKEN_RE.finditer(text):
        if text[start : match.start()].strip():
            return start, match.start()
        start = match.end()
    return start, len(text)


def strip_chat_tokens(text: str) -> str:
    """The response without chat-template tokens (see `chat_bounds`)."""
    start, end = chat_bounds(text)
    return text[start:end]


@dataclass(frozen=True)
class Sections:
    """Where the parts of one response lie, as (start, end) offsets into the text that was split."""

    format: str
    #: The answer section, searched first (None: the format's answer section is absent).
    answer: tuple[int, int] | None
    #: The other regions searched after it, in order (never a closed reasoning block).
    rest: tuple[tuple[int, int], ...]
    #: The reasoning block, if the response has one.
    reasoning: tuple[int, int] | None
    #: The reasoning was opened and never closed: the response was cut off while thinking.
    unclosed: bool = False
    #: The answer section was opened and never closed (Sky-T1's ``<|begin_of_solution|>`` with no
    #: ``<|end_of_solution|>``): the response was cut off while writing its solution.
    answer_unclosed: bool = False
    #: The part of a closed reasoning after its last "**Final Answer**" heading: an answer the
    #: reasoning itself stated, read only when the answer section was cut off.
    reasoning_answer: tuple[int, int] | None = None


def split_sections(
    text: str,
    fmt: ResponseFormat | None = None,
    *,
    start: int = 0,
    end: int | None = None,
    skip_reasoning: bool = True,
) -> Sections:
    """The sections of ``text[start:end]`` in format ``fmt`` (None: detected), as offsets into ``text``.

    ``skip_reasoning=False`` searches a closed reasoning block too, last.
    """
    end = len(text) if end is None else end
    fmt = fmt or detect_format(text[start:end])
    body_start, reasoning, before = start, None, None
    if fmt.reasoning:
        opener, closer = fmt.reasoning
        close = text.rfind(closer, start, end)
        open_at = text.find(opener, start, end)
        if close >= 0 and (open_at < 0 or open_at < close):
            reasoning_start = open_at + len(opener) if open_at >= 0 else start
            reasoning, body_start = (reasoning_start, close), close + len(closer)
            before = (start, open_at) if open_at > start else None
        elif open_at >= 0:  # opened, never closed: everything after the opener is unfinished reasoning
            rest = tuple(r for r in ((start, open_at), (open_at + len(opener), end)) if r[1] > r[0])
            return Sections(fmt.name, None, rest, None, True)
    answer, rest = _answer_section(text, fmt, body_start, end)
    rest = tuple(r for r in rest if r[1] > r[0])
    if reasoning and not skip_reasoning:
        rest += (reasoning,)
    if before and text[before[0] : before[1]].strip():  # text before the reasoning block
        rest += (before,)
    answer_unclosed = bool(answer and fmt.answer and not text.startswith(fmt.answer[1], answer[1]))
    stated = None
    if reasoning:
        headings = list(_HEADINGS[FINAL_ANSWER_HEADING].finditer(text, *reasoning))
        stated = (headings[-1].end(), reasoning[1]) if headings else None
    return Sections(
        fmt.name, answer, rest, reasoning, answer_unclosed=answer_unclosed, reasoning_answer=stated
    )


def _answer_section(
    text: str, fmt: ResponseFormat, start: int, end: int
) -> tuple[tuple[int, int] | None, tuple[tuple[int, int], ...]]:
    if fmt.answer:
        opener, closer = fmt.answer
        open_at = text.rfind(opener, start, end)
        if open_at < 0:
            return None, ((start, end),)
        answer_start = open_at + len(opener)
        close = text.find(closer, answer_start, end)
        answer_end = close if close >= 0 else end
        after = (answer_end + len(closer), end) if close >= 0 else (end, end)
        return (answer_start, answer_end), ((start, open_at), after)
    if fmt.heading:
        last = None
        for match in _HEADINGS[fmt.heading].finditer(text, start, end):
            last = match
        if last is not None:
            return (last.end(), end), ((start, last.end()),)  # a ToRA output block is in the rest
    return (start, end), ()


def parse_thought_solution(text: str) -> tuple[str, str] | None:
    """(reasoning, solution) of a Sky-T1 / OpenThoughts response; None when its thought never closes."""
    sections = split_sections(text, FORMATS["sky-t1"])
    if sections.unclosed or sections.reasoning is None:
        return None
    reasoning = text[sections.reasoning[0] : sections.reasoning[1]].strip()
    answer = sections.answer or next(iter(sections.rest), (len(text), len(text)))
    return reasoning, text[answer[0] : answer[1]].strip()


__all__ = [
    "AUTO",
    "CHAT_TOKENS",
    "FORMATS",
    "ResponseFormat",
    "Sections",
    "chat_bounds",
    "check_format",
    "detect_format",
    "format_names",
    "get_format",
    "parse_thought_solution",
    "split_sections",
    "strip_chat_tokens",
]
