"""Build the tiny causal LM that tests and the demo use: no download, about a million parameters.

It is a real Qwen3 (or Llama) architecture at toy size, saved with ``save_pretrained`` so every
tool that loads hub models (TRL, ``transformers serve``, vLLM) loads it unchanged. Qwen3Config, not
Qwen2Config: reloading a custom tokenizer under a qwen2 config silently swaps it for Qwen2's.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import torch
from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM, Qwen3Config, Qwen3ForCausalLM

from r1lab.errors import ConfigError
from r1lab.models.config import TinyModelConfig
from r1lab.models.tokenizer import build_char_tokenizer

logger = logging.getLogger(__name__)


def build_tiny_model(out_dir: str | os.PathLike, config: TinyModelConfig | None = None) -> Path:
    """Create a randomly initialised tiny model + the char tokenizer in ``out_dir``; return the path.

    The saved generation config samples (``do_sample: true``) so servers that follow it, such as
    ``transformers serve``, produce varied generations; ``<|im_end|>`` ends a turn.
    """
    config = config or TinyModelConfig()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = build_char_tokenizer()
    common = dict(
        vocab_size=len(tokenizer),
        hidden_size=config.hidden_size,
        num_hidden_layers=config.num_layers,
        num_attention_heads=config.num_heads,
        num_key_value_heads=config.num_kv_heads,
        intermediate_size=config.intermediate_size,
        max_position_embeddings=config.max_position_embeddings,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
    )
    if config.arch == "qwen3":
        model_config = Qwen3Config(head_dim=config.hidden_size // config.num_heads, **common)
        model_cls = Qwen3ForCausalLM
    elif config.arch == "llama":
        model_config = LlamaConfig(**common)
        model_cls = LlamaForCausalLM
    else:
        raise ConfigError(f"unknown arch {config.arch!r}: use qwen3 or llama")
    torch.manual_seed(config.seed)
    model = model_cls(model_config)
    model.generation_config = GenerationConfig(
        do_sample=True,
        temperature=1.0,
        top_p=1.0,
        top_k=0,
        max_new_tokens=256,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    n_params = sum(p.numel() for p in model.parameters())
    logger.info("built tiny %s model with %.2fM parameters in %s", config.arch, n_params / 1e6, out)
    return out
