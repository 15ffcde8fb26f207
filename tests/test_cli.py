import subprocess
import sys

from r1lab import __version__
from r1lab.cli import COMMAND_MODULES, build_parser, main


def test_version(capsys):
    try:
        main(["--version"])
    except SystemExit as exc:
        assert exc.code == 0
    assert __version__ in capsys.readouterr().out


def test_help_lists_every_registered_command():
    parser = build_parser()
    help_text = parser.format_help()
    subcommands = parser._subparsers._group_actions[0].choices
    assert len(subcommands) == len(COMMAND_MODULES)
    for name in subcommands:
        assert name in help_text


def test_every_command_prints_its_help():
    # argparse %-formats help text: a "%" in a field's help ("50% pass@1") made `demo --help` crash
    subcommands = build_parser()._subparsers._group_actions[0].choices
    for name, subparser in subcommands.items():
        assert subparser.format_help().startswith("usage:"), name


def test_console_script_runs_and_builds_a_model(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "r1lab.cli", "tiny-model", str(tmp_path / "m"), "--num-layers", "1"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "m" / "config.json").exists()
    assert (tmp_path / "m" / "tokenizer.json").exists()


def test_user_error_is_one_line_without_traceback(tmp_path, capsys):
    code = main(["tiny-model", str(tmp_path / "m"), "--arch", "gpt9"])
    assert code != 0


def test_missing_required_option_is_named(capsys, caplog):
    assert main(["generate", "--base-url", "http://127.0.0.1:9/v1", "--input", "math500"]) == 2
    assert "missing required option(s): --output" in caplog.text
