"""DemoConfig presets and validation, stage fingerprints, and the live display (no training here)."""

from __future__ import annotations

import io
import json

import pytest

from r1lab.cli import main
from r1lab.demo.config import (
    MODELS,
    QUICK_PRESET,
    REAL_MODEL_STAGES,
    SMOLLM2_PRESET,
    STAGES,
    DemoConfig,
    make_config,
    stage_fingerprint,
)
from r1lab.demo.progress import Display, captured_output, format_seconds, rows_probe, training_probe
from r1lab.errors import ConfigError


def test_quick_preset_applies_but_explicit_options_win():
    config = make_config({"quick": True, "grpo_steps": 3})
    assert config.grpo_steps == 3  # given explicitly
    assert config.sft_steps == QUICK_PRESET["sft_steps"]  # from the preset
    assert config.sft_steps != DemoConfig().sft_steps
    full = make_config({})
    assert full.sft_steps == DemoConfig().sft_steps


def test_preset_is_the_general_mechanism_and_quick_its_alias():
    assert make_config({"preset": "quick"}) == make_config({"quick": True})
    assert make_config({"quick": True}).preset == "quick"
    assert make_config({}).stages() == STAGES and make_config({}).models() == MODELS
    real = make_config({"preset": "smollm2", "grpo_steps": 2})
    assert real.grpo_steps == 2  # given explicitly
    assert real.model == "smollm2" and real.digits == SMOLLM2_PRESET["digits"]  # from the preset
    assert real.stages() == REAL_MODEL_STAGES and "cold_start" not in real.stages()
    assert real.models() == ("instruct", "grpo", "student")
    # any model directory or .gguf file turns a run into R1-Zero from that model
    assert make_config({"model": "some/dir"}).stages() == REAL_MODEL_STAGES


def test_real_model_fingerprints_cover_the_model_prompt_and_selection():
    a = make_config({"preset": "smollm2"})
    for option in ({"model": "other/dir"}, {"system_prompt": None}, {"select_samples": 8}):
        b = make_config({"preset": "smollm2", **option})
        assert stage_fingerprint(a, "data") == stage_fingerprint(b, "data")
        assert all(stage_fingerprint(a, s) != stage_fingerprint(b, s) for s in ("select", "grpo", "evaluate"))
    c = make_config({"preset": "smollm2", "grpo_steps": 3})
    assert stage_fingerprint(a, "select") == stage_fingerprint(c, "select")
    assert stage_fingerprint(a, "grpo") != stage_fingerprint(c, "grpo")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"preset": "huge"}, "not a preset"),
        ({"preset": "smollm2", "quick": True}, "alias of --preset quick"),
        ({"select_samples": 4}, "set --model"),
        ({"preset": "smollm2", "select_samples": 1}, "at least 2"),
        ({"preset": "smollm2", "rerun_from": "cold_start"}, "not a stage of this run"),
        ({"prompt_template": "fancy"}, "prompt_template"),
        ({"grpo_stepz": 3}, "did you mean 'grpo_steps'"),
        ({"num_generations": 1}, "at least 2"),
        ({"grpo_batch_size": 30, "num_generations": 8}, "multiple of num_generations"),
        ({"rerun_from": "training"}, "not a stage"),
        ({"num_test": 0}, "num_test"),
        ({"temperature": 0}, "temperature"),
        ({"top_p": 0}, "top_p"),
        ({"short_trace_fraction": 1.5}, "short_trace_fraction"),
        ({"sft_steps": "many"}, "sft_steps"),
        ({"engine": "sglang"}, "engine: one of auto, vllm, transformers"),
        ({"check_samples": 0}, "check_samples"),
    ],
)
def test_bad_options_fail_with_a_clear_message(options, message):
    with pytest.raises(ConfigError, match=message):
        make_config(options)


def test_fingerprints_follow_the_dependency_order():
    a, b = make_config({}), make_config({"grpo_steps": 7})
    for stage in ("data", "cold_start"):
        assert stage_fingerprint(a, stage) == stage_fingerprint(b, stage)
    for stage in ("grpo", "distill", "evaluate"):
        assert stage_fingerprint(a, stage) != stage_fingerprint(b, stage)
    # sampling settings: GRPO samples at them too, so GRPO and everything after it depend on them
    c = make_config({"top_p": 0.9})
    assert stage_fingerprint(a, "cold_start") == stage_fingerprint(c, "cold_start")
    assert stage_fingerprint(a, "grpo") != stage_fingerprint(c, "grpo")
    # the trace mix is task data: everything depends on it
    d = make_config({"short_trace_fraction": 0.0})
    assert all(stage_fingerprint(a, s) != stage_fingerprint(d, s) for s in ("data", "cold_start", "evaluate"))
    json.dumps(stage_fingerprint(a, "evaluate"))  # stored in the marker file: must be JSON


def test_cli_rejects_bad_option_without_traceback(caplog, tmp_path):
    code = main(["demo", "--output-dir", str(tmp_path), "--num-generations", "1"])
    assert code == 2
    assert "num_generations" in caplog.text and "Traceback" not in caplog.text
    assert not (tmp_path / "data").exists()  # nothing ran


def test_cli_reads_mapping_options():
    from r1lab.cli.demo import _mapping

    assert _mapping("accuracy=1,format=0.2", "rewards") == {"accuracy": 1, "format": 0.2}
    assert _mapping("{beta: 0.04}", "grpo_overrides") == {"beta": 0.04}
    with pytest.raises(ConfigError, match="grpo-overrides"):
        _mapping("[1, 2]", "grpo_overrides")


def test_format_seconds():
    assert format_seconds(4.25) == "4.2s" or format_seconds(4.25) == "4.3s"
    assert format_seconds(125) == "2m05s"
    assert format_seconds(3725) == "1h02m"


def test_probes_read_the_files_stages_write(tmp_path):
    metrics = tmp_path / "metrics.jsonl"
    probe = training_probe(metrics, 50, ("reward",))
    assert probe() is None  # nothing logged yet
    metrics.write_text(json.dumps({"step": 3, "reward": 0.25}) + "\n" + '{"step": 4, "rew')  # torn tail
    assert probe() == (3, 50, "reward 0.25")
    rows = tmp_path / "gen.jsonl"
    rows.write_text('{"id": 1}\n{"id": 2}\n')
    assert rows_probe(rows, 10)() == (2, 10, "problems")


def test_display_without_terminal_writes_plain_lines():
    stream = io.StringIO()
    display = Display(6, live=False, stream=stream, interval=0.0)
    display.start(2, "cold-start SFT")
    display.set_probe(lambda: (5, 10, "loss 0.5"))
    import time

    time.sleep(1.3)  # the plain mode reports on its timer
    display.finish(2, "cold-start SFT", "SFT 10 steps", 12.0)
    display.close()
    text = stream.getvalue()
    assert "▶ 2/6 cold-start SFT" in text
    assert "5/10 · loss 0.5" in text
    assert "✓ 2/6 cold-start SFT" in text and "[12.0s]" in text
    assert "\r" not in text  # no redrawing when the stream is not a terminal


def test_captured_output_sends_prints_and_fd_writes_to_the_log(tmp_path):
    import os

    log = tmp_path / "logs" / "stage.log"
    with captured_output(log):
        print("from python")
        os.write(1, b"from the file descriptor\n")
    text = log.read_text()
    assert "from python" in text and "from the file descriptor" in text


def test_paths_of_a_real_model_run(tmp_path):
    from r1lab.demo.stages import Paths

    tiny = Paths(tmp_path)
    assert tiny.grpo_start() == tiny.cold_start and tiny.student_base() == tiny.base_model
    assert tiny.eval_results("grpo") == tmp_path / "evaluate" / "grpo" / "test" / "results.json"
    with pytest.raises(ConfigError, match="no given model"):
        tiny.model("instruct")
    real = Paths(tmp_path, start_model=tmp_path / "instruct")
    assert real.grpo_start() == real.student_base() == real.model("instruct") == tmp_path / "instruct"
    assert real.eval_details("student") == tmp_path / "evaluate" / "student" / "test" / "details.jsonl"
