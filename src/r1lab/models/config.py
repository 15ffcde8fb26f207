"""Sizes of the tiny model (kept apart from the factory so the CLI can list them without importing torch)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TinyModelConfig:
    """Sizes of the tiny model. The defaults give ~0.8M parameters: quick to train on two CPU cores."""

    arch: str = field(default="qwen3", metadata={"help": "qwen3 or llama"})
    hidden_size: int = field(default=128, metadata={"help": "width of the residual stream"})
    num_layers: int = field(default=4, metadata={"help": "number of transformer blocks"})
    num_heads: int = field(default=4, metadata={"help": "attention heads"})
    num_kv_heads: int = field(default=2, metadata={"help": "key/value heads (grouped-query attention)"})
    intermediate_size: int = field(default=384, metadata={"help": "MLP width"})
    max_position_embeddings: int = field(default=2048, metadata={"help": "longest sequence in tokens"})
    seed: int = field(default=0, metadata={"help": "seed for the random initial weights"})
