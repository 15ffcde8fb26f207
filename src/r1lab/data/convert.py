"""Convert reasoning datasets to one SFT layout: ``messages`` with ``<think>reasoning</think>`` before the answer.

Every published R1 distillation set has its own layout; SFT needs one. The assistant turn is always
built by ``r1lab.prompts.format_response`` (and taken apart by ``split_reasoning``), so training,
generation and grading agree on a single response format. Layouts read:

=================  ==========================================================================
``r1lab``          generate/grade output: ``problem`` + ``generations`` [+ ``reasoning``] [+ ``correct``]
``openr1-math``    OpenR1-Math: ``messages``/``problem`` + ``generations`` + ``correctness_math_verify``
``conversations``  Bespoke-Stratos / OpenThoughts / Sky-T1: ``system`` + ``conversations`` [{from, value}]
                   with ``<|begin_of_thought|>``...``<|end_of_thought|>`` ``<|begin_of_solution|>``...
``reasoning-answer`` dolphin-r1 (``messages`` + ``reasoning`` + ``answer``), r1lab task rows (``problem`` + ...)
``messages``       OpenAI chat ``messages`` (a ``reasoning_content`` key on assistant turns is folded in)
``prompt-completion`` TRL's prompt/completion pairs (strings or message lists)
=================  ==========================================================================

A layout with several generations per row gives one example per generation; with a correctness
column only the correct ones (a generation judged by no one counts as incorrect).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from r1lab.data.io import stable_id
from r1lab.data.stream import RowWriter, open_rows, progress
from r1lab.data.text import comma_list, is_conversation, message_content, message_role
from r1lab.errors import DataError
from r1lab.formats import FORMATS, SOLUTION_START, THOUGHT_END, THOUGHT_START, detect_format, split_sections
from r1lab.prompts import THINK_END, build_messages, format_response, resolve_system_prompt

logger = logging.getLogger(__name__)

# The response formats read (think, Sky-T1 thought/solution, ...) are the table in r1lab.formats,
# shared with grading.
#: ``system_prompt`` value that removes every system turn.
NO_SYSTEM = "none"


@dataclass
class SFTFormat:
    """How rows become chat examples (the options of ``to_sft_examples``)."""

    prompt_column: str = field(
        default="problem", metadata={"help": "column with the problem, for layouts that build the user turn"}
    )
    prompt_template: str | None = field(
        default=None,
        metadata={
            "help": "user-turn template for layouts that build it from the problem (r1lab, task rows): 'math' "
            "(default: problem + DeepSeek's boxed-answer instruction, as `r1lab generate` asks), 'plain', or a "
            "literal with {problem}"
        },
    )
    system_prompt: str | None = field(
        default=None,
        metadata={
            "help": "default: keep the source's own system turn (a Stratos/OpenThoughts one that describes the "
            "thought/solution markers is dropped: it would contradict the converted turns); 'none': drop system "
            "turns; 'r1' or a literal: use it instead"
        },
    )
    messages_column: str = field(
        default="messages",
        metadata={"help": "column with chat messages (e.g. R1-Distill-SFT's reannotated_messages)"},
    )
    include_incorrect: bool = field(
        default=False, metadata={"help": "keep generations a correctness column marks wrong"}
    )
    keep_truncated: bool = field(
        default=False,
        metadata={"help": "keep generations cut off by the token limit (finish reason 'length')"},
    )
    require_reasoning: bool = field(
        default=False, metadata={"help": "drop responses with no reasoning (no </think> or thought markers)"}
    )
    box_answer: bool = field(
        default=False,
        metadata={"help": "reasoning-answer layout: wrap a bare final answer (e.g. '42') in \\boxed{}"},
    )


@dataclass(kw_only=True)
class ConvertConfig(SFTFormat):
    """Options of ``r1lab convert``."""

    input: str = field(
        metadata={"help": "data to convert: a local JSONL/Parquet/JSON/CSV file or folder, or a hub id"}
    )
    output: str = field(metadata={"help": "where to write the SFT rows (.jsonl, or .parquet)"})
    layout: str = field(default="auto", metadata={"help": "input layout (see r1lab convert --help)"})
    keep_columns: list[str] = field(
        default_factory=list, metadata={"help": "source columns to copy onto every output row (e.g. answer)"}
    )
    strict: bool = field(
        default=False,
        metadata={"help": "stop at the first malformed row instead of skipping it with a warning"},
    )
    split: str = field(default="train", metadata={"help": "split of a hub dataset input"})

    def __post_init__(self) -> None:
        self.keep_columns = comma_list(self.keep_columns)


@dataclass
class ConvertStats:
    rows: int = 0
    examples: int = 0
    skipped_rows: int = 0
    dropped: Counter = field(default_factory=Counter)
    layout: str = ""
    output: str | None = None

    def summary(self) -> str:
        lines = [
            f"layout:        {self.layout}",
            f"rows read:     {self.rows}",
            f"examples:      {self.examples}",
            f"skipped rows:  {self.skipped_rows} (malformed)",
        ]
        lines += [f"dropped {reason}: {count}" for reason, count in sorted(self.dropped.items())]
        if self.output:
            lines.append(f"written to:    {self.output}")
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- helpers


def _turn(role: str, content: str) -> dict[str, str]:
    return {"role": role, "content": content}


def _canonical(text: str, fmt: SFTFormat, dropped: Counter, field_name: str) -> str | None:
    """An assistant text in the canonical layout; None when it must be dropped (no reasoning, required).

    The source's response format (`r1lab.formats`: R1's ``<think>``, Sky-T1's thought/solution
    blocks, ...) says where its reasoning and its answer are.
    """
    try:
        reasoning, answer = split_response(text)
    except DataError as exc:
        raise DataError(str(exc), field=field_name) from None
    if reasoning is None and fmt.require_reasoning:
        dropped["no_reasoning"] += 1
        return None
    return format_response(reasoning, answer)


def split_response(text: str) -> tuple[str | None, str]:
    """(reasoning, answer) of a response in any format of `r1lab.formats`; reasoning None when it has none.

    Raises DataError when a Sky-T1 thought is never closed (a truncated response); an unclosed
    ``<think>`` is left to the truncation rules (``keep_truncated``), as the text it is.
    """
    response_format = detect_format(text)
    sections = split_sections(text, response_format)
    if response_format.reasoning is None or sections.reasoning is None and response_format.answer is None:
        return None, text
    if sections.unclosed or sections.reasoning is None:
        opener, closer = response_format.reasoning
        raise DataError(f"{opener} without {closer} (a truncated response?)")
    reasoning = text[sections.reasoning[0] : sections.reasoning[1]].strip()
    if sections.answer is not None:
        answer = text[sections.answer[0] : sections.answer[1]]
    else:  # Sky-T1 without solution markers: what follows the thought
        answer = text[sections.reasoning[1] :].split(response_format.reasoning[1], 1)[-1]
    if response_format.heading:  # the answer section starts at a heading: keep the heading itself
        answer = text[sections.reasoning[1] + len(response_format.reasoning[1]) :]
    return reasoning, answer.strip()


def parse_thought_solution(text: str) -> tuple[str | None, str]:
    """(reasoning, solution) of a Stratos/OpenThoughts response; raises DataError when the thought is unclosed."""
    if THOUGHT_START not in text and THOUGHT_END not in text:
        raise DataError(f"no {THOUGHT_START}...{THOUGHT_END} block")
    if split_sections(text, FORMATS["sky-t1"]).unclosed or THOUGHT_END not in text:
        raise DataError(f"{THOUGHT_START} without {THOUGHT_END} (a truncated response?)")
    return split_response(text)


def _system(source: str | None, fmt: SFTFormat) -> list[dict[str, str]]:
    """The system turn an example gets (see ``SFTFormat.system_prompt``)."""
    if fmt.system_prompt is not None:
        if fmt.system_prompt.lower() == NO_SYSTEM:
            return []
        system = resolve_system_prompt(fmt.system_prompt)
        return [_turn("system", system)] if system else []
    if not source or THOUGHT_START in source or SOLUTION_START in source:
        return []
    return [_turn("system", source)]


def _chat(turns: Any, field_name: str) -> list[dict[str, str]]:
    """OpenAI or ShareGPT turns as plain {role, content} dicts."""
    if not isinstance(turns, list) or not all(isinstance(t, Mapping) for t in turns):
        raise DataError("expected a list of chat turns ({role, content} or {from, value})", field=field_name)
    out = []
    for turn in turns:
        role = message_role(turn)
        if role is None:
            raise DataError(f"a turn has no role: {dict(turn)!r:.120}", field=field_name)
        out.append(_turn(role, message_content(turn)))
    return out


def _with_system(messages: list[dict[str, str]], fmt: SFTFormat) -> list[dict[str, str]]:
    source = next((m["content"] for m in messages if m["role"] == "system"), None)
    return _system(source, fmt) + [m for m in messages if m["role"] != "system"]


def _prompt_from_problem(row: Mapping[str, Any], fmt: SFTFormat) -> list[dict[str, str]]:
    """The prompt turns: the problem rendered with the template, or the chat the prompt column holds."""
    value = row.get(fmt.prompt_column)
    if is_conversation(value):  # `r1lab generate` also takes a column of chat messages as the prompt
        return _with_system(_chat(value, fmt.prompt_column), fmt)
    if not isinstance(value, str):
        raise DataError("missing or non-text problem", field=fmt.prompt_column)
    system = fmt.system_prompt if fmt.system_prompt and fmt.system_prompt.lower() != NO_SYSTEM else None
    return build_messages(row, fmt.prompt_template, system, fmt.prompt_column)


def _list(row: Mapping[str, Any], name: str, length: int) -> list | None:
    value = row.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != length:
        raise DataError(f"expected a list of {length} items, one per generation", field=name)
    return value


def _per_generation(
    row: Mapping[str, Any],
    prompt: list[dict[str, str]],
    fmt: SFTFormat,
    dropped: Counter,
    correct: list | None,
    complete: list | None,
) -> list[tuple[int, list[dict[str, str]]]]:
    generations = row["generations"]
    if not isinstance(generations, list):
        raise DataError("expected a list of strings", field="generations")
    reasoning = _list(row, "reasoning", len(generations))
    finish = _list(row, "finish_reasons", len(generations))
    examples = []
    for k, text in enumerate(generations):
        if not isinstance(text, str):
            raise DataError(f"generation {k} is not text", field="generations")
        if correct is not None and not correct[k] and not fmt.include_incorrect:
            dropped["incorrect"] += 1
            continue
        truncated = (finish is not None and finish[k] == "length") or (
            complete is not None and not complete[k]
        )
        if truncated and not fmt.keep_truncated:
            dropped["truncated"] += 1
            continue
        if reasoning is not None and reasoning[k] and THINK_END not in text:
            text = format_response(reasoning[k], text)  # the server split the reasoning out
        response = _canonical(text, fmt, dropped, "generations")
        if response is not None:
            examples.append((k, prompt + [_turn("assistant", response)]))
    return examples


# ---------------------------------------------------------------------------------------------- layouts


def _from_r1lab(row: Mapping[str, Any], fmt: SFTFormat, dropped: Counter):
    correct = _list(row, "correct", len(row["generations"] or []))
    return _per_generation(row, _prompt_from_problem(row, fmt), fmt, dropped, correct, None)


def _from_openr1_math(row: Mapping[str, Any], fmt: SFTFormat, dropped: Counter):
    n = len(row["generations"] or [])
    messages = row.get(fmt.messages_column)
    if messages:
        prompt = _with_system(
            [m for m in _chat(messages, fmt.messages_column) if m["role"] != "assistant"], fmt
        )
    else:
        prompt = _prompt_from_problem(row, fmt)
    by_verify = _list(row, "correctness_math_verify", n)
    by_llama = _list(row, "correctness_llama", n)  # OpenR1's LLM judge where math-verify could not parse
    correct = [bool(v) or bool(by_llama and by_llama[k]) for k, v in enumerate(by_verify or [False] * n)]
    return _per_generation(row, prompt, fmt, dropped, correct, _list(row, "is_reasoning_complete", n))


def _from_conversations(row: Mapping[str, Any], fmt: SFTFormat, dropped: Counter):
    turns = _chat(row["conversations"], "conversations")
    source_system = row.get("system") or next((t["content"] for t in turns if t["role"] == "system"), None)
    return _assemble(turns, _system(source_system, fmt), fmt, dropped, "conversations")


def _from_messages(row: Mapping[str, Any], fmt: SFTFormat, dropped: Counter):
    raw = row[fmt.messages_column]
    turns = _chat(raw, fmt.messages_column)
    for turn, source in zip(turns, raw, strict=True):
        split_out = source.get("reasoning_content") or source.get("reasoning")
        if turn["role"] == "assistant" and split_out and THINK_END not in turn["content"]:
            turn["content"] = format_response(split_out, turn["content"])
    source_system = next((t["content"] for t in turns if t["role"] == "system"), None)
    return _assemble(turns, _system(source_system, fmt), fmt, dropped, fmt.messages_column)


def _assemble(turns, system, fmt: SFTFormat, dropped: Counter, field_name: str):
    """System + the conversation with every assistant turn made canonical; it must end with the assistant."""
    body = [t for t in turns if t["role"] != "system"]
    if not body or body[-1]["role"] != "assistant":
        raise DataError(
            "the conversation does not end with an assistant turn: nothing to train on", field=field_name
        )
    out = []
    for turn in body:
        if turn["role"] == "assistant":
            content = _canonical(turn["content"], fmt, dropped, field_name)
            if content is None:
                return []
            turn = _turn("assistant", content)
        out.append(turn)
    return [(0, system + out)]


def _from_prompt_completion(row: Mapping[str, Any], fmt: SFTFormat, dropped: Counter):
    prompt, completion = row["prompt"], row["completion"]
    prompt_turns = [_turn("user", prompt)] if isinstance(prompt, str) else _chat(prompt, "prompt")
    completion_turns = (
        [_turn("assistant", completion)] if isinstance(completion, str) else _chat(completion, "completion")
    )
    source_system = next((t["content"] for t in prompt_turns if t["role"] == "system"), None)
    return _assemble(prompt_turns + completion_turns, _system(source_system, fmt), fmt, dropped, "completion")


def _from_reasoning_answer(row: Mapping[str, Any], fmt: SFTFormat, dropped: Counter):
    reasoning, answer = row["reasoning"], row["answer"]
    if not isinstance(reasoning, str) or not reasoning.strip():
        raise DataError("empty or non-text reasoning", field="reasoning")
    if not isinstance(answer, str):
        answer = str(answer) if isinstance(answer, (int, float)) else None
    if answer is None or not answer.strip():
        raise DataError("empty or non-text answer", field="answer")
    if fmt.box_answer and "\\boxed" not in answer:
        answer = f"\\boxed{{{answer.strip()}}}"
    if row.get(fmt.messages_column):
        turns = [t for t in _chat(row[fmt.messages_column], fmt.messages_column) if t["role"] != "assistant"]
        prompt = _with_system(turns, fmt)
    else:
        prompt = _prompt_from_problem(row, fmt)
    return [(0, prompt + [_turn("assistant", format_response(reasoning, answer))])]


@dataclass(frozen=True)
class Layout:
    name: str
    columns: tuple[str, ...]
    description: str
    build: Callable[[Mapping[str, Any], SFTFormat, Counter], list[tuple[int, list[dict[str, str]]]]]
    per_generation: bool = False


LAYOUTS: dict[str, Layout] = {
    layout.name: layout
    for layout in [
        Layout("r1lab", ("generations",), "r1lab generate/grade output", _from_r1lab, per_generation=True),
        Layout(
            "openr1-math",
            ("generations", "correctness_math_verify"),
            "OpenR1-Math",
            _from_openr1_math,
            per_generation=True,
        ),
        Layout(
            "conversations",
            ("conversations",),
            "Bespoke-Stratos / OpenThoughts / Sky-T1",
            _from_conversations,
        ),
        Layout(
            "reasoning-answer", ("reasoning", "answer"), "dolphin-r1, r1lab task rows", _from_reasoning_answer
        ),
        Layout("messages", ("messages",), "OpenAI chat messages", _from_messages),
        Layout(
            "prompt-completion", ("prompt", "completion"), "TRL prompt/completion", _from_prompt_completion
        ),
    ]
}
ALIASES = {
    "generate": "r1lab",
    "grade": "r1lab",
    "openr1": "openr1-math",
    "bespoke-stratos": "conversations",
    "openthoughts": "conversations",
    "sky-t1": "conversations",
    "sharegpt": "conversations",
    "dolphin-r1": "reasoning-answer",
    "chat": "messages",
    "openai": "messages",
}


def layout_names() -> list[str]:
    return ["auto", *LAYOUTS, *ALIASES]


def detect_layout(columns: Sequence[str], fmt: SFTFormat | None = None) -> str:
    """The layout a set of columns is in; DataError listing the columns when none fits."""
    fmt = fmt or SFTFormat()
    have = set(columns)
    if {"generations", "correctness_math_verify"} <= have:
        return "openr1-math"
    if "generations" in have:
        return "r1lab"
    if "conversations" in have:
        return "conversations"
    if {"reasoning", "answer"} <= have and (fmt.messages_column in have or fmt.prompt_column in have):
        return "reasoning-answer"
    if fmt.messages_column in have:
        return "messages"
    if {"prompt", "completion"} <= have:
        return "prompt-completion"
    raise DataError(
        f"cannot tell the layout of these rows; the columns are: {', '.join(columns) or '(none)'}. Known layouts: "
        + "; ".join(f"{lay.name} ({' + '.join(lay.columns)}: {lay.description})" for lay in LAYOUTS.values())
        + ". Name one with --from, or rename columns (--prompt-column, --messages-column)"
    )


def resolve_layout(layout: str, columns: Sequence[str], fmt: SFTFormat) -> Layout:
    """The layout named (or detected, for "auto"), checked against the columns present."""
    name = layout.lower()
    if name == "auto":
        name = detect_layout(columns, fmt)
    name = ALIASES.get(name, name)
    if name not in LAYOUTS:
        raise DataError(f"unknown layout {layout!r}; choose one of: {', '.join(layout_names())}")
    spec = LAYOUTS[name]
    needed = tuple(fmt.messages_column if c == "messages" else c for c in spec.columns)
    missing = [c for c in needed if c not in columns]
    if missing:
        raise DataError(
            f"layout {name!r} needs column(s) {', '.join(missing)}; the columns are: {', '.join(columns) or '(none)'}"
        )
    return spec


def _format_from(options: Mapping[str, Any]) -> SFTFormat:
    valid = {f.name for f in fields(SFTFormat)}
    unknown = set(options) - valid
    if unknown:
        raise TypeError(f"unknown option(s) {', '.join(sorted(unknown))}; valid: {', '.join(sorted(valid))}")
    return SFTFormat(**options)


def to_sft_examples(
    row: Mapping[str, Any], layout: str = "auto", **options: Any
) -> list[list[dict[str, str]]]:
    """The chat examples of one row: lists of {role, content}, reasoning in <think>...</think> before the answer.

    ``layout`` is a name from ``LAYOUTS`` (or an alias) or "auto"; ``options`` are ``SFTFormat``
    fields (prompt_template, system_prompt, include_incorrect, ...). A row with several
    generations gives several examples; with a correctness column only the correct ones, so the
    list may be empty. Malformed rows raise DataError naming the field.
    """
    fmt = _format_from(options)
    spec = resolve_layout(layout, list(row), fmt)
    return [messages for _, messages in spec.build(row, fmt, Counter())]


def _bare_message(exc: DataError) -> str:
    """The message of a DataError without its "field 'x': " prefix (re-raised with file and row added)."""
    text = str(exc)
    prefix = f"field {exc.field!r}: "
    return text[len(prefix) :] if exc.field and text.startswith(prefix) else text


def convert(config: ConvertConfig, rows: Iterable[Mapping[str, Any]] | None = None) -> ConvertStats:
    """Stream ``config.input`` (or ``rows``) to ``config.output`` as SFT rows: ``id``, ``messages`` [+ kept columns].

    Output ids are the source row's ``id`` (or a hash of its first user turn), with ``-k`` added for
    generation ``k`` in layouts with several generations per row.
    """
    fmt = SFTFormat(**{f.name: getattr(config, f.name) for f in fields(SFTFormat)})
    stream = open_rows(config.input if rows is None else rows, split=config.split)
    if not stream.columns:
        logger.warning("%s holds no rows; writing an empty %s", stream.name, config.output)
        with RowWriter(config.output):
            pass
        return ConvertStats(layout=config.layout, output=config.output)
    spec = resolve_layout(config.layout, stream.columns, fmt)
    missing_keep = [c for c in config.keep_columns if c not in stream.columns]
    if missing_keep:
        raise DataError(f"--keep-columns names missing column(s) {', '.join(missing_keep)}", path=stream.name)
    logger.info("converting %s from the %s layout (%s)", stream.name, spec.name, spec.description)
    stats = ConvertStats(layout=spec.name, output=config.output)
    shown = 0
    with RowWriter(config.output) as writer:
        for i, row in enumerate(progress(stream, total=stream.total, desc="convert")):
            stats.rows += 1
            try:
                examples = spec.build(row, fmt, stats.dropped)
            except DataError as exc:
                error = DataError(_bare_message(exc), path=stream.name, row=i + 1, field=exc.field)
                if config.strict:
                    raise error from None
                stats.skipped_rows += 1
                if shown < 10:
                    logger.warning("skipped: %s", error)
                    shown += 1
                continue
            base = str(row["id"]) if row.get("id") is not None else None
            for k, messages in examples:
                if base is None:
                    base = stable_id(next((m["content"] for m in messages if m["role"] == "user"), ""))
                out: dict[str, Any] = {
                    "id": f"{base}-{k}" if spec.per_generation else base,
                    "messages": messages,
                }
                for column in config.keep_columns:
                    out[column] = row[column]
                writer.write(out)
        stats.examples = writer.count
    if stats.skipped_rows > shown:
        logger.warning("skipped %d malformed rows in all (the first %d shown)", stats.skipped_rows, shown)
    logger.info(
        "%d rows -> %d examples (%s) in %s",
        stats.rows,
        stats.examples,
        ", ".join(f"{reason}: {n} dropped" for reason, n in sorted(stats.dropped.items()))
        or "nothing dropped",
        config.output,
    )
    return stats
