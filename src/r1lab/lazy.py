"""Lazy package exports: ``from r1lab.training import train_grpo`` without importing torch at ``--help``.

Packages whose modules pull in heavy libraries (torch, TRL, aiohttp) list their public names and the
module each lives in; the module is imported on first attribute access (PEP 562).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module-level ``__getattr__`` that imports ``exports[name]`` when ``name`` is first used."""

    def __getattr__(name: str) -> Any:
        if name in exports:
            return getattr(importlib.import_module(exports[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
