"""The code sandbox contains hostile programs: each scores 0 quickly and leaves the machine unharmed.

"Unharmed" is checked, not assumed: no process of the run survives (no descendant of ours, no
process of a sandbox uid), no file appears outside the run's directory, and a server listening on
our loopback receives no connection.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest

from r1lab.rewards import CodeReward, SandboxLimits, extract_code, parse_tests, run_python
from r1lab.rewards.sandbox import SANDBOX_UID_BASE

TESTS = [[{"input": "2\n", "output": "4\n"}]]


def fenced(code: str) -> str:
    return f"<think>plan</think>\n```python\n{code}\n```"


def sandbox_processes() -> list[int]:
    """Processes running as a sandbox uid (root mode) or as descendants of this test process."""
    found = []
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.stat(f"/proc/{entry}").st_uid >= SANDBOX_UID_BASE:
                found.append(int(entry))
                continue
            stat = Path(f"/proc/{entry}/stat").read_bytes()
            ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        except (OSError, ValueError):
            continue
        if (
            ppid == me
            and "python" in Path(f"/proc/{entry}/cmdline").read_bytes().decode(errors="replace")
            and (b"_sandbox_supervisor" in Path(f"/proc/{entry}/cmdline").read_bytes())
        ):
            found.append(int(entry))
    return found


@pytest.fixture
def reward():
    return CodeReward(test_timeout=2.0, memory_mb=256, max_processes=8)


def test_correct_and_wrong_programs(reward):
    good = fenced("print(int(input()) * 2)")
    wrong = fenced("print(int(input()) ** 2)")  # right for 2, wrong for 5
    crash = fenced("raise SystemExit(1)")
    tests = [{"input": "2\n", "output": "4\n"}, {"input": "5", "output": "10"}]
    assert reward([good, wrong, crash, "no code"], test_cases=[tests] * 4) == [1.0, 0.5, 0.0, 0.0]


def test_assert_style_tests_and_verification_info(reward):
    program = fenced("def add(a, b):\n    return a + b")
    asserts = ["assert add(1, 2) == 3", "assert add(2, 2) == 5"]
    info = '{"language": "python", "test_cases": [{"input": "", "output": "", "type": "stdin_stdout"}]}'
    assert reward([program], test_cases=[asserts]) == [0.5]
    assert reward([program], verification_info=[info]) == [1.0]
    assert reward([program], test_cases=[None]) == [None]  # no tests: no opinion


HOSTILE = {
    "infinite loop": "while True:\n    pass",
    "fork bomb": "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass",
    "escaping fork bomb": "import os, time\nfor _ in range(50):\n    try:\n        if os.fork() == 0:\n            os.setsid()\n            time.sleep(600)\n    except OSError:\n        pass\nprint(0)",
    "memory bomb": "blocks = []\nwhile True:\n    blocks.append(bytearray(50 * 2**20))",
    "one huge allocation": "x = bytearray(64 * 2**30)\nprint(4)",
    "output flood": "while True:\n    print('x' * 10000)",
    "sleeper": "import time\ntime.sleep(600)",
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_programs_score_zero_quickly(reward, name):
    before = set(sandbox_processes())
    start = time.monotonic()
    assert reward([fenced(HOSTILE[name])], test_cases=TESTS) == [0.0]
    assert time.monotonic() - start < reward.test_timeout + 15  # killed at the timeout, not run to the end
    time.sleep(0.2)
    assert set(sandbox_processes()) - before == set(), "a sandboxed process survived"


def test_writing_outside_the_work_dir_is_refused(reward, tmp_path):
    targets = [tmp_path / "escaped.txt", Path("/tmp") / f"r1lab-escape-{os.getpid()}.txt"]
    for target in targets:
        code = f"open({str(target)!r}, 'w').write('x')\nprint(4)"
        assert reward([fenced(code)], test_cases=TESTS) == [0.0]
        assert not target.exists()
    # inside its own directory the program may write freely
    assert reward(
        [fenced("open('scratch.txt', 'w').write('4')\nprint(open('scratch.txt').read())")], test_cases=TESTS
    ) == [1.0]


class _Listener:
    """A TCP server on our loopback that records whether anything connected."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.connections = 0
        self.stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stop:
            try:
                conn, _ = self.server.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self):
        self.stop = True
        self.thread.join()
        self.server.close()


def test_network_is_unreachable(reward):
    listener = _Listener()
    try:
        code = (
            f"import socket\ns = socket.create_connection(('127.0.0.1', {listener.port}), timeout=1)\n"
            "s.sendall(b'hi')\nprint(4)"
        )
        assert reward([fenced(code)], test_cases=TESTS) == [0.0]
        # the same program outside the sandbox does connect: the listener works
        with socket.create_connection(("127.0.0.1", listener.port), timeout=1):
            pass
        time.sleep(0.3)
        assert listener.connections == 1
    finally:
        listener.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="the private uid layer exists only when running as root")
def test_kernel_layers_hold_without_the_audit_hook(tmp_path):
    """Without the Python-level hook, the uid, namespace and rlimit layers must still contain the program."""
    target = tmp_path / "escaped.txt"
    os.chmod(tmp_path, 0o755)
    write = run_python(f"open({str(target)!r}, 'w').write('x')", audit_hook=False)
    assert write.returncode != 0 and "Permission denied" in write.stderr and not target.exists()
    kill = run_python("import os\nos.kill(1, 9)", audit_hook=False)
    assert kill.returncode != 0 and "not permitted" in kill.stderr
    net = run_python("import socket\nsocket.create_connection(('127.0.0.1', 9), timeout=1)", audit_hook=False)
    assert net.returncode != 0 and net.network.startswith("netns")
    bomb = run_python(
        "import os\nn = 0\ntry:\n    while True:\n        if os.fork() == 0:\n            import time; time.sleep(60)\n        n += 1\n"
        "except OSError:\n    print(n)",
        limits=SandboxLimits(timeout=5, max_processes=8),
        audit_hook=False,
    )
    assert bomb.ok and int(bomb.stdout) < 8  # RLIMIT_NPROC stopped it, then the sweep removed the sleepers


def test_extract_code_and_parse_tests():
    assert extract_code("<think>```python\nbad\n```</think>\n```py\ngood\n```") == "good\n"
    assert extract_code("no fence") is None
    assert [t.stdin for t in parse_tests({"inputs": ["1", "2"], "outputs": ["1", "2"]})] == ["1", "2"]
    assert parse_tests('[{"input": "1", "output": "2"}]')[0].expected == "2"
    assert parse_tests([]) is None and parse_tests(None) is None
