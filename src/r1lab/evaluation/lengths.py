"""Per-sample completion token counts, from whatever the generation rows carry.

Length statistics need one count per sample, but servers report ``usage`` per *request*, and
the generation engine sums it over a row's N samples. The counts are therefore taken, in order
of preference, from:

1. a per-sample list in the row (``completion_tokens`` list, or ``usage.completion_tokens_per_generation``);
2. ``usage.completion_tokens`` when the row has a single sample (then the total is that sample's);
3. a tokenizer (``EvalConfig.tokenizer``, else the served model's directory, else ``model`` when
   it is a local directory), which re-tokenizes each sample's text;
4. the row total split across samples in proportion to their text length (exact in sum,
   estimated per sample).

Which one was used is recorded in results.json as ``length_source``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


def per_sample_from_row(row: Mapping[str, Any], count: int) -> list[int] | None:
    """Exact per-sample counts when the row states them (cases 1 and 2), else None."""
    listed = row.get("completion_tokens")
    usage = row.get("usage") or {}
    if not isinstance(listed, list):
        listed = usage.get("completion_tokens_per_generation") if isinstance(usage, Mapping) else None
    if isinstance(listed, list) and len(listed) >= count and all(isinstance(v, int) for v in listed[:count]):
        return list(listed[:count])
    total = usage.get("completion_tokens") if isinstance(usage, Mapping) else None
    if count == 1 and isinstance(total, int):
        return [total]
    return None


def split_total(total: int, texts: Sequence[str]) -> list[int]:
    """Share a row's token total among its samples in proportion to their character counts."""
    chars = [len(t) for t in texts]
    whole = sum(chars)
    if whole == 0:
        return [round(total / len(texts))] * len(texts) if texts else []
    return [round(total * c / whole) for c in chars]


@lru_cache(maxsize=4)
def load_tokenizer(name_or_path: str):
    """A tokenizer from a local directory or the local HF cache; never downloads."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(name_or_path, local_files_only=True)


def tokenizer_candidates(tokenizer: str | None, serve_model: str | None, model: str | None) -> list[str]:
    names = [tokenizer, serve_model]
    if model and Path(model).is_dir():
        names.append(model)
    return [n for n in names if n]


def count_tokens(
    rows: Sequence[Mapping[str, Any]],
    samples: Sequence[Sequence[str]],
    tokenizer_names: Sequence[str],
) -> tuple[list[list[int]], str]:
    """Per-sample completion token counts for each row, and the source they came from."""
    exact = [per_sample_from_row(row, len(texts)) for row, texts in zip(rows, samples, strict=True)]
    if all(counts is not None for counts in exact):
        return [list(c) for c in exact], "usage"  # type: ignore[arg-type]
    tokenizer = None
    for name in tokenizer_names:
        try:
            tokenizer = load_tokenizer(name)
            source = f"tokenizer:{name}"
            break
        except Exception as exc:  # a missing or remote-only tokenizer: try the next one
            logger.debug("tokenizer %s unavailable: %s", name, exc)
    if tokenizer is None:
        logger.warning(
            "the generation rows carry no per-sample token counts and no local tokenizer was found "
            "(pass --tokenizer): per-sample lengths are the row totals split by text length"
        )
        source = "usage_split_by_chars"
    out: list[list[int]] = []
    for row, texts, counts in zip(rows, samples, exact, strict=True):
        if counts is not None:
            out.append(list(counts))
        elif tokenizer is not None:
            out.append([len(tokenizer(text, add_special_tokens=False)["input_ids"]) for text in texts])
        else:
            usage = row.get("usage") or {}
            total = usage.get("completion_tokens", 0) if isinstance(usage, Mapping) else 0
            out.append(split_total(int(total or 0), texts))
    return out, source
