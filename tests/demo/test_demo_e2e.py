"""The quick demo end to end: real trainers, a real transformers serve, real grading, the real report.

One run (module fixture, about two minutes on two free cores) feeds every test here: the files
exist and carry the numbers, a rerun skips every finished stage, and the HTML report renders in
headless Chromium with its table and every image (a screenshot is kept in test-artifacts/).
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from r1lab.demo import make_config, run_demo
from r1lab.demo.config import MODELS, STAGES
from selfcontained import network_loads, without_scripts  # tests/ is on sys.path

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

#: The quick demo takes about two minutes on two free cores; on a shared, loaded machine it can take
#: ten times that, so the module gets more than the suite's default per-test timeout.
pytestmark = pytest.mark.timeout(3600)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    config = make_config({"quick": True, "output_dir": str(out)})
    results = run_demo(config)
    return config, out, results


def test_report_files_exist_and_carry_the_numbers(demo_run):
    config, out, results = demo_run
    for name in ("report.html", "report.md", "results.json"):
        assert (out / name).stat().st_size > 0, name
    on_disk = json.loads((out / "results.json").read_text())
    assert on_disk["headline"] == results["headline"]
    assert on_disk["preset"] == "quick"
    # every model was evaluated, and results.json repeats exactly what the evaluation wrote
    assert set(on_disk["models"]) == set(MODELS)
    for name, numbers in on_disk["models"].items():
        evaluation = json.loads((out / "evaluate" / name / "test" / "results.json").read_text())
        assert numbers["pass@1"] == evaluation["metrics"]["pass@1"]
        assert 0.0 <= numbers["pass@1"] <= 1.0
        assert numbers["num_samples"] == config.eval_samples
        assert numbers["num_problems"] == on_disk["task"]["num_test"]
        assert numbers["length_mean"] > 0
    # the stages ran and were timed
    assert [s["name"] for s in on_disk["stages"]] == [s for s in STAGES if s != "report"]
    assert all(s["seconds"] > 0 for s in on_disk["stages"])
    # GRPO logged a curve with the rewards, one row per step
    curve = on_disk["grpo"]["curve"]
    assert [row["step"] for row in curve] == list(range(1, config.grpo_steps + 1))
    assert all("reward" in row and "accuracy" in row for row in curve)
    # rejection sampling kept only graded-correct traces, and the student trained on them
    distill = on_disk["distill"]
    assert 0 < distill["kept"] <= distill["generations"] == distill["problems"] * config.distill_samples
    kept_rows = [json.loads(line) for line in (out / "distill" / "kept.jsonl").read_text().splitlines()]
    assert kept_rows and all(all(row["correct"]) for row in kept_rows)
    assert (out / "distill" / "student" / "config.json").exists()
    # the test set was checked against the training set
    train = {json.loads(line)["problem"] for line in (out / "data" / "train.jsonl").read_text().splitlines()}
    test = [json.loads(line)["problem"] for line in (out / "data" / "test.jsonl").read_text().splitlines()]
    assert test and not train.intersection(test)
    # the GRPO model's served pass@1 was checked against in-process sampling on the same problems,
    # and the evaluation's run record names the server and the packages
    check = on_disk["sampling_check"]
    assert check["problems"] == config.check_problems and check["agree"], check
    assert check["served_samples"] == config.eval_samples
    assert check["in_process_samples"] == config.check_samples
    assert json.loads((out / "evaluate" / "sampling_check.json").read_text()) == check
    assert on_disk["environment"]["server"]["kind"] == "transformers serve"
    assert on_disk["environment"]["versions"]["torch"]


def test_reports_show_the_same_numbers(demo_run):
    _, out, results = demo_run
    from r1lab.report import percent

    markdown = (out / "report.md").read_text()
    page = (out / "report.html").read_text()
    for numbers in results["models"].values():
        shown = percent(numbers["pass@1"], numbers["pass@1_stderr"])
        assert shown in markdown
        assert html.escape(shown) in page
    assert html.escape(results["headline"]) in page
    assert results["headline"] in markdown
    # self-contained: every image is inline, nothing is fetched
    sources = re.findall(r'<img src="([^"]+)"', without_scripts(page))
    assert len(sources) >= 3 and all(src.startswith("data:image/png;base64,") for src in sources)
    assert not network_loads(page), network_loads(page)
    # the only script is the inlined math renderer, and only where sample traces show math
    assert page.count("<script") <= 1 and ("<script" in page) == bool(results["sample_traces"])
    # the Markdown links plots that exist
    for link in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown):
        assert (out / link).exists(), link
    assert len(results["sample_traces"]) == 3


def test_rerun_skips_finished_stages(demo_run):
    config, out, _ = demo_run
    before = {stage: (out / stage / "stage.json").read_text() for stage in STAGES if stage != "report"}
    model_mtime = (out / "grpo" / "model" / "model.safetensors").stat().st_mtime_ns
    results = run_demo(config)
    after = {stage: (out / stage / "stage.json").read_text() for stage in before}
    assert after == before  # no stage ran again
    assert (out / "grpo" / "model" / "model.safetensors").stat().st_mtime_ns == model_mtime
    assert results["models"]["grpo"]["pass@1"] is not None


def test_a_stage_rerun_samples_afresh_rather_than_resuming_its_old_rows(demo_run):
    """--rerun-from evaluate: the old generations came from the same model paths, so the generation
    client's resume guard would take them as this run's; the stage must discard them instead."""
    config, out, _ = demo_run
    upstream = {stage: (out / stage / "stage.json").read_text() for stage in ("data", "cold_start", "grpo")}
    stale = out / "evaluate" / "grpo" / "test" / "generations.jsonl"
    planted = stale.read_text().replace('"id"', '"stale": true, "id"', 1)
    stale.write_text(planted)
    results = run_demo(make_config({"quick": True, "output_dir": str(out), "rerun_from": "evaluate"}))
    assert '"stale"' not in stale.read_text()  # sampled again, not resumed
    assert {stage: (out / stage / "stage.json").read_text() for stage in upstream} == upstream
    assert results["models"]["grpo"]["pass@1"] is not None


# --------------------------------------------------------------------------- headless Chromium

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
]

PROBE_SCRIPT = """
<script>
window.addEventListener('load', () => {
  const images = [...document.images].map(i => ({alt: i.alt, w: i.naturalWidth, h: i.naturalHeight,
                                                 shown: i.getBoundingClientRect().width}));
  const tables = [...document.querySelectorAll('table')].map(t => ({rows: t.rows.length,
                  w: t.getBoundingClientRect().width, h: t.getBoundingClientRect().height,
                  text: t.innerText.slice(0, 2000)}));
  const out = document.createElement('pre');
  out.id = 'r1lab-probe';
  out.textContent = JSON.stringify({images, tables});
  document.body.appendChild(out);
});
</script>
"""


def _chromium(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_report_renders_in_headless_chromium(demo_run, chromium, tmp_path):
    _, out, results = demo_run
    page = (out / "report.html").read_text()
    probe_page = tmp_path / "probe.html"
    probe_page.write_text(page.replace("</body>", PROBE_SCRIPT + "</body>"))
    done = _chromium(
        chromium, tmp_path / "profile-dom", "--virtual-time-budget=10000", "--dump-dom", probe_page.as_uri()
    )
    assert done.returncode == 0, done.stderr[-2000:]
    found = re.search(r'<pre id="r1lab-probe">(.*?)</pre>', done.stdout, re.S)
    assert found, "the probe script did not run: " + done.stdout[-500:]
    probe = json.loads(html.unescape(found.group(1)))
    images, tables = probe["images"], probe["tables"]
    assert len(images) >= 3
    for image in images:  # every plot decoded and laid out
        assert image["w"] > 100 and image["h"] > 100 and image["shown"] > 100, image
    stages_table = tables[0]
    assert stages_table["rows"] == 1 + len(results["stages"]) + 1  # header, stages, total
    assert stages_table["w"] > 300 and stages_table["h"] > 100
    assert "GRPO" in stages_table["text"] and "distillation" in stages_table["text"]

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "demo_report.png"
    shot.unlink(missing_ok=True)
    done = _chromium(
        chromium,
        tmp_path / "profile-shot",
        "--window-size=1280,2600",
        f"--screenshot={shot}",
        (out / "report.html").as_uri(),
    )
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    import matplotlib.image

    pixels = matplotlib.image.imread(shot)
    assert pixels.shape[0] >= 2000 and pixels.shape[1] >= 1200
    non_white = (pixels[..., :3] < 0.9).any(axis=-1).mean()
    assert 0.02 < non_white < 0.9, f"the screenshot looks blank or broken ({non_white:.3f} non-white)"
    shutil.copy(out / "report.html", ARTIFACTS / "demo_report.html")
