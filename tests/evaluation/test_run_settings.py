"""One run-settings record: results.json, settings.json and the manifest agree; one guard on resume.

Against a real loopback server (the replay server), through the public ``evaluate`` and
``generate``: the guard refuses a resume whose sampling differs (naming the field) and records,
without refusing, a resume on another install.
"""

from __future__ import annotations

import json

import pytest

from r1lab.data import load_benchmark
from r1lab.errors import ConfigError
from r1lab.evaluation import EvalConfig, evaluate
from r1lab.generation import GenerateConfig, generate


def _server(replay_server, count=4):
    rows = list(load_benchmark("gsm8k").select(range(count)))
    answers = {row["problem"]: f"The answer is $\\boxed{{{row['answer']}}}$." for row in rows}
    return replay_server(answers, lambda problem, index: answers[problem])


def _config(tmp_path, server, **over):
    options = dict(
        benchmarks=["gsm8k"], base_urls=[server.base_url], model="m", limit=4, num_samples=2,
        max_tokens=64, output_dir=str(tmp_path), progress=False, extra_body={"seed": 7},
    )  # fmt: skip
    return EvalConfig(**{**options, **over})


def test_results_settings_and_manifest_are_written_from_one_record(tmp_path, replay_server):
    server = _server(replay_server)
    (results,) = evaluate(_config(tmp_path, server))
    out = tmp_path / "gsm8k"
    settings = json.loads((out / "settings.json").read_text())
    manifest = json.loads((out / "generations.manifest.json").read_text())
    # the identity: the same in all three files (results shows the template as people read it)
    assert settings["seed"] == 7 and settings["num_samples"] == 2 and settings["temperature"] == 0.6
    assert {k: v for k, v in results["sampling"].items() if k != "prompt_template"} == {
        k: v for k, v in settings.items() if k != "prompt_template"
    }
    assert {k: manifest["run"][k] for k in settings} == settings
    assert manifest["run"]["kind"] == "evaluate" and manifest["run"]["input"] == "gsm8k"
    # the environment: recorded in results and manifest, not part of the identity
    assert results["environment"] == manifest["environments"][-1]
    assert {k: manifest["settings"][k] for k in ("server", "versions", "use_n")} == results["environment"]
    assert results["environment"]["versions"]["transformers"]
    assert results["environment"]["server"]  # kind (and version where the server says)
    assert "versions" not in manifest["run"] and "server" not in manifest["run"]


def test_the_guard_refuses_other_sampling_and_records_another_install(tmp_path, replay_server):
    server = _server(replay_server)
    evaluate(_config(tmp_path, server))
    manifest_path = tmp_path / "gsm8k" / "generations.manifest.json"
    with pytest.raises(
        ConfigError, match=r"another run \(extra_body: .*; max_tokens: 64 -> 32; seed: 7 -> 8\)"
    ):
        evaluate(_config(tmp_path, server, max_tokens=32, extra_body={"seed": 8}))
    # another transformers (an upgrade between two sessions of one run) is recorded, not refused
    manifest = json.loads(manifest_path.read_text())
    manifest["environments"][0]["versions"]["transformers"] = "0.0.1"
    manifest_path.write_text(json.dumps(manifest))
    generations = tmp_path / "gsm8k" / "generations.jsonl"
    lines = generations.read_text().splitlines()
    generations.write_text("\n".join(lines[:-1]) + "\n")  # one problem left to do: a real resume
    (results,) = evaluate(_config(tmp_path, server))
    assert results["num_problems"] == 4
    environments = json.loads(manifest_path.read_text())["environments"]
    assert [e["versions"]["transformers"] for e in environments][0] == "0.0.1"
    assert len(environments) == 2 and environments[1] == results["environment"]


def test_python_generate_is_guarded_too(tmp_path, replay_server):
    """``generate`` from Python resumed with another top-p: refused (it was not guarded before)."""
    server = _server(replay_server)
    rows = [
        {"id": str(i), "problem": row["problem"]}
        for i, row in enumerate(load_benchmark("gsm8k").select(range(4)))
    ]
    out = tmp_path / "gen.jsonl"

    def run(**over):
        config = GenerateConfig(output=str(out), base_urls=[server.base_url], model="m", progress=False,
                                max_tokens=16, **over)  # fmt: skip
        return generate(config, rows=rows)

    assert run().rows_done == 4
    manifest = json.loads((tmp_path / "gen.manifest.json").read_text())
    assert manifest["run"]["top_p"] == 0.95 and manifest["run"]["kind"] == "generate"
    with pytest.raises(ConfigError, match=r"another run \(top_p: 0.95 -> 0.5\)"):
        run(top_p=0.5)
    assert run().rows_skipped == 4  # the same settings resume


def test_a_seeded_output_begun_before_each_sample_had_its_own_seed_is_not_resumed(tmp_path, replay_server):
    # Before the rule, one request per sample sent every sample of a row the same seed: vLLM then
    # returned one sample n times. Such an output's manifest has a seed and no sample_seeds.
    server = _server(replay_server)
    evaluate(_config(tmp_path, server))
    out = tmp_path / "gsm8k"
    manifest_path = out / "generations.manifest.json"
    manifest = json.loads(manifest_path.read_text())
    assert manifest["run"]["sample_seeds"] == "seed + sample index"
    generations = out / "generations.jsonl"
    generations.write_text("\n".join(generations.read_text().splitlines()[:-1]) + "\n")  # one left to do
    del manifest["run"]["sample_seeds"]  # as the older version wrote it
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(ConfigError, match=r"before r1lab gave each sample of a seeded row its own seed"):
        evaluate(_config(tmp_path, server))
    # sent with n in one request, the server seeded the samples seed + i already: it resumes
    manifest["environments"] = [{**env, "use_n": True} for env in manifest["environments"]]
    manifest_path.write_text(json.dumps(manifest))
    (results,) = evaluate(_config(tmp_path, server, use_n=True))
    assert results["num_problems"] == 4


def test_an_unseeded_run_records_no_sample_seeds():
    # so its identity, and its shards' fingerprint, stay what earlier versions wrote
    from r1lab.generation.settings import RunSettings

    plain = RunSettings.from_config(GenerateConfig(output="x.jsonl", model="m"), num_samples=4)
    assert "sample_seeds" not in plain.sampling()
    one = RunSettings.from_config(
        GenerateConfig(output="x.jsonl", model="m", extra_body={"seed": 1}), num_samples=1
    )
    assert "sample_seeds" not in one.sampling()
