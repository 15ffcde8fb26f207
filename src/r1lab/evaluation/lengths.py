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

Which one was used is recorded in results.json as ``response_length.source``.
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


def split_total(
    total: int,
    weights: Sequence[float],
    finish_reasons: Sequence[str | None] = (),
    max_tokens: int | None = None,
) -> list[int]:
    """Share a row's exact token total among its samples; the sum stays exactly ``total``.

    A sample that stopped at the limit (finish_reason ``length``) generated exactly
    ``max_tokens`` tokens, so it gets that; the rest of the total is split over the other samples
    in proportion to ``weights`` (their re-tokenized length, or their character count). When the
    numbers disagree (a server that counts differently) the whole total is split by weight.
    """
    count = len(weights)
    if count == 0:
        return []
    truncated = [
        i for i in range(count) if max_tokens and i < len(finish_reasons) and finish_reasons[i] == "length"
    ]
    counts = [0] * count
    free = [i for i in range(count) if i not in truncated]
    rest = total - len(truncated) * (max_tokens or 0)
    if truncated and rest >= 0 and (free or rest == 0):
        for i in truncated:
            counts[i] = int(max_tokens or 0)
    else:
        free, rest = list(range(count)), total
    if free:
        share = [max(float(weights[i]), 0.0) for i in free]
        if not sum(share):
            share = [1.0] * len(free)
        whole = sum(share)
        parts = [int(rest * w // whole) for w in share]
        # Hand out the rounding remainder, largest weights first, so the sum is exact.
        for k in sorted(range(len(free)), key=lambda k: -share[k])[: rest - sum(parts)]:
            parts[k] += 1
        for i, part in zip(free, parts, strict=True):
            counts[i] = part
    return counts


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
    max_tokens: int | None = None,
) -> tuple[list[list[int]], str]:
    """Per-sample completion token counts for each row, and where they came from.

    ``samples`` are the texts to measure (reasoning + answer when the server split them). The
    source is ``usage`` when every row stated exact counts, else ``usage+tokenizer:NAME`` or
    ``usage+chars``: the row's exact total split as ``split_total`` describes.
    """
    exact = [per_sample_from_row(row, len(texts)) for row, texts in zip(rows, samples, strict=True)]
    if all(counts is not None for counts in exact):
        return [list(c) for c in exact], "usage"  # type: ignore[arg-type]
    tokenizer, source = None, "usage+chars"
    for name in tokenizer_names:
        try:
            tokenizer = load_tokenizer(name)
            source = f"usage+tokenizer:{name}"
            break
        except Exception as exc:  # a missing or remote-only tokenizer: try the next one
            logger.debug("tokenizer %s unavailable: %s", name, exc)
    if tokenizer is None:
        logger.info(
            "no per-sample token counts in the generation rows and no local tokenizer (--tokenizer): "
            "each row's exact total is split over its samples by text length"
        )
    out: list[list[int]] = []
    for row, texts, counts in zip(rows, samples, exact, strict=True):
        if counts is not None:
            out.append(list(counts))
            continue
        if tokenizer is not None:
            weights = [len(tokenizer(text, add_special_tokens=False)["input_ids"]) for text in texts]
        else:
            weights = [len(text) for text in texts]
        usage = row.get("usage") or {}
        total = usage.get("completion_tokens") if isinstance(usage, Mapping) else None
        if not isinstance(total, int) or total <= 0:
            out.append([int(w) for w in weights])  # no usage at all: the measurement is all there is
            continue
        out.append(split_total(total, weights, row.get("finish_reasons") or [], max_tokens))
    return out, source
