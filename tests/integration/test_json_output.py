"""`--output json` prints exactly one JSON document on stdout and nothing else, for every read command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory, sandbox_home: Path, sandbox_endpoint: str):  # type: ignore[no-untyped-def]
    """A sandbox deployment shared by the JSON checks."""
    assert sandbox_endpoint
    config = tmp_path_factory.mktemp("json") / "stack.yaml"
    config.write_text("name: jsonout\nregion: us-east-1\nstorage:\n  data: none\n")
    env = {"GEUSEMAKER_HOME": str(sandbox_home)}
    assert run_cli("--sandbox", "deploy", "-c", str(config), "--yes", env=env).code == 0
    yield config, env
    run_cli("--sandbox", "destroy", "jsonout", "--yes", "--delete-data", env=env)


@pytest.mark.parametrize(
    ("args", "kind"),
    [
        (["status"], list),
        (["status", "jsonout", "--refresh"], list),
        (["list"], list),
        (["list", "--discover", "--region", "us-east-1"], list),
        (["gpus", "--gpu", "l4"], list),
        (["cost", "-c", "{config}"], dict),
        (["health", "jsonout"], dict),
        (["deploy", "-c", "{config}", "--dry-run"], dict),
        (["sandbox", "status"], dict),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_one_json_document_on_stdout(deployed, args: list[str], kind: type) -> None:  # type: ignore[no-untyped-def]
    config, env = deployed
    argv = [str(config) if a == "{config}" else a for a in args]
    result = run_cli("--sandbox", *argv, "--output", "json", env=env)
    assert result.code == 0, result.err
    document = json.loads(result.out)  # strict: any extra text fails
    assert isinstance(document, kind)
    assert result.out.strip().startswith(("[", "{")) and "\x1b[" not in result.out


def test_list_discover_finds_the_deployment_by_tag(deployed) -> None:  # type: ignore[no-untyped-def]
    _, env = deployed
    rows = json.loads(run_cli("--sandbox", "list", "--discover", "--region", "us-east-1", "-o", "json", env=env).out)
    row = next(r for r in rows if r["name"] == "jsonout")
    assert row["in_state"] is True and row["resources"] >= 5


def test_connect_prints_the_exact_command_without_the_plugin(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from geusemaker.cli.session import open_store

    store = open_store()
    store.upsert_deployment("conn", "eu-west-1", "running", {"name": "conn"}, None)
    store.update_facts("conn", instance_id="i-0123456789abcdef0", region="eu-west-1")
    monkeypatch.setenv("PATH", str(tmp_path))  # no aws, no session-manager-plugin
    result = cli("--endpoint-url", "http://127.0.0.1:9", "connect", "conn", "--service", "ollama")
    assert result.code == 1
    assert result.out.strip() == (
        "aws ssm start-session --target i-0123456789abcdef0 --region eu-west-1 --document-name "
        "AWS-StartPortForwardingSession --parameters "
        '\'{"portNumber":["11434"],"localPortNumber":["11434"]}\''
    )
    assert "session-manager-plugin" in result.err


def test_connect_runs_the_aws_cli_when_it_is_there(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from geusemaker.cli.session import open_store

    store = open_store()
    store.upsert_deployment("conn2", "eu-west-1", "running", {"name": "conn2"}, None)
    store.update_facts("conn2", instance_id="i-0fedcba9876543210", region="eu-west-1")
    log = tmp_path / "aws.log"
    for tool in ("aws", "session-manager-plugin"):
        stub = tmp_path / tool
        stub.write_text(f'#!/bin/sh\necho "$@" >> {log}\nexit 0\n')
        stub.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    result = cli("--endpoint-url", "http://127.0.0.1:9", "connect", "conn2", "--local-port", "15678")
    assert result.code == 0, result.err
    assert log.read_text().split()[:5] == ["ssm", "start-session", "--target", "i-0fedcba9876543210", "--region"]
    assert '"localPortNumber":["15678"]' in log.read_text()
