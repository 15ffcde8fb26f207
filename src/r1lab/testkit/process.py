"""A loopback test server in its own process, so the client under test shares no event loop or GIL.

The parent pickles the (not yet started) server onto the child's stdin; the child serves it on a
free 127.0.0.1 port, writes the port on its stdout, and exits when its stdin closes (the parent
stopped it or died), so no server outlives the test or benchmark that started it.
``serve_child`` is the child's side. For tests and benchmarks only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pickle
import select
import subprocess
import sys
import threading
import urllib.request
from typing import Any

from r1lab.testkit.server import Loopback, LoopbackServer

START_TIMEOUT = 30.0


class ServerProcess(Loopback):
    """``with ServerProcess(server) as handle:`` runs ``server`` in a child; ``handle.base_url``."""

    def __init__(self, server: LoopbackServer, uvloop: bool = False):
        self.server = server
        self.uvloop = uvloop  # uvloop's faster loop where installed (the overhead benchmark)
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> ServerProcess:
        payload = pickle.dumps((self.server, self.uvloop))
        command = [sys.executable, "-c", "from r1lab.testkit.process import serve_child; serve_child()"]
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.proc.stdin.write(b"%d\n" % len(payload) + payload)
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], START_TIMEOUT)
        line = self.proc.stdout.readline() if ready else b""
        if not line.strip().isdigit():
            self.__exit__()
            name = type(self.server).__name__
            raise RuntimeError(f"{name} did not start in its own process (exit code {self.proc.returncode})")
        self.port = int(line)
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop the child (safe to call twice)."""
        if self.proc is None:
            return
        self.proc.terminate()
        self.proc.wait(10)
        for pipe in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):  # the child is gone: nothing to flush
                pipe.close()

    def call(self, method: str, path: str) -> Any:
        """A JSON request to the child's own routes (``/sim/stats``)."""
        request = urllib.request.Request(self.root_url + path, method=method)
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())


def serve_child() -> None:
    """The child: read the pickled server from stdin, serve it, report the port on stdout."""
    stdin = sys.stdin.buffer
    size = int(stdin.readline())
    server, use_uvloop = pickle.loads(stdin.read(size))

    def exit_with_parent() -> None:
        while stdin.read(4096):
            pass
        os._exit(0)

    threading.Thread(target=exit_with_parent, daemon=True).start()

    def ready(port: int) -> None:
        sys.stdout.write(f"{port}\n")
        sys.stdout.flush()

    run = asyncio.run
    if use_uvloop:
        try:
            import uvloop

            run = uvloop.run
        except ImportError:  # optional: the standard loop serves the same requests
            pass
    run(server.serve(ready))
