"""Plots write real PNG files from plain values and metrics.jsonl files."""

import json

import pytest

from r1lab.errors import DataError
from r1lab.report.plots import plot_curves, plot_length_histogram

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_length_histogram_writes_png(tmp_path):
    lengths = [10, 20, 20, 30, 64, 64]
    path = plot_length_histogram(
        lengths,
        tmp_path / "h.png",
        correct=[True, True, False, True, False, False],
        truncated=[False] * 4 + [True, True],
        max_tokens=64,
    )
    assert path.read_bytes().startswith(PNG_MAGIC)
    assert plot_length_histogram([], tmp_path / "empty.png").read_bytes().startswith(PNG_MAGIC)


def test_curves_from_metrics_jsonl(tmp_path):
    metrics = tmp_path / "metrics.jsonl"
    rows = [{"step": i, "loss": 1.0 / (i + 1), "reward": i / 10} for i in range(5)]
    rows.append({"step": 5, "eval_accuracy": 0.5})
    metrics.write_text("".join(json.dumps(r) + "\n" for r in rows))
    path = plot_curves(metrics, tmp_path / "curves.png")
    assert path.read_bytes().startswith(PNG_MAGIC)
    assert plot_curves(rows, tmp_path / "two.png", keys=["loss"]).exists()


def test_curves_name_a_bad_line(tmp_path):
    metrics = tmp_path / "metrics.jsonl"
    metrics.write_text('{"step": 1}\nnot json\n{"step": 2}\n')
    with pytest.raises(DataError, match="row 2"):
        plot_curves(metrics, tmp_path / "c.png")
