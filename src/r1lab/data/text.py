"""Text normalization, word n-grams and the text columns of a row: shared by decontaminate and dedup.

Three views of a text, each chosen for its job:

* ``normalize_text`` (exact dedup) folds Unicode (NFKC), case and whitespace but keeps punctuation,
  because in math ``x+1`` and ``x-1`` are different problems and must never merge as duplicates.
* ``match_words`` (decontamination n-grams): whitespace-separated words, lowercased, with
  punctuation stripped from their ends only, so ``apples,`` matches ``apples`` and ``$x$`` matches
  ``x``, while a formula such as ``x^2+3x`` stays one word. Measured on MATH-500 against itself,
  29 of 500 distinct problems share an 8-gram with another one this way (stock phrasing such as
  "let a, b, c, d be positive real numbers such that"), 27 with raw whitespace words (Open-R1),
  but 48 when all punctuation splits words: LaTeX and Asymptote code then fall apart into many
  short "words" that distinct problems share.
* ``words`` (near-dedup shingles): runs of letters/digits, so re-typesetting a formula
  (``x^2+3x`` vs ``x^2 + 3x``) does not make two texts look different.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from r1lab.errors import DataError

_WORD = re.compile(r"[^\W_]+")
# Leading punctuation except a backslash (LaTeX commands keep it); any trailing punctuation.
_EDGE_PUNCTUATION = re.compile(r"^[^\w\\]+|[^\w]+$")
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


def match_words(text: str) -> list[str]:
    """Lowercased whitespace words (after NFKC) with punctuation stripped from their ends; empty ones dropped."""
    out = []
    for token in unicodedata.normalize("NFKC", text).lower().split():
        if not (token[0].isalnum() and token[-1].isalnum()):  # most words need no regex: 2x faster
            token = _EDGE_PUNCTUATION.sub("", token)
            if not token:
                continue
        out.append(token)
    return out


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
