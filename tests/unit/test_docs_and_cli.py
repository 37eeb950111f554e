"""Generated docs are current; the CLI's basics: version, help, usage errors, the bug handler."""

from __future__ import annotations

import subprocess
import sys

import pytest

from geusemaker.config_reference import render_reference
from tests.conftest import ROOT, run_cli


def test_configuration_reference_is_up_to_date() -> None:
    current = (ROOT / "docs" / "configuration.md").read_text()
    assert current == render_reference(), "run scripts/gen_config_reference.py"


def test_every_config_key_is_documented() -> None:
    reference = render_reference()
    for row in reference.splitlines():
        if row.startswith("| `"):
            assert not row.rstrip().endswith("|  |"), f"no description: {row}"


def test_version(cli) -> None:
    result = cli("--version")
    assert result.code == 0
    assert result.out.strip() == "geusemaker 0.1.0"


@pytest.mark.parametrize("command", [[], ["config"], ["sandbox"], ["gpus"], ["config", "validate"]])
def test_help_for_every_command_has_an_example(command: list[str]) -> None:
    result = run_cli(*command, "--help")
    assert result.code == 0
    assert "Usage: geusemaker" in result.out


@pytest.mark.parametrize("command", [["gpus"], ["config", "init"], ["config", "validate"], ["config", "schema"]])
def test_command_help_shows_an_example(command: list[str]) -> None:
    assert "Example: geusemaker" in run_cli(*command, "--help").out


def test_unknown_command_is_usage_error(cli) -> None:
    result = cli("teleport")
    assert result.code == 2
    assert "No such command" in result.err


def test_help_does_not_import_boto3_or_pydantic() -> None:
    code = (
        "import sys; from geusemaker.cli.app import run; run(['--help']);"
        "bad = [m for m in ('boto3', 'botocore', 'jinja2', 'yaml') if m in sys.modules];"
        "sys.exit(1 if bad else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, check=False).returncode == 0


def test_gpus_does_not_import_boto3() -> None:
    code = (
        "import sys; from geusemaker.cli.app import run; run(['gpus', '-o', 'json']);"
        "sys.exit(1 if 'boto3' in sys.modules or 'botocore' in sys.modules else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, check=False).returncode == 0


def test_an_unexpected_exception_is_reported_as_a_bug(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    import geusemaker.catalog

    def broken() -> None:
        raise RuntimeError("catalog exploded")

    monkeypatch.setattr(geusemaker.catalog, "load_catalog", broken)
    result = cli("gpus")
    assert result.code == 1
    assert "This is a bug in GeuseMaker" in result.err
    assert "Traceback" not in result.err
    debug = cli("--debug", "gpus")
    assert "Traceback" in debug.err and "catalog exploded" in debug.err


def test_unknown_profile_is_one_clear_message_exit_2(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    empty = tmp_path / "aws-config"
    empty.write_text("")
    config = tmp_path / "stack.yaml"
    config.write_text("name: s\nregion: us-east-1\n")
    env = {
        "AWS_CONFIG_FILE": str(empty),
        "AWS_SHARED_CREDENTIALS_FILE": str(empty),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    result = run_cli("--profile", "nobody", "deploy", "-c", str(config), "--dry-run", env=env)
    assert result.code == 2
    assert "AWS profile 'nobody' is not configured" in result.err and "Traceback" not in result.err
