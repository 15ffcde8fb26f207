"""Generation: a streaming, crash-safe client for any OpenAI-compatible server.

``generate(GenerateConfig(...))`` keeps up to ``max_concurrent`` requests in flight over one or
more servers, appends each finished row to a JSONL file, and resumes where it stopped.
``serve_model(dir)`` starts ``transformers serve`` on a local model for runs without a cluster.

Names are imported on first use, so ``r1lab --help`` does not pay for aiohttp.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from r1lab.lazy import lazy_exports

if TYPE_CHECKING:
    from r1lab.generation.config import GenerateConfig
    from r1lab.generation.runner import agenerate, generate
    from r1lab.generation.server import LocalServer, serve_model
    from r1lab.generation.stats import GenerationStats

_EXPORTS = {
    "GenerateConfig": "r1lab.generation.config",
    "GenerationStats": "r1lab.generation.stats",
    "LocalServer": "r1lab.generation.server",
    "agenerate": "r1lab.generation.runner",
    "generate": "r1lab.generation.runner",
    "serve_model": "r1lab.generation.server",
}

__all__ = ["GenerateConfig", "GenerationStats", "LocalServer", "agenerate", "generate", "serve_model"]

__getattr__ = lazy_exports(__name__, _EXPORTS)
