"""r1lab leaderboard over run directories holding results.json files."""

import json

import pytest

from r1lab.cli import main
from r1lab.errors import DataError
from r1lab.evaluation.leaderboard import build_leaderboard


def _write_run(root, name, model, scores):
    run = root / name
    for benchmark, (p, se) in scores.items():
        (run / benchmark).mkdir(parents=True)
        data = {
            "benchmark": benchmark,
            "model": model,
            "num_samples": 4,
            "metrics": {"pass@1": p, "pass@1_stderr": se, "pass@4": min(1.0, p + 0.1)},
        }
        (run / benchmark / "results.json").write_text(json.dumps(data))
    return run


def test_leaderboard_table_ranks_runs_and_writes_html(tmp_path):
    a = _write_run(tmp_path, "base", "Qwen-base", {"math500": (0.30, 0.02), "aime24": (0.0, 0.0)})
    b = _write_run(
        tmp_path, "grpo", "Qwen-grpo", {"math500": (0.45, 0.02), "aime24": (0.10, 0.05), "gsm8k": (0.7, 0.01)}
    )
    html = tmp_path / "board.html"
    text = build_leaderboard([a, b], html_path=html, markdown_path=tmp_path / "board.md")
    lines = text.splitlines()
    assert lines[0] == "| run | model | math500 pass@1 | aime24 pass@1 | gsm8k pass@1 | mean |"
    assert lines[2].startswith("| grpo | Qwen-grpo | 45.0 ± 2.0 | 10.0 ± 5.0 | 70.0 ± 1.0 | 41.7 |")
    assert lines[3].startswith("| base | Qwen-base | 30.0 ± 2.0 | 0.0 ± 0.0 | - | 15.0 |")
    page = html.read_text()
    assert '<td class="num best">45.0 ± 2.0</td>' in page
    assert (tmp_path / "board.md").read_text().startswith("# Leaderboard")
    other = build_leaderboard([a, b], metric="pass@4")
    assert "math500 pass@4" in other and "55.0" in other


def test_leaderboard_accepts_a_benchmark_dir(tmp_path):
    run = _write_run(tmp_path, "r", "m", {"math500": (0.5, 0.1)})
    assert "50.0 ± 10.0" in build_leaderboard([run / "math500"])


def test_leaderboard_errors_name_the_file(tmp_path, capsys):
    with pytest.raises(DataError, match="results.json"):
        build_leaderboard([tmp_path])
    bad = tmp_path / "bad" / "math500"
    bad.mkdir(parents=True)
    (bad / "results.json").write_text("{not json")
    with pytest.raises(DataError, match=r"bad/math500/results.json"):
        build_leaderboard([tmp_path / "bad"])
    (bad / "results.json").write_text('{"benchmark": "math500"}')
    with pytest.raises(DataError, match="field 'metrics'"):
        build_leaderboard([tmp_path / "bad"])


def test_leaderboard_cli(tmp_path, capsys):
    run = _write_run(tmp_path, "r", "m", {"aime24": (0.2, 0.05)})
    assert main(["leaderboard", str(run), "--html", str(tmp_path / "b.html")]) == 0
    assert "20.0 ± 5.0" in capsys.readouterr().out
    assert (tmp_path / "b.html").exists()
    assert main(["leaderboard", str(tmp_path / "missing")]) == 2


def test_leaderboard_marks_noise_from_standard_errors_without_details(tmp_path):
    # no details.jsonl: the unpaired test. 40 vs 45 with se 3 each: |5| <= 1.96 * sqrt(18) = 8.3 -> within
    # noise; 30 vs 45 with se 2 and 3: |15| > 1.96 * sqrt(13) = 7.1 -> a real difference.
    best = _write_run(tmp_path, "best", "m1", {"math500": (0.45, 0.03)})
    close = _write_run(tmp_path, "close", "m2", {"math500": (0.40, 0.03)})
    far = _write_run(tmp_path, "far", "m3", {"math500": (0.30, 0.02)})
    lines = build_leaderboard([best, close, far]).splitlines()
    assert lines[2].startswith("| best | m1 | 45.0 ± 3.0 |")
    assert lines[3].startswith("| close | m2 | 40.0 ± 3.0 ≈ |")
    assert lines[4].startswith("| far | m3 | 30.0 ± 2.0 |")
