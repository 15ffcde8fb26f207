"""r1lab's CPU attention for continuous batching computes what transformers' SDPA computes.

``paged_sdpa`` replaces transformers' SDPA (a block-diagonal mask over every request's keys) by a
batched per-request computation; it must give the same attention output on a packed step of
decoding and prefilling requests, and the same greedy tokens through transformers' real
continuous-batching engine. bench/serving.py measures the speed.
"""

from __future__ import annotations

import pytest
import torch

from r1lab.generation import cpu_attention
from r1lab.generation.server import serve_command


class _GroupedQueryModule(torch.nn.Module):
    """What attention functions read from the layer: the query heads per key/value head."""

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.num_key_value_groups = groups


def _packed_step(query_lengths, key_lengths, heads=6, kv_heads=2, head_dim=8, seed=0):
    """Random packed query/key/value for one step and continuous batching's mask and offsets.

    Request i has ``key_lengths[i]`` keys (its past plus its new tokens) and ``query_lengths[i]``
    new tokens, the last ones of its keys; the mask lets each query see its own request's keys up
    to its own position, as transformers builds it for SDPA (additive, dtype minimum elsewhere).
    """
    generator = torch.Generator().manual_seed(seed)
    total_q, total_k = sum(query_lengths), sum(key_lengths)
    query = torch.randn(1, heads, total_q, head_dim, generator=generator)
    # The cache hands keys back as a [keys, kv_heads, head_dim] tensor viewed as [1, kv_heads, keys, head_dim].
    key = torch.randn(total_k, kv_heads, head_dim, generator=generator).transpose(0, 1).unsqueeze(0)
    value = torch.randn(total_k, kv_heads, head_dim, generator=generator).transpose(0, 1).unsqueeze(0)
    mask = torch.full((1, 1, total_q, total_k), torch.finfo(torch.float32).min)
    cu_q, cu_k = [0], [0]
    for q_len, k_len in zip(query_lengths, key_lengths, strict=True):
        q0, k0 = cu_q[-1], cu_k[-1]
        for row in range(q_len):
            visible = k_len - q_len + row + 1
            mask[0, 0, q0 + row, k0 : k0 + visible] = 0.0
        cu_q.append(q0 + q_len)
        cu_k.append(k0 + k_len)
    kwargs = {"cu_seq_lens_q": torch.tensor(cu_q), "cu_seq_lens_k": torch.tensor(cu_k, dtype=torch.int32)}
    return query, key, value, mask, kwargs


@pytest.fixture
def registered():
    cpu_attention.register()
    yield
    cpu_attention.unregister()


@pytest.mark.parametrize(
    ("query_lengths", "key_lengths"),
    [
        ([1, 1, 1], [5, 17, 9]),  # decoding only, ragged lengths
        ([1, 6, 1, 7], [12, 10, 3, 7]),  # a prefill chunk after cached tokens, a first chunk, two decodes
        ([4], [4]),  # one prompt prefilled whole
    ],
)
def test_paged_sdpa_matches_transformers_sdpa_on_a_packed_step(registered, query_lengths, key_lengths):
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    query, key, value, mask, kwargs = _packed_step(query_lengths, key_lengths)
    module = _GroupedQueryModule(groups=query.shape[1] // key.shape[1])
    expected, _ = sdpa_attention_forward(module, query, key, value, mask, scaling=0.3, **kwargs)
    got, _ = cpu_attention.paged_sdpa(module, query, key, value, mask, scaling=0.3, **kwargs)
    assert got.shape == expected.shape == (1, sum(query_lengths), query.shape[1], query.shape[3])
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


def test_outside_a_packed_step_it_is_transformers_sdpa(registered):
    """Plain generate (a padded batch, no cu_seq_lens) goes to transformers' SDPA untouched."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    generator = torch.Generator().manual_seed(1)
    query = torch.randn(2, 4, 3, 8, generator=generator)
    key, value = (torch.randn(2, 2, 3, 8, generator=generator) for _ in range(2))
    module = _GroupedQueryModule(groups=2)
    expected, _ = sdpa_attention_forward(module, query, key, value, None, scaling=0.5)
    got, _ = cpu_attention.paged_sdpa(module, query, key, value, None, scaling=0.5)
    torch.testing.assert_close(got, expected)


def test_continuous_batching_gives_the_same_greedy_tokens():
    """transformers' real continuous-batching engine, with chunked prefill (16 tokens per step)."""
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM
    from transformers.generation.configuration_utils import ContinuousBatchingConfig

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=97, hidden_size=48, intermediate_size=96, num_hidden_layers=2,
        num_attention_heads=6, num_key_value_heads=2, max_position_embeddings=256,
    )  # fmt: skip
    model = LlamaForCausalLM(config).eval()
    prompts = [torch.randint(3, 97, (n,)).tolist() for n in (5, 23, 11, 40, 2)]
    generation = GenerationConfig(do_sample=False, max_new_tokens=24, eos_token_id=0, pad_token_id=0)
    batching = ContinuousBatchingConfig(max_batch_tokens=16, num_blocks=16, page_size=32)

    def tokens() -> dict[str, list[int]]:
        outputs = model.generate_batch(
            prompts, generation_config=generation, continuous_batching_config=batching
        )
        return {rid: list(out.generated_tokens) for rid, out in outputs.items()}

    expected = tokens()
    cpu_attention.register()
    try:
        got = tokens()
    finally:
        cpu_attention.unregister()
    assert len(expected) == len(prompts) and all(len(t) == 24 for t in expected.values())
    assert got == expected


def test_every_server_starts_through_r1lab_serve_cpu_and_cpu_attention_is_a_flag():
    command = serve_command("/m", 1234, True, 0.2, None, cpu_attention=True)
    assert command[1:5] == ["-m", "r1lab.generation.serve_cpu", "--r1lab-cpu-attention", "serve"]
    assert "--continuous-batching" in command
    plain = serve_command("/m", 1234, True, 0.2, None, cpu_attention=False)
    assert plain[1:4] == ["-m", "r1lab.generation.serve_cpu", "serve"]  # sampling still made to apply
    # Without continuous batching there is no packed step: no CPU attention.
    assert "--r1lab-cpu-attention" not in serve_command("/m", 1234, False, None, None, cpu_attention=True)


@pytest.mark.server
def test_cpu_attention_is_registered_in_the_models_process(tiny_server):
    """transformers 5.25 loads the model in a spawned process: the registration must happen there."""
    log = tiny_server.log_path.read_text()
    assert "r1lab CPU attention registered" in log, log[-2000:]
    assert tiny_server.engine_info()["mode"] == "continuous batching, r1lab CPU attention"


def test_r1lab_serve_can_start_plain_transformers():
    from r1lab.cli import build_parser

    assert build_parser().parse_args(["serve", "m"]).cpu_attention is True
    assert build_parser().parse_args(["serve", "m", "--plain-transformers"]).cpu_attention is False
    assert build_parser().parse_args(["serve", "m"]).check_sampling is True
    assert build_parser().parse_args(["serve", "m", "--no-sampling-check"]).check_sampling is False
