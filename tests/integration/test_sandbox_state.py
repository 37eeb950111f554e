"""Deployments made in a sandbox that has stopped since: forgotten on request, never blocking a name."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli


def test_a_stopped_sandbox_takes_its_deployments_with_it(tmp_path: Path) -> None:
    config = tmp_path / "q.yaml"
    config.write_text("name: quick\nregion: us-east-1\ncompute:\n  gpu: t4\nstorage:\n  data: none\n")
    try:
        assert run_cli("--sandbox", "deploy", "-c", str(config), "--yes").code == 0
        elsewhere = run_cli("destroy", "quick", "--yes")
        assert elsewhere.code == 2 and "geusemaker --sandbox destroy quick" in elsewhere.err.replace("\n", " ")
        assert run_cli("sandbox", "stop").code == 0

        again = run_cli("--sandbox", "deploy", "-c", str(config), "--yes")  # an interrupted quick start, re-run
        assert again.code == 0, again.err
        assert "sandbox that has stopped" in again.err
        assert run_cli("sandbox", "stop").code == 0

        forgotten = run_cli("--sandbox", "destroy", "quick", "--yes")
        assert forgotten.code == 0, forgotten.err
        assert "sandbox that has stopped" in forgotten.err and "forgotten" in forgotten.err
        assert json.loads(run_cli("status", "-o", "json").out) == []
    finally:
        run_cli("sandbox", "stop")
