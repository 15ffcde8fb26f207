"""The replay server fixture: a loopback server answering MATH-style problems from a lookup table."""

from __future__ import annotations

import pytest

from r1lab.testkit import ReplayServer


@pytest.fixture
def replay_server():
    """``replay_server(problems, answer_for)`` -> a started ReplayServer (stopped after the test)."""
    servers: list[ReplayServer] = []

    def start(problems, answer_for):
        server = ReplayServer(list(problems), answer_for).__enter__()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.__exit__(None, None, None)
