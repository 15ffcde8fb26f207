"""Headless Chromium driven over the DevTools protocol, and R1-sized synthetic runs to view.

The browser is the system Chromium (installed with apt-get when missing, else the tests skip
with the reason). It is driven through the DevTools protocol over aiohttp's websocket client (a
project dependency already): one browser per test module, real clicks and ``change`` events,
``Runtime.evaluate`` to read the page back, ``Page.captureScreenshot`` for the artifacts.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=1280,900",
]


class Browser:
    """One headless Chromium page, driven synchronously over the DevTools protocol."""

    def __init__(self, binary: str):
        self.profile = Path(tempfile.mkdtemp(prefix="r1lab-chromium-"))
        self.process = subprocess.Popen(
            [
                binary,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={self.profile}",
                "--remote-debugging-port=0",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.loop = asyncio.new_event_loop()
        self._id = 0
        self.events: list[dict] = []
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not port_file.exists() or not port_file.read_text().strip():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"chromium did not start: {self.process.stderr.read().decode()[-1000:]}")
            time.sleep(0.1)
        self.port = int(port_file.read_text().split()[0])
        self.loop.run_until_complete(self._connect())

    async def _connect(self) -> None:
        import aiohttp

        self.session = aiohttp.ClientSession()
        for _ in range(100):
            async with self.session.get(f"http://127.0.0.1:{self.port}/json/list") as response:
                pages = [t for t in await response.json() if t.get("type") == "page"]
            if pages:
                break
            await asyncio.sleep(0.1)
        self.ws = await self.session.ws_connect(pages[0]["webSocketDebuggerUrl"], max_msg_size=0)

    async def _call(self, method: str, params: dict | None = None) -> dict:
        self._id += 1
        ident = self._id
        await self.ws.send_json({"id": ident, "method": method, "params": params or {}})
        while True:
            message = await self.ws.receive_json(timeout=120)
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def call(self, method: str, params: dict | None = None) -> dict:
        return self.loop.run_until_complete(self._call(method, params))

    def js(self, expression: str):
        """Evaluate an expression (promises awaited) and return its value; page errors raise."""
        result = self.call(
            "Runtime.evaluate", {"expression": expression, "awaitPromise": True, "returnByValue": True}
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:80]}: {json.dumps(result['exceptionDetails'])[:1500]}")
        return result["result"].get("value")

    def wait(self, expression: str, timeout: float = 30.0):
        deadline = time.monotonic() + timeout
        while True:
            value = self.js(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {expression}")
            time.sleep(0.05)

    def open(self, url: str) -> float:
        """Navigate and wait until the viewer has rendered; returns the seconds it took."""
        started = time.perf_counter()
        self.call("Page.navigate", {"url": url})
        self.wait(
            "document.readyState === 'complete' && document.body && document.body.dataset.ready === '1'", 60
        )
        return time.perf_counter() - started

    def screenshot(self, path: Path, full_page: bool = False) -> Path:
        params: dict = {"format": "png"}
        if full_page:
            params["captureBeyondViewport"] = True
        data = self.call("Page.captureScreenshot", params)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        async def shut() -> None:
            if getattr(self, "ws", None) is not None:
                await self.ws.close()
            if getattr(self, "session", None) is not None:
                await self.session.close()

        try:
            self.loop.run_until_complete(shut())
        finally:
            self.loop.close()
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
            shutil.rmtree(self.profile, ignore_errors=True)


@pytest.fixture(scope="module")
def browser(chromium):
    page = Browser(chromium)
    try:
        page.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False},
        )
        yield page
    finally:
        page.close()


# ----------------------------------------------------------------------------- synthetic runs

_PROSE = (
    "so we need the sum of all the terms let me check again wait that is not right because the "
    "denominator factors as x minus two times x plus three hence the roots are two and minus three "
    "then substitute back into the original equation to verify the answer which gives zero as expected "
    "alternatively consider the modular arithmetic mod seven the residues cycle with period six hmm "
    "actually I made an arithmetic error earlier recompute carefully the area of the triangle is one half "
    "base times height and the height follows from the Pythagorean theorem"
)
WORDS = _PROSE.split() + [
    "$x^2$",
    "$\\frac{1}{2}$",
    "$\\sqrt{3}$",
    "=",
    "+",
    "\\cdot",
    "\n\n",
    "Step",
    "2:",
    "3:",
    "7",
]


def synthetic_details(
    num_problems: int = 500, samples: int = 4, seed: int = 0, min_chars=10_000, max_chars=20_000
):
    """details.jsonl rows shaped like an R1 evaluation of MATH-500: real problems, long fake traces.

    Outcomes are mixed on purpose (correct, wrong, truncated with no answer, no answer,
    timeout) and the traces are random words, so they compress about as well as real ones.
    """
    from r1lab.data import load_benchmark

    rng = random.Random(seed)
    bench = load_benchmark("math500")
    rows = []
    for index in range(num_problems):
        problem = bench[index % len(bench)]
        gold = str(problem["answer"])
        generations, extracted, correct, status, reasons, tokens, clusters = [], [], [], [], [], [], []
        skill = rng.random()
        for _ in range(samples):
            size = rng.randint(min_chars, max_chars)
            words = rng.choices(WORDS, k=size // 5)  # ~6 characters a word with its space
            body = "<think>\n" + " ".join(words)[:size] + "\n</think>\n\n"
            roll = rng.random()
            if roll < skill:
                answer, ok, st, reason = gold, True, "ok", "stop"
            elif roll < skill + (1 - skill) * 0.5:
                answer, ok, st, reason = str(rng.randint(0, 99)), False, "ok", "stop"
            elif roll < skill + (1 - skill) * 0.8:
                answer, ok, st, reason = None, False, "no_answer", "length"
            elif roll < skill + (1 - skill) * 0.95:
                answer, ok, st, reason = None, False, "no_answer", "stop"
            else:
                answer, ok, st, reason = str(rng.randint(0, 9)), False, "timeout", "stop"
            text = body + (f"The final answer is $\\boxed{{{answer}}}$." if answer is not None else "")
            generations.append(text)
            extracted.append(answer)
            correct.append(ok)
            status.append(st)
            reasons.append(reason)
            tokens.append(32768 if reason == "length" else len(text) // 4)
            clusters.append(None if answer is None else (0 if ok else 1 + int(answer) % 3))
        rows.append(
            {
                "id": str(problem["id"]) + (f"#{index // len(bench)}" if index >= len(bench) else ""),
                "problem": problem["problem"],
                "gold": gold,
                "generations": generations,
                "extracted": extracted,
                "correct": correct,
                "grade_status": status,
                "clusters": clusters,
                "finish_reasons": reasons,
                "completion_tokens": tokens,
                "subject": problem["subject"],
                "level": problem["level"],
            }
        )
    return rows
