"""Models without a hub: the tiny local model and tokenizer, and GGUF import of real ones.

Names are imported lazily so that ``r1lab.models.config`` can be read without importing torch.
"""

from __future__ import annotations

from r1lab.lazy import lazy_exports

_EXPORTS = {
    "TinyModelConfig": "r1lab.models.config",
    "build_tiny_model": "r1lab.models.factory",
    "build_char_tokenizer": "r1lab.models.tokenizer",
    "CHAT_TEMPLATE": "r1lab.models.tokenizer",
    "import_gguf": "r1lab.models.gguf",
    "resolve_model": "r1lab.models.gguf",
    "get_smollm2": "r1lab.models.gguf",
    "SPECIAL_TOKENS": "r1lab.models.tokenizer",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
