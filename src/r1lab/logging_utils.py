"""Logging set-up shared by the CLI and the demo: library code only calls `logging.getLogger`."""

from __future__ import annotations

import logging
import os


def setup_logging(verbosity: int = 0) -> None:
    """Configure the root logger once. verbosity: -1 quiet, 0 info, 1+ debug."""
    level = logging.DEBUG if verbosity > 0 else logging.WARNING if verbosity < 0 else logging.INFO
    level = os.environ.get("R1LAB_LOG_LEVEL", logging.getLevelName(level))
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S"
    )
    # Libraries we drive are chatty at INFO; keep their warnings.
    for name in ("httpx", "urllib3", "datasets", "filelock", "aiohttp.access"):
        logging.getLogger(name).setLevel(logging.WARNING)
