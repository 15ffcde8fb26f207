"""The versions of the packages a result depends on, and the versions the test suite passed with.

A number r1lab prints is only as good as the stack that produced it: transformers 5.25 silently sampled
served requests at the model's own temperature where 5.x before it did not (issue 23). Every run records
:func:`core_versions`, and a run started from the command line warns once when a core package differs from
the versions the committed lock (``requirements/lock.txt``) was tested with.

Only ``importlib.metadata`` is read here: no torch or transformers import, so the CLI stays fast.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
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


def lock_mismatches(lock_text: str) -> list[str]:
    """'name installed (locked: X)' for every ``name==X`` line of a lock that the environment does not match.

    CI runs this after ``make install`` (``python -m r1lab.versions --check-lock requirements/lock.txt``), so a
    machine that kept other versions fails loudly instead of passing on a stack nobody locked.
    """
    problems = []
    for raw in lock_text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if "==" not in line:
            continue
        name, want = (part.strip() for part in line.split("==", 1))
        have = _installed(re.sub(r"[-_.]+", "-", name).lower())
        if have is None:
            problems.append(f"{name} missing (locked: {want})")
        elif _release(have) != _release(want):
            problems.append(f"{name} {have} (locked: {want})")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m r1lab.versions", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check-lock", metavar="LOCK", help="exit 1 unless every pin of this lock is installed"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logger.info("%s", json.dumps(core_versions()))
    if args.check_lock:
        with open(args.check_lock, encoding="utf-8") as handle:
            problems = lock_mismatches(handle.read())
        if problems:
            logger.error(
                "%s: the environment differs from the lock: %s", args.check_lock, ", ".join(problems)
            )
            return 1
        logger.info("%s: every pin installed", args.check_lock)
    return 0


if __name__ == "__main__":
    sys.exit(main())
