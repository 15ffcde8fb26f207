"""The tiny local model and tokenizer used by tests and the demo (no hub download).

Names are imported lazily so that ``r1lab.models.config`` can be read without importing torch.
"""

from __future__ import annotations

from r1lab.lazy import lazy_exports

_EXPORTS = {
    "TinyModelConfig": "r1lab.models.config",
    "build_tiny_model": "r1lab.models.factory",
    "build_char_tokenizer": "r1lab.models.tokenizer",
    "CHAT_TEMPLATE": "r1lab.models.tokenizer",
    "SPECIAL_TOKENS": "r1lab.models.tokenizer",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
