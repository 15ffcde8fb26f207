"""A server that answers math problems from a lookup table: recorded or scripted generations.

It finds the problem inside the user turn (the prompt is "{problem}\\n<instruction>", or any text
containing it) and answers ``answer_for(problem, sample_index)``, so a test decides exactly which
samples are right and which are wrong, and a benchmark replays reference solutions.
``sample_index`` counts the choices served for that problem, so N requests (or one with ``n`` = N)
get indices 0..N-1.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterable

from aiohttp import web

from r1lab.prompts import DEEPSEEK_MATH_INSTRUCTION
from r1lab.testkit.server import Call, LoopbackServer, Reply


class ReplayServer(LoopbackServer):
    """``with ReplayServer(problems, answer_for) as server:``; ``requests`` and ``seen`` count what came."""

    model_id = "replay"

    def __init__(self, problems: Iterable[str], answer_for: Callable[[str, int], str]):
        self.problems = set(problems)
        self.answer_for = answer_for
        self.seen: dict[str, int] = defaultdict(int)
        self.lock = threading.Lock()
        self.requests = 0

    def find_problem(self, prompt: str) -> str:
        suffix = "\n" + DEEPSEEK_MATH_INSTRUCTION
        if prompt.endswith(suffix) and prompt[: -len(suffix)] in self.problems:
            return prompt[: -len(suffix)]
        matches = [p for p in self.problems if p in prompt]
        if not matches:
            raise web.HTTPBadRequest(text="unknown problem")
        return max(matches, key=len)

    async def complete(self, call: Call) -> Reply:
        prompt = call.prompt
        problem = self.find_problem(prompt)
        n = int(call.body.get("n") or 1)
        with self.lock:
            start = self.seen[problem]
            self.seen[problem] += n
            self.requests += 1
        texts = [self.answer_for(problem, start + i) for i in range(n)]
        usage = {"prompt_tokens": len(prompt) // 4, "completion_tokens": sum(len(t) // 4 for t in texts)}
        return Reply(texts, usage)
