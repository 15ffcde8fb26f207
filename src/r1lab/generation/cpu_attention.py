"""Attention for transformers' continuous batching on a CPU: each query over its own request's keys.

transformers' continuous batching packs every request of a step into one row of tokens and, with
SDPA (the only non-flash choice it accepts), attends that row with a block-diagonal mask: each
decoding request's one query is multiplied with the keys of *all* requests in the batch, and
grouped-query models first copy the whole cache once per query head group (``repeat_kv``). On a
GPU flash attention's varlen kernel avoids both; a CPU has no such kernel, so the attention work
of a decode step grows with (requests in flight) x (all their cached tokens) and the cache copy
with it. Measured in-process on SmolLM2-135M (2 cores, 32 requests, 128 new tokens): attention
was a quarter of the step time, and a per-request loop of small SDPA calls was no cheaper, its
cost being dispatch (docs/real-model.md).

``paged_sdpa`` computes the same attention batched the way offline ``generate`` does: the
decoding requests' keys and values are gathered into one padded ``[requests, kv_heads, longest,
head_dim]`` tensor, the queries are grouped per key/value head (no ``repeat_kv``), and one SDPA
call with a padding mask serves all of them; requests still prefilling (several queries) get one
SDPA call each with their slice of transformers' own mask. Anything else (no packed batch or mask,
a sliding window, attention sinks, dropout) goes to transformers' SDPA unchanged.

It is plugged in with transformers' own ``AttentionInterface`` under the ``"sdpa"`` name, because
continuous batching accepts no other non-flash name; ``register`` does that, and r1lab does it
only in the CPU server process it starts (``python -m r1lab.generation.serve_cpu``).
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

_original_sdpa = None


def _plan(cu_q: list[int], cu_k: list[int]) -> tuple[list[int], list[int]]:
    """Split a packed step into decoding requests (one query each) and prefilling ones."""
    decode, prefill = [], []
    for i in range(len(cu_q) - 1):
        q_len = cu_q[i + 1] - cu_q[i]
        if q_len == 1:
            decode.append(i)
        elif q_len > 1:
            prefill.append(i)
    return decode, prefill


def _per_request(packed, index, requests: int, longest: int):
    """Keys (or values) ``[1, kv_heads, packed keys, head_dim]`` -> ``[requests, kv_heads, longest, head_dim]``.

    The cache hands them back as a view of ``[packed keys, kv_heads, head_dim]``: whole rows of that
    are gathered (``index``: each request's key positions, padded to ``longest``), then viewed per request.
    """
    rows = packed[0].transpose(0, 1).index_select(0, index)
    return rows.view(requests, longest, packed.shape[1], packed.shape[3]).transpose(1, 2)


def paged_sdpa(module, query, key, value, attention_mask, dropout=0.0, scaling=None, **kwargs):
    """SDPA for a continuous-batching step on a CPU; the signature of transformers' attention functions.

    ``query`` is ``[1, heads, packed queries, head_dim]`` and ``key``/``value`` are ``[1, kv_heads,
    packed keys, head_dim]``, each request's slice given by ``cu_seq_lens_q``/``cu_seq_lens_k``.
    Returns ``([1, packed queries, heads, head_dim], None)`` like transformers' SDPA.
    """
    import torch

    cu_seq_lens_q, cu_seq_lens_k = kwargs.get("cu_seq_lens_q"), kwargs.get("cu_seq_lens_k")
    if (
        not torch.is_tensor(cu_seq_lens_q)
        or not torch.is_tensor(cu_seq_lens_k)
        or query.shape[0] != 1
        or query.device.type != "cpu"
        or attention_mask is None
        or dropout
        or getattr(module, "sliding_window", None)
        or hasattr(module, "sinks")
        or kwargs.get("position_bias") is not None
        or kwargs.get("softcap") is not None
    ):
        return _original_sdpa(
            module, query, key, value, attention_mask, dropout=dropout, scaling=scaling, **kwargs
        )

    cu_q, cu_k = cu_seq_lens_q.tolist(), cu_seq_lens_k.tolist()
    decode, prefill = _plan(cu_q, cu_k)
    heads, kv_heads, head_dim = query.shape[1], key.shape[1], query.shape[3]
    group = heads // kv_heads
    out = query.new_zeros(1, query.shape[2], heads, head_dim)

    if decode:
        starts = torch.tensor([cu_k[i] for i in decode])
        lengths = torch.tensor([cu_k[i + 1] - cu_k[i] for i in decode])
        longest = int(lengths.max())
        offsets = torch.arange(longest)
        valid = offsets[None, :] < lengths[:, None]  # [requests, longest]
        index = (starts[:, None] + offsets[None, :]).clamp(max=key.shape[2] - 1).flatten()
        keys, values = (_per_request(packed, index, len(decode), longest) for packed in (key, value))
        rows = torch.tensor([cu_q[i] for i in decode])
        # [1, heads, queries, head_dim] -> [requests, kv_heads, group, head_dim]: a group's query heads as rows
        queries = query[0].transpose(0, 1).index_select(0, rows).view(len(decode), kv_heads, group, head_dim)
        attended = torch.nn.functional.scaled_dot_product_attention(
            queries, keys, values, attn_mask=valid[:, None, None, :], scale=scaling
        )  # [requests, kv_heads, group, head_dim]
        out[0].index_copy_(0, rows, attended.reshape(len(decode), heads, head_dim))

    for i in prefill:
        q0, q1, k0, k1 = cu_q[i], cu_q[i + 1], cu_k[i], cu_k[i + 1]
        keys = key[:, :, k0:k1].repeat_interleave(group, dim=1)
        values = value[:, :, k0:k1].repeat_interleave(group, dim=1)
        attended = torch.nn.functional.scaled_dot_product_attention(
            query[:, :, q0:q1], keys, values, attn_mask=attention_mask[..., q0:q1, k0:k1], scale=scaling
        )
        out[:, q0:q1] = attended.transpose(1, 2)
    return out, None


def register() -> None:
    """Make ``paged_sdpa`` transformers' ``"sdpa"`` attention in this process (idempotent)."""
    global _original_sdpa
    from transformers import AttentionInterface
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    if _original_sdpa is None:
        _original_sdpa = sdpa_attention_forward
        AttentionInterface.register("sdpa", paged_sdpa)
        logger.info("continuous batching on CPU: batched per-request attention registered as 'sdpa'")


def unregister() -> None:
    """Give ``"sdpa"`` back to transformers' own function (tests; a process that registered and is done)."""
    global _original_sdpa
    from transformers import AttentionInterface

    if _original_sdpa is not None:
        AttentionInterface.register("sdpa", _original_sdpa)
        _original_sdpa = None
