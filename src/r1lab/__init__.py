"""r1lab: the DeepSeek-R1 recipe end to end: generate, grade, evaluate, sft, grpo, demo."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("r1lab")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
