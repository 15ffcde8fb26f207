"""The command line in-process: YAML config plus overrides, --base-url repeated, progress bar, exit codes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from r1lab.cli import main
from r1lab.testkit import FakeServer


def test_yaml_config_with_command_line_overrides(tmp_path, capsys):
    inp = tmp_path / "in.jsonl"
    inp.write_text("".join(json.dumps({"q": f"q{i}", "key": f"k{i}"}) + "\n" for i in range(5)))
    with FakeServer() as a, FakeServer() as b:
        yaml = tmp_path / "run.yaml"
        yaml.write_text(
            f"input: {inp}\nprompt_column: q\nid_column: key\nnum_generations: 3\nmodel: m\n"
            f"prompt_template: plain\nextra_body: {{seed: 7}}\nbase_urls: [{a.base_url}]\n"
        )
        out = tmp_path / "out.jsonl"
        code = main(["generate", "--config", str(yaml), "--output", str(out), "--base-url", b.base_url,
                     "--num-generations", "2", "--progress"])  # fmt: skip
        assert code == 0
        rows = [json.loads(line) for line in out.read_text().splitlines()]
        assert sorted(r["id"] for r in rows) == [f"k{i}" for i in range(5)]
        assert all(len(r["generations"]) == 2 for r in rows)  # the command line wins over the YAML
        bodies = a.requests + b.requests
        assert len(b.requests) == 10 and a.requests == []  # --base-url replaces the YAML's list
        seeds: dict[str, list[int]] = {}  # the YAML's seed is each row's: its two samples get 7 and 8
        for body in bodies:
            seeds.setdefault(body["messages"][-1]["content"], []).append(body["seed"])
        assert len(seeds) == 5 and all(sorted(got) == [7, 8] for got in seeds.values())
    err = capsys.readouterr().err
    assert "in_flight=" in err and "req_s=" in err and "tok_s=" in err  # the progress bar


def test_unknown_yaml_key_is_named(tmp_path):
    yaml = tmp_path / "run.yaml"
    yaml.write_text("max_concurent: 8\n")
    with pytest.raises(Exception, match="did you mean 'max_concurrent'"):
        from r1lab.config import from_dict, load_yaml
        from r1lab.generation import GenerateConfig

        from_dict(GenerateConfig, {**load_yaml(yaml), "output": "o.jsonl"}, where=str(yaml))
    assert main(["generate", "--config", str(yaml), "--output", str(tmp_path / "o.jsonl")]) == 2


def test_failed_rows_make_exit_code_1(tmp_path):
    with FakeServer(lambda c, b: ("status", 422)) as server:
        code = main(["generate", "--input", "aime24", "--limit", "2", "--output", str(tmp_path / "o.jsonl"),
                     "--base-url", server.base_url, "--model", "m", "--no-progress"])  # fmt: skip
    assert code == 1
    assert len((tmp_path / "o.failed.jsonl").read_text().splitlines()) == 2


@pytest.mark.slow
@pytest.mark.server
def test_r1lab_serve_runs_until_interrupted(tiny_model_dir):
    proc = subprocess.Popen(
        [sys.executable, "-m", "r1lab.cli", "serve", str(tiny_model_dir)], stdout=subprocess.PIPE, text=True
    )
    try:
        lines = [proc.stdout.readline() for _ in range(3)]
        base_url = lines[1].split()[-1]
        assert base_url.startswith("http://127.0.0.1:") and lines[2].split()[-1] == str(tiny_model_dir)
        with urllib.request.urlopen(base_url[: -len("/v1")] + "/health", timeout=5) as resp:
            assert resp.status == 200
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    time.sleep(0.5)
    with pytest.raises(OSError):
        urllib.request.urlopen(base_url[: -len("/v1")] + "/health", timeout=2)
