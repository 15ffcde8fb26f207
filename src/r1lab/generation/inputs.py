"""Reading the prompts of a run: open the source, check it, give each row its id, pick this shard.

All checks run before any request is sent: a missing column names the source and lists the columns
it has, and an empty prompt names its row. Ids come from ``--id-column``, else from an ``id`` column
when the input has one (rows from r1lab's data stage and the bundled benchmarks do), else from a hash
of the prompt (``r1lab.data.io.stable_id``), so the same prompt gets the same id on every machine and rerun.
Shards are chosen by a hash of that id (not by position), so a shard keeps its rows when the input
file is reordered or grows.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from r1lab.data.io import open_dataset, stable_id
from r1lab.errors import ConfigError, DataError
from r1lab.generation.config import GenerateConfig
from r1lab.prompts import (
    build_messages,
    preamble_messages,
    render_prompt,
    resolve_template,
    template_fields,
)

logger = logging.getLogger(__name__)


def shard_of(row_id: str, num_shards: int) -> int:
    """The shard a row belongs to: a hash of its id, so the split is the same on every node."""
    if num_shards == 1:
        return 0
    return int(hashlib.sha256(row_id.encode("utf-8")).hexdigest()[:8], 16) % num_shards


def open_source(config: GenerateConfig, rows: Any = None) -> tuple[Any, str]:
    """The rows to generate from (a Dataset or a list of dicts) and a name for error messages."""
    if rows is not None:
        return rows, "rows"
    if not config.input:
        raise ConfigError("no input: give --input (a benchmark name, a file or a Hugging Face dataset)")
    from r1lab.data.benchmarks import BENCHMARKS, load_benchmark

    if config.input in BENCHMARKS:
        return load_benchmark(config.input), config.input
    return open_dataset(config.input, split=config.split), config.input


def _columns(rows: Any) -> list[str]:
    if hasattr(rows, "column_names"):
        return list(rows.column_names or [])
    return list(rows[0].keys()) if len(rows) else []


def _column_values(rows: Any, column: str) -> Sequence[Any]:
    if hasattr(rows, "column_names"):
        return list(rows[column])
    return [row.get(column) for row in rows]


def prompt_key(value: Any) -> str:
    """The text an id is hashed from: the prompt itself, or the messages as canonical JSON."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)


def _is_messages(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(m, Mapping) and "role" in m and "content" in m for m in value)
    )


@dataclass
class InputPlan:
    """Which rows of the source this run generates, with their ids.

    ``selected`` is in source order, unless a length prior reordered it (longest expected first).
    """

    rows: Any
    source: str
    ids: list[str]
    selected: list[int]
    rows_total: int = 0
    rows_skipped: int = 0
    duplicates: int = 0
    templated_columns: list[str] = field(default_factory=list)

    def iter_rows(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(id, row) for each selected row, in ``selected`` order; only the selected rows are read."""
        if hasattr(self.rows, "select"):  # a datasets.Dataset: sequential reads over an index mapping
            for index, row in zip(self.selected, self.rows.select(self.selected), strict=True):
                yield self.ids[index], dict(row)
        else:
            for index in self.selected:
                yield self.ids[index], dict(self.rows[index])


def plan_input(config: GenerateConfig, rows: Any, source: str, done: set[str]) -> InputPlan:
    """Check the source and choose this run's rows: this shard, first occurrence of each id, not done."""
    columns = _columns(rows)
    if len(rows) == 0:
        return InputPlan(rows, source, [], [])
    if config.prompt_column not in columns:
        raise DataError(
            f"missing column {config.prompt_column!r}; the columns are: {', '.join(columns) or '(none)'}",
            path=source,
        )
    if config.id_column and config.id_column not in columns:
        raise DataError(
            f"missing id column {config.id_column!r}; the columns are: {', '.join(columns)}", path=source
        )
    template = resolve_template(config.prompt_template)
    wanted = [name for name in template_fields(template) if name != "problem"]
    missing = [name for name in wanted if name not in columns]
    if missing:
        raise DataError(
            f"the prompt template uses {', '.join(repr(m) for m in missing)}, which the input lacks; "
            f"the columns are: {', '.join(columns)}",
            path=source,
        )
    prompts = _column_values(rows, config.prompt_column)
    # Rows from r1lab's data stage (and the bundled benchmarks) carry an `id` already: keep it.
    id_column = config.id_column or ("id" if "id" in columns else None)
    id_values = _column_values(rows, id_column) if id_column else None
    ids: list[str] = []
    for index, prompt in enumerate(prompts):
        if isinstance(prompt, str):
            if not prompt.strip():
                raise DataError("empty prompt", path=source, row=index + 1, field=config.prompt_column)
        elif _is_messages(prompt):
            if config.api == "completions":
                raise DataError(
                    "holds chat messages, which need --api chat",
                    path=source,
                    row=index + 1,
                    field=config.prompt_column,
                )
        else:
            raise DataError(
                f"expected prompt text or a list of chat messages, got {type(prompt).__name__}",
                path=source,
                row=index + 1,
                field=config.prompt_column,
            )
        if id_values is not None:
            value = id_values[index]
            if value is None or str(value) == "":
                raise DataError("empty id", path=source, row=index + 1, field=id_column)
            ids.append(str(value))
        else:
            ids.append(stable_id(prompt_key(prompt)))
    if config.max_tokens_column:  # checked before any request: a bad budget fails no run midway
        if config.max_tokens_column not in columns:
            raise DataError(f"--max-tokens-column {config.max_tokens_column!r}: no such column", path=source)
        for index, value in enumerate(_column_values(rows, config.max_tokens_column)):
            if value is not None and not _is_token_count(value):
                raise DataError(
                    f"must be a whole number of tokens >= 1, not {value!r}",
                    path=source, row=index + 1, field=config.max_tokens_column,
                )  # fmt: skip
    plan = InputPlan(rows, source, ids, [], templated_columns=wanted)
    seen: set[str] = set()
    for index, row_id in enumerate(ids):
        if shard_of(row_id, config.num_shards) != config.shard_index:
            continue
        if row_id in seen:
            plan.duplicates += 1
            continue
        seen.add(row_id)
        if config.limit is not None and len(seen) > config.limit:
            break
        plan.rows_total += 1
        if row_id in done:
            plan.rows_skipped += 1
            continue
        plan.selected.append(index)
    if plan.duplicates:
        logger.warning(
            "%s: %d rows repeat an earlier row's id (same prompt?) and are generated once; "
            "give --id-column to tell them apart",
            source,
            plan.duplicates,
        )
    return plan


def build_request(config: GenerateConfig, row: Mapping[str, Any]) -> dict[str, Any]:
    """The request body for a row, without ``n``: the messages (chat) or the prompt text (completions)."""
    prompt = row[config.prompt_column]
    body: dict[str, Any] = {
        "model": config.model,
        "max_tokens": config.max_tokens,
        "temperature": config.temperature,
        "top_p": config.top_p,
    }
    if config.api == "chat":
        if _is_messages(prompt):
            messages = [dict(m) for m in prompt]
            if messages[0]["role"] != "system":  # a chat that brings its own system turn keeps it alone
                messages = preamble_messages(config.system_prompt, config.prompt_template) + messages
            body["messages"] = messages
        else:
            body["messages"] = build_messages(
                row, config.prompt_template, config.system_prompt, config.prompt_column
            )
    else:
        text = render_prompt(row, config.prompt_template, config.prompt_column)
        preamble = preamble_messages(config.system_prompt, config.prompt_template)
        body["prompt"] = "\n\n".join([*(turn["content"] for turn in preamble), text])
    body.update(config.extra_body)
    if config.max_tokens_column and row.get(config.max_tokens_column) is not None:
        body["max_tokens"] = int(row[config.max_tokens_column])  # checked by ``plan_input``
    return body


def _is_token_count(value: Any) -> bool:
    return (
        not isinstance(value, bool) and isinstance(value, int | float) and value >= 1 and value == int(value)
    )
