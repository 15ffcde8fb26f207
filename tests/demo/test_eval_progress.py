"""The demo's evaluation progress counts each sample as it lands, not rows that land at the end.

A real `evaluate` (generation, grading, report) against the loopback fake server, answering each
request after 30 ms, with the adaptive schedule an evaluation uses: one sample of every problem
goes out first, so no row is complete until most samples are back. The probe the demo's display
reads is polled from another thread while it runs.
"""

from __future__ import annotations

import threading
import time

from r1lab.data.io import write_jsonl
from r1lab.demo.progress import samples_probe
from r1lab.evaluation import EvalConfig, evaluate
from r1lab.generation.stats import RunMeter
from r1lab.testkit import FakeServer


def test_evaluation_progress_moves_per_sample_before_any_row_is_written(tmp_path):
    rows, samples = 12, 4
    bench = tmp_path / "test.jsonl"
    write_jsonl(bench, [{"id": str(i), "problem": f"{i} + 1 = ?", "answer": str(i + 1)} for i in range(rows)])
    meter = RunMeter()
    probe = samples_probe(tmp_path / "out" / "test" / "generations.jsonl", meter, rows, samples, "model 1/1")
    seen: list[tuple[int, int]] = []
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            done, total, detail = probe()
            seen.append((done, int(detail.split(" · ")[1].split("/")[0])))
            time.sleep(0.01)

    with FakeServer(policy=lambda count, body: ("delay", 0.03), honour_n=False) as server:
        watcher = threading.Thread(target=poll)
        watcher.start()
        try:
            evaluate(
                EvalConfig(
                    benchmarks=[str(bench)],
                    output_dir=str(tmp_path / "out"),
                    base_urls=[server.base_url],
                    model="fake-model",
                    num_samples=samples,
                    max_concurrent=4,
                    progress=False,
                ),
                meter=meter,
            )
        finally:
            stop.set()
            watcher.join()
    assert probe()[:2] == (rows * samples, rows * samples)
    counts = [done for done, _ in seen]
    assert counts == sorted(counts)  # it only moves forward
    # while no row was complete yet (a row count would read 0/12), the sample count already moved
    before_rows = {done for done, written in seen if written == 0}
    assert max(before_rows) >= rows and len(before_rows) >= 5, sorted(before_rows)
