"""The tiny local model and tokenizer used by tests and the demo (no hub download).

Names are imported lazily so that ``r1lab.models.config`` can be read without importing torch.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "TinyModelConfig": "r1lab.models.config",
    "build_tiny_model": "r1lab.models.factory",
    "build_char_tokenizer": "r1lab.models.tokenizer",
    "CHAT_TEMPLATE": "r1lab.models.tokenizer",
    "SPECIAL_TOKENS": "r1lab.models.tokenizer",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'r1lab.models' has no attribute {name!r}")
