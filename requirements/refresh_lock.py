"""Turn a fresh environment's ``pip freeze`` into the committed lock, and say what changed.

``make lock`` installs ``.[dev,serve]`` into a throwaway venv at the newest versions pyproject.toml's ranges
allow (torch at the lock's CPU release, see the Makefile), freezes it, and runs this script, which:

- writes ``requirements/lock.txt``: one ``name==version`` a line, sorted, r1lab itself dropped, torch's local
  build label dropped (``torch==2.13.0`` matches the installed ``2.13.0+cpu`` under PEP 440);
- writes ``src/r1lab/tested_versions.json``, the core packages' versions as package data, so an installed
  r1lab (wheel included) can warn when it runs on versions the suite never passed with;
- prints one line per changed package: ``name old -> new`` (``+`` added, ``-`` removed).

Run by hand: ``python requirements/refresh_lock.py FREEZE.txt [--lock PATH] [--tested PATH]``.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements" / "lock.txt"
TESTED = ROOT / "src" / "r1lab" / "tested_versions.json"
#: The packages whose versions r1lab records and checks (r1lab.versions.CORE_PACKAGES less r1lab).
CORE = ("transformers", "trl", "torch", "math-verify")
HEADER = """\
# r1lab's locked environment: the exact versions the test suite last passed with, for the extras the
# Makefile installs (.[dev,serve]) and torch's CPU build. `make install` installs these
# (pip install -c requirements/lock.txt ...). Refresh with `make lock` (newest versions the ranges in
# pyproject.toml allow), then run `make test` and commit the lock only when it passes.
# Frozen with Python {python}.
"""


def canonical(name: str) -> str:
    """PEP 503 normalised name: 'Jinja2' and 'typing_extensions' compare like pip compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def parse(text: str, where: str) -> dict[str, str]:
    """name -> version from freeze/lock text; editable lines, comments and r1lab itself are skipped."""
    pins: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-e ") or line.startswith("-"):
            continue
        name, sep, version = line.partition("==")
        if not sep:
            raise SystemExit(f"{where}:{number}: expected 'name==version', got {raw!r}")
        name = canonical(name.strip())
        if name != "r1lab":
            pins[name] = version.strip()
    return pins


def changes(old: dict[str, str], new: dict[str, str]) -> list[str]:
    lines = []
    for name in sorted(old.keys() | new.keys()):
        before, after = old.get(name), new.get(name)
        if before == after:
            continue
        if before is None:
            lines.append(f"+ {name} {after}")
        elif after is None:
            lines.append(f"- {name} {before}")
        else:
            lines.append(f"  {name} {before} -> {after}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("freeze", type=Path, help="output of `pip freeze --exclude-editable`")
    parser.add_argument("--lock", type=Path, default=LOCK, help="the lock file to rewrite")
    parser.add_argument("--tested", type=Path, default=TESTED, help="package-data file of core versions")
    args = parser.parse_args(argv)

    new = parse(args.freeze.read_text(encoding="utf-8"), str(args.freeze))
    new = {name: version.split("+", 1)[0] if name == "torch" else version for name, version in new.items()}
    missing = [name for name in CORE if name not in new]
    if missing:
        raise SystemExit(f"{args.freeze}: the frozen environment lacks {', '.join(missing)}")
    old = parse(args.lock.read_text(encoding="utf-8"), str(args.lock)) if args.lock.exists() else {}

    body = "".join(f"{name}=={new[name]}\n" for name in sorted(new))
    args.lock.write_text(HEADER.format(python=platform.python_version()) + body, encoding="utf-8")
    tested = {"lock": "requirements/lock.txt", "versions": {name: new[name] for name in CORE}}
    args.tested.write_text(json.dumps(tested, indent=2) + "\n", encoding="utf-8")

    diff = changes(old, new)
    changed = f"{len(diff)} changed:" if diff else "no changes"
    sys.stdout.write(f"{args.lock}: {len(new)} packages; {changed}\n")
    for line in diff:
        sys.stdout.write(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
