"""deploy against an endpoint that is not the sandbox follows the boot over SSM and reports the first token."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.awsfakes import Faults, count_resources


def test_deploy_reports_the_time_to_first_token_from_the_instance_status(
    cli, tmp_path: Path, shared_sandbox: str, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    before = count_resources(shared_sandbox)
    faults = Faults().install(monkeypatch)
    # the instance's status.json, as SSM Run Command would read it: booted, and the model answered 95 s in
    started = time.time()
    status = {
        "step": "complete", "state": "done", "error": None, "steps": {}, "first_token_at": started + 95.0,
        "phases": {"images": {"start": started + 20, "end": started + 70},
                   "models": {"start": started + 30, "end": started + 90}},
    }  # fmt: skip
    faults.ssm_outputs("Online", json.dumps(status))
    config = tmp_path / "measured.yaml"
    config.write_text("name: measured\nregion: us-east-1\ncompute:\n  gpu: t4\nstorage:\n  data: none\n")
    deployed = cli("--endpoint-url", shared_sandbox, "deploy", "-c", str(config), "--yes", "-o", "json",
                   "--health-timeout", "1")  # fmt: skip
    assert deployed.code == 0, deployed.err
    document = json.loads(deployed.out)
    assert document["status"] == "degraded", "the checks' output is the status file alone: not healthy"
    assert document["time_to_first_token_reason"] is None
    assert 90 <= document["time_to_first_token_s"] <= 95, document["time_to_first_token_s"]
    phases = [(p["name"], p["source"]) for p in document["phases"]]
    assert phases == [("plan", "command"), ("create resources", "command"), ("launch", "command"),
                      ("wait", "command"), ("models", "instance"), ("images", "instance")]  # fmt: skip
    assert "ssm.SendCommand" in faults.calls
    assert cli("--endpoint-url", shared_sandbox, "destroy", "measured", "--yes", "--delete-data").code == 0
    assert count_resources(shared_sandbox) == before
