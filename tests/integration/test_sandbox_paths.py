"""The sandbox serves every launch path the product takes: next zone, spot -> on-demand, next region."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.awsfakes import Faults, boto_client, count_resources, request_body, request_region
from tests.integration.test_faults import ICE


def _config(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"name: {name}\n{body}")
    return str(path)


def _spot(request: Any) -> bool:
    return "DefaultTargetCapacityType=spot" in request_body(request)


def _launched_image(endpoint: str, region: str, instance_id: str) -> str:
    reservations = boto_client(endpoint, "ec2", region).describe_instances(InstanceIds=[instance_id])["Reservations"]
    return str(reservations[0]["Instances"][0].get("ImageId", ""))


def test_spot_to_on_demand_fallback_keeps_the_template_data(
    cli, tmp_path: Path, shared_sandbox: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    faults = Faults().install(monkeypatch)
    faults.respond_if.append(("ec2.CreateFleet", _spot, (200, {}, ICE)))
    before = count_resources(shared_sandbox)
    config = _config(tmp_path, "ondemand", "region: us-east-1\ncompute:\n  gpu: t4\nstorage:\n  data: none\n")
    plan = json.loads(cli("--sandbox", "deploy", "-c", config, "--dry-run", "-o", "json").out)
    result = cli("--sandbox", "deploy", "-c", config, "--yes", "-o", "json")
    assert result.code == 0, result.err
    launched = json.loads(result.out)
    assert launched["market"] == "on-demand"
    assert "ec2.CreateLaunchTemplateVersion" not in faults.calls, "one template serves both markets"
    ec2 = boto_client(shared_sandbox, "ec2")
    versions = ec2.describe_launch_template_versions(LaunchTemplateName="geusemaker-ondemand")["LaunchTemplateVersions"]
    latest = max(versions, key=lambda v: v["VersionNumber"])["LaunchTemplateData"]
    assert latest["InstanceInitiatedShutdownBehavior"] == "terminate", "the group would replace a stopped instance"
    assert latest["ImageId"] == plan["ami"]["id"]
    assert latest["UserData"] and latest["IamInstanceProfile"] and latest["BlockDeviceMappings"]
    assert _launched_image(shared_sandbox, "us-east-1", launched["instance_id"]) == plan["ami"]["id"]
    assert cli("--sandbox", "destroy", "ondemand", "--yes", "--delete-data").code == 0
    assert count_resources(shared_sandbox) == before


def test_next_region_then_on_demand(cli, tmp_path: Path, shared_sandbox: str, monkeypatch: pytest.MonkeyPatch) -> None:
    faults = Faults().install(monkeypatch)
    first: list[str] = []

    def exhausted(request: Any) -> bool:
        region = request_region(request)
        first.append(region) if not first else None
        return region == first[0] or _spot(request)

    faults.respond_if.append(("ec2.CreateFleet", exhausted, (200, {}, ICE)))
    config = _config(tmp_path, "moved", "region: auto\ncompute:\n  gpu: t4\nstorage:\n  data: none\n")
    result = cli("--sandbox", "deploy", "-c", config, "--yes", "-o", "json")
    assert result.code == 0, result.err
    launched = json.loads(result.out)
    assert launched["region"] != first[0] and launched["market"] == "on-demand"
    image = _launched_image(shared_sandbox, launched["region"], launched["instance_id"])
    assert image.startswith("ami-"), "the instance in the next region has its region's image"
    cli("--sandbox", "destroy", "moved", "--yes", "--delete-data")
    for region in {first[0], launched["region"]}:
        assert count_resources(shared_sandbox, region)["instances"] == 0
        assert count_resources(shared_sandbox, region)["launch_templates"] == 0
