"""Text normalization, word n-grams and the text columns of a row: shared by decontaminate and dedup.

Two normalizations, on purpose:

* ``normalize_text`` (exact dedup) folds Unicode (NFKC), case and whitespace but keeps punctuation,
  because in math ``x+1`` and ``x-1`` are different problems and must never merge as duplicates.
* ``words`` (n-gram matching) also drops punctuation: a word is a run of letters or digits, so
  ``apples,`` matches ``apples`` and LaTeX ``\\frac{1}{2}`` reads as ``frac 1 2``. Contamination
  checks should err towards recall; GPT-3's and Llama's decontamination strip punctuation too.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from r1lab.errors import DataError

_WORD = re.compile(r"[^\W_]+")
_SPACE = re.compile(r"\s+")

#: Columns that hold the problem, in the order they are looked for when none is named.
PROMPT_COLUMNS = ("problem", "prompt", "question", "instruction", "input")
#: Columns that hold a conversation, in the order they are looked for.
MESSAGE_COLUMNS = ("messages", "conversations")
#: The speaker keys of ShareGPT-style turns ({from, value}) mapped onto chat roles.
SHAREGPT_ROLES = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "system": "system",
}


def normalize_text(text: str) -> str:
    """NFKC, lowercase, whitespace runs collapsed to one space, ends stripped (punctuation kept)."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text).lower()).strip()


def words(text: str) -> list[str]:
    """The lowercased words of a text: runs of letters/digits after NFKC; punctuation separates."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).lower())


def ngrams(tokens: Sequence[str], n: int) -> Iterator[tuple[str, ...]]:
    """Consecutive n-grams of a token list (none when it is shorter than n)."""
    return zip(*(tokens[i:] for i in range(n)), strict=False)  # shorter tails end it


def message_role(message: Mapping[str, Any]) -> str | None:
    """The chat role of a turn in OpenAI (role/content) or ShareGPT (from/value) form."""
    role = message.get("role")
    if role is None and "from" in message:
        role = SHAREGPT_ROLES.get(str(message["from"]).lower(), str(message["from"]).lower())
    return role


def message_content(message: Mapping[str, Any]) -> str:
    """The text of a turn; OpenAI content parts ([{type: text, text}]) are joined."""
    content = message.get("content", message.get("value"))
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, Mapping))
    return str(content)


def is_conversation(value: Any) -> bool:
    """True for a list of chat turns (dicts with role/content or from/value)."""
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(m, Mapping) and ("role" in m or "from" in m) for m in value)
    )


def default_text_columns(columns: Sequence[str]) -> list[str]:
    """The column checked when none is named: the problem/prompt column, else the conversation."""
    for name in PROMPT_COLUMNS + MESSAGE_COLUMNS:
        if name in columns:
            return [name]
    raise DataError(
        "found no problem or conversation column to check; name one with --columns. "
        f"Looked for: {', '.join(PROMPT_COLUMNS + MESSAGE_COLUMNS)}; the columns are: {', '.join(columns) or '(none)'}"
    )


def row_texts(
    row: Mapping[str, Any],
    columns: Sequence[str],
    roles: Sequence[str] = ("user",),
    *,
    source: str | None = None,
    index: int | None = None,
) -> list[str]:
    """The texts to check in a row: string columns whole, list columns per item, conversations per turn.

    Only the turns whose role is in ``roles`` count (by default the user turns: a problem is what
    contaminates, a reasoning trace about it is the consequence). Each text is checked on its own,
    so an n-gram never spans two columns or two turns.
    """
    texts: list[str] = []
    for column in columns:
        if column not in row:
            raise DataError(
                f"missing column; the row has: {', '.join(row) or '(none)'}",
                path=source,
                row=None if index is None else index + 1,
                field=column,
            )
        value = row[column]
        if value is None:
            continue
        if isinstance(value, str):
            texts.append(value)
        elif is_conversation(value):
            texts.extend(message_content(m) for m in value if message_role(m) in roles)
        elif isinstance(value, list):
            texts.extend(v for v in value if isinstance(v, str))
        else:
            texts.append(str(value))
    return texts


def comma_list(values: Sequence[str]) -> list[str]:
    """``["a,b", "c"]`` -> ``["a", "b", "c"]``: list options accept both repeated and comma-separated values."""
    return [part.strip() for value in values for part in str(value).split(",") if part.strip()]
