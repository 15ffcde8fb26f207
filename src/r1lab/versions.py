"""The versions of the packages a result depends on, and the versions the test suite passed with.

A number r1lab prints is only as good as the stack that produced it: transformers 5.25 silently sampled
served requests at the model's own temperature where 5.x before it did not (issue 23). Every run records
:func:`core_versions`, and a run started from the command line warns once when a core package differs from
the versions the committed lock (``requirements/lock.txt``) was tested with.

Only ``importlib.metadata`` is read here: no torch or transformers import, so the CLI stays fast.
"""

from __future__ import annotations

import json
import logging
from importlib import resources
from importlib.metadata import PackageNotFoundError, version

logger = logging.getLogger(__name__)

#: The distributions whose versions every run records, in this order. vllm is optional: it appears
#: only when installed.
CORE_PACKAGES = ("r1lab", "transformers", "trl", "torch", "math-verify")
OPTIONAL_CORE_PACKAGES = ("vllm",)

#: Written by ``make lock`` from the lock file; shipped as package data so a wheel install knows it too.
TESTED_VERSIONS_FILE = "tested_versions.json"


def _installed(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def core_versions() -> dict[str, str | None]:
    """Installed versions of r1lab, transformers, trl, torch, math-verify (None when missing), and vllm
    when it is installed."""
    versions = {name: _installed(name) for name in CORE_PACKAGES}
    for name in OPTIONAL_CORE_PACKAGES:
        installed = _installed(name)
        if installed is not None:
            versions[name] = installed
    return versions


def tested_versions() -> dict[str, str]:
    """The core packages' versions in the lock the test suite last passed with ({} when unknown)."""
    try:
        text = resources.files("r1lab").joinpath(TESTED_VERSIONS_FILE).read_text(encoding="utf-8")
    except (FileNotFoundError, OSError):
        return {}
    return dict(json.loads(text).get("versions", {}))


def _release(text: str) -> str:
    """'2.13.0+cpu' -> '2.13.0': the local build label says which wheel, not which release."""
    return text.split("+", 1)[0]


def untested_packages(
    installed: dict[str, str | None] | None = None, tested: dict[str, str] | None = None
) -> list[str]:
    """'name installed (tested: X)' for each core package whose installed release differs from the lock's.

    r1lab itself is skipped (it is the code under test); a package the lock does not list (vllm, which no
    Makefile extra installs) is reported as untested only when it is installed.
    """
    installed = core_versions() if installed is None else installed
    tested = tested_versions() if tested is None else tested
    if not tested:
        return []
    problems = []
    for name, have in installed.items():
        if name == "r1lab" or have is None:
            continue
        want = tested.get(name)
        if want is None:
            problems.append(f"{name} {have} (not in the tested lock)")
        elif _release(have) != _release(want):
            problems.append(f"{name} {have} (tested: {want})")
    return problems


def warn_if_untested() -> bool:
    """Log ONE warning line when a core package is outside the tested versions; True when it warned."""
    problems = untested_packages()
    if not problems:
        return False
    logger.warning(
        "untested package versions: %s; numbers may differ from the docs (`make install` installs the lock)",
        ", ".join(problems),
    )
    return True
