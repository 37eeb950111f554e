"""The plan shows who can reach the stack: dry-run (table and JSON) and cost warn about every exposure."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli

OPEN = (
    "name: exposed\nregion: us-east-1\nstorage:\n  data: none\naccess:\n  mode: cidr\n"
    "  allowed_cidrs: [0.0.0.0/0]\n  allow_wide_cidrs: true\n  expose_unauthenticated: [ollama]\n"
)


def test_dry_run_and_cost_state_the_exposure(tmp_path: Path, shared_sandbox: str) -> None:
    config = tmp_path / "open.yaml"
    config.write_text(OPEN)
    table = run_cli("--sandbox", "deploy", "--config", str(config), "--dry-run")
    assert table.code == 0, table.err
    assert "Access: ollama, n8n, qdrant reachable from 0.0.0.0/0" in table.err
    assert "warning: 0.0.0.0/0 opens ollama, n8n, qdrant to the whole internet" in table.err
    assert "warning: ollama (port 11434) has no authentication" in table.err
    assert "inbound to ollama, n8n, qdrant from 0.0.0.0/0" in table.out
    document = json.loads(run_cli("--sandbox", "deploy", "--config", str(config), "--dry-run", "-o", "json").out)
    assert document["access"]["exposed_services"] == ["ollama", "n8n", "qdrant"]
    assert any("no authentication" in warning for warning in document["access"]["warnings"])
    cost = run_cli("--sandbox", "cost", "--config", str(config))
    assert cost.code == 0 and "warning: ollama (port 11434) has no authentication" in cost.err


def test_a_private_stack_says_nothing_is_open(tmp_path: Path, shared_sandbox: str) -> None:
    config = tmp_path / "private.yaml"
    config.write_text("name: private\nregion: us-east-1\nstorage:\n  data: none\n")
    table = run_cli("--sandbox", "deploy", "--config", str(config), "--dry-run")
    assert table.code == 0 and "Access: no inbound ports" in table.err and "warning" not in table.err
