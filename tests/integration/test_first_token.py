"""deploy and start report the time to first token; in the sandbox, which boots no instance, it is null with why.

Through the CLI against the sandbox's HTTP endpoint.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.awsfakes import count_resources

NOT_MEASURED = "the sandbox boots no instance"


def test_deploy_and_start_report_no_first_token_in_the_sandbox_and_say_why(
    cli, tmp_path: Path, shared_sandbox: str
) -> None:  # type: ignore[no-untyped-def]
    before = count_resources(shared_sandbox)
    config = tmp_path / "ttft.yaml"
    config.write_text("name: ttft\nregion: us-east-1\ncompute:\n  gpu: t4\nstorage:\n  data: ebs\n  ebs_gb: 30\n")
    deployed = cli("--sandbox", "deploy", "-c", str(config), "--yes", "-o", "json")
    assert deployed.code == 0, deployed.err
    document = json.loads(deployed.out)
    assert document["time_to_first_token_s"] is None
    assert document["time_to_first_token_reason"] == NOT_MEASURED
    phases = {phase["name"]: phase for phase in document["phases"]}
    assert list(phases) == ["plan", "create resources", "launch"], "no wait: the sandbox has no boot to follow"
    assert all(p["source"] == "command" and p["seconds"] >= 0 for p in phases.values()), phases
    assert f"Time to first token: not measured ({NOT_MEASURED})" not in deployed.out, "stdout is the JSON alone"

    assert cli("--sandbox", "stop", "ttft").code == 0
    started = cli("--sandbox", "start", "ttft", "--health-timeout", "5")
    assert started.code == 0, started.err
    assert f"Time to first token: not measured ({NOT_MEASURED}) (plan " in started.err
    assert "launch " in started.err.split("Time to first token", 1)[1]

    assert cli("--sandbox", "stop", "ttft").code == 0
    again = cli("--sandbox", "start", "ttft", "-o", "json")
    assert again.code == 0, again.err
    document = json.loads(again.out)  # strict: one document on stdout
    assert (document["name"], document["status"], document["health"]) == ("ttft", "running", None)
    assert document["instance_id"].startswith("i-")
    assert (document["time_to_first_token_s"], document["time_to_first_token_reason"]) == (None, NOT_MEASURED)
    assert [phase["name"] for phase in document["phases"]] == ["plan", "launch"]

    assert cli("--sandbox", "destroy", "ttft", "--yes", "--delete-data").code == 0
    assert count_resources(shared_sandbox) == before
