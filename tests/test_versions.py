"""The locked environment: recorded versions, the lock <-> package-data agreement, the start-up warning."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from r1lab import versions
from r1lab.cli import main

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements" / "lock.txt"


def _lock_pins() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name] = version
    return pins


def test_core_versions_are_the_installed_ones():
    import torch
    import transformers
    import trl

    found = versions.core_versions()
    assert list(found)[:5] == ["r1lab", "transformers", "trl", "torch", "math-verify"]
    assert found["transformers"] == transformers.__version__
    assert found["trl"] == trl.__version__
    assert found["torch"] == torch.__version__
    assert found["math-verify"] is not None


def test_tested_versions_are_the_locks():
    """The package-data file `make lock` writes must say what the committed lock says."""
    pins = _lock_pins()
    tested = versions.tested_versions()
    assert set(tested) == {"transformers", "trl", "torch", "math-verify"}
    for name, version in tested.items():
        assert pins[name] == version, name
    assert "r1lab" not in pins
    assert "+" not in pins["torch"], "the lock pins torch's release; the local label is the CPU wheel's"


def test_untested_packages_compares_releases():
    tested = {"transformers": "5.24.0", "trl": "1.16.0", "torch": "2.13.0", "math-verify": "0.9.0"}
    installed = {
        "r1lab": "9.9.9",
        "transformers": "5.25.0",
        "trl": "1.16.0",
        "torch": "2.13.0+cpu",
        "math-verify": None,
        "vllm": "0.11.0",
    }
    assert versions.untested_packages(installed, tested) == [
        "transformers 5.25.0 (tested: 5.24.0)",
        "vllm 0.11.0 (not in the tested lock)",
    ]
    assert versions.untested_packages(installed, {}) == []


@pytest.fixture
def older_lock(monkeypatch):
    """Pretend the lock was tested with an older transformers than the one installed."""
    tested = versions.tested_versions() | {"transformers": "5.0.0"}
    monkeypatch.setattr(versions, "tested_versions", lambda: tested)


def test_warning_is_one_line(older_lock, caplog):
    with caplog.at_level(logging.WARNING, logger="r1lab"):
        assert versions.warn_if_untested() is True
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert "\n" not in message
    assert "transformers" in message and "tested: 5.0.0" in message


def test_a_run_command_warns_at_start_up_and_a_utility_does_not(older_lock, caplog, tmp_path):
    # grade fails fast on a missing file, after the start-up check has run.
    assert (
        main(["grade", "--input", str(tmp_path / "none.jsonl"), "--output", str(tmp_path / "o.jsonl")]) == 2
    )
    assert sum("untested package versions" in r.getMessage() for r in caplog.records) == 1
    caplog.clear()
    assert main(["tiny-model", str(tmp_path / "m"), "--arch", "gpt9"]) != 0
    assert not any("untested package versions" in r.getMessage() for r in caplog.records)


def test_no_warning_on_the_locked_environment(caplog):
    """The suite runs in `make install`'s environment: the lock's own versions must not warn."""
    if versions.lock_mismatches(LOCK.read_text(encoding="utf-8")):
        pytest.skip("this environment was not installed from requirements/lock.txt")
    assert versions.warn_if_untested() is False


def test_check_lock_fails_on_a_different_pin(tmp_path):
    lock = tmp_path / "lock.txt"
    lock.write_text("# comment\ntransformers==0.0.1\n", encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "r1lab.versions", "--check-lock", str(lock)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1
    assert "transformers" in out.stderr and "locked: 0.0.1" in out.stderr


def test_refresh_lock_prints_what_changed(tmp_path):
    """`make lock`'s last step, on a freeze that moved one package, added one and dropped one."""
    lock, tested = tmp_path / "lock.txt", tmp_path / "tested.json"
    lock.write_text(
        "# old\nold-only==1.0\ntorch==2.12.0\ntransformers==5.24.0\ntrl==1.16.0\nmath-verify==0.9.0\n"
    )
    freeze = tmp_path / "freeze.txt"
    freeze.write_text(
        "# Editable install with no version control (r1lab==0.1.0)\n-e /src\n"
        "Jinja2==3.1.6\ntorch==2.13.0+cpu\ntransformers==5.25.0\ntrl==1.16.0\nmath_verify==0.9.0\n"
    )
    out = subprocess.run(
        [sys.executable, str(ROOT / "requirements" / "refresh_lock.py"), str(freeze)]
        + ["--lock", str(lock), "--tested", str(tested)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0].endswith("5 packages; 4 changed:")
    assert out.stdout.splitlines()[1:] == [
        "+ jinja2 3.1.6",
        "- old-only 1.0",
        "  torch 2.12.0 -> 2.13.0",
        "  transformers 5.24.0 -> 5.25.0",
    ]
    body = [line for line in lock.read_text().splitlines() if not line.startswith("#")]
    assert body == [
        "jinja2==3.1.6",
        "math-verify==0.9.0",
        "torch==2.13.0",
        "transformers==5.25.0",
        "trl==1.16.0",
    ]
    assert json.loads(tested.read_text())["versions"]["transformers"] == "5.25.0"
