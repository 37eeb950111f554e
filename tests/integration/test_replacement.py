"""A stack replaces itself after a spot interruption, on AWS's machinery (an Auto Scaling group of one).

Through the CLI against the sandbox: `sandbox interrupt` terminates the instance as AWS would, moto's
group launches the replacement by itself, and `status --refresh` tells the story.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.awsfakes import boto_client, count_resources, tagged_resources

EBS = "storage:\n  data: ebs\n  ebs_gb: 30\n"


def _config(tmp_path: Path, name: str, extra: str = "", market: str = "spot-or-on-demand") -> str:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"name: {name}\nregion: us-east-1\ncompute:\n  gpu: t4\n  market: {market}\n{extra}")
    return str(path)


def _secrets(endpoint: str, name: str) -> dict[str, str]:
    ssm: Any = boto_client(endpoint, "ssm")
    found = ssm.get_parameters_by_path(Path=f"/geusemaker/{name}/", WithDecryption=True)["Parameters"]
    return {p["Name"]: p["Value"] for p in found}


def _groups(endpoint: str, name: str) -> dict[str, dict[str, Any]]:
    autoscaling: Any = boto_client(endpoint, "autoscaling")
    groups = autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"]
    return {g["AutoScalingGroupName"]: g for g in groups if g["AutoScalingGroupName"].startswith(f"gm-{name}-")}


def _alarms(endpoint: str, name: str) -> list[dict[str, Any]]:
    cloudwatch: Any = boto_client(endpoint, "cloudwatch")
    return list(cloudwatch.describe_alarms(AlarmNamePrefix=f"gm-{name}-")["MetricAlarms"])


def _status(cli, name: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    result = cli("--sandbox", "status", name, "--refresh", "-o", "json")
    assert result.code == 0, result.err
    return dict(json.loads(result.out)[0])


def _data_volume(endpoint: str, name: str) -> str:
    return next(i.split()[1] for i in tagged_resources(endpoint, name) if i.startswith("data-volume "))


def test_an_interrupted_spot_stack_is_replaced_with_the_same_data_and_secrets(
    cli, tmp_path: Path, shared_sandbox: str
) -> None:
    before = count_resources(shared_sandbox)
    config = _config(tmp_path, "phoenix", EBS, market="spot")
    deployed = cli("--sandbox", "deploy", "-c", config, "--yes", "-o", "json")
    assert deployed.code == 0, deployed.err
    first = json.loads(deployed.out)
    plan = json.loads(cli("--sandbox", "status", "phoenix", "-o", "json").out)[0]
    secrets, volume = _secrets(shared_sandbox, "phoenix"), _data_volume(shared_sandbox, "phoenix")

    groups = _groups(shared_sandbox, "phoenix")
    assert len(groups) == 1, "spot only: no on-demand fallback group"
    group = next(iter(groups.values()))
    assert group["AvailabilityZones"] == [first["availability_zone"]], "the data volume's zone only"
    assert group["CapacityRebalance"] is True
    assert (group["MinSize"], group["MaxSize"], group["DesiredCapacity"]) == (0, 1, 1)
    assert [i["InstanceId"] for i in group["Instances"]] == [first["instance_id"]], "the launched instance, attached"
    policy = group["MixedInstancesPolicy"]
    assert first["instance_type"] in [o["InstanceType"] for o in policy["LaunchTemplate"]["Overrides"]]
    assert policy["InstancesDistribution"]["OnDemandPercentageAboveBaseCapacity"] == 0
    assert policy["InstancesDistribution"]["SpotAllocationStrategy"] == "price-capacity-optimized"
    tags = {t["Key"]: t for t in group["Tags"]}
    assert tags["geusemaker:stack-id"]["PropagateAtLaunch"] is True, "replacements carry the stack id"
    assert _alarms(shared_sandbox, "phoenix") == []

    interrupted = cli("--sandbox", "sandbox", "interrupt", "phoenix")
    assert interrupted.code == 0, interrupted.err
    assert first["instance_id"] in interrupted.err
    status = _status(cli, "phoenix")
    assert status["status"] == "running" and status["instance_id"] not in (None, first["instance_id"])
    events = [(e["event"], e.get("instance_id")) for e in status["events"]]
    assert events == [
        ("launched", first["instance_id"]),
        ("interrupted", first["instance_id"]),
        ("replaced", status["instance_id"]),
    ], events
    assert all(isinstance(e["at"], float) for e in status["events"])
    replaced = status["events"][-1]
    assert replaced["instance_type"] == status["instance_type"] and replaced["market"] == "spot"
    assert replaced["hourly_usd"] == plan["hourly_usd"], "priced from the plan's candidates"
    assert _data_volume(shared_sandbox, "phoenix") == volume, "the same data volume"
    assert _secrets(shared_sandbox, "phoenix") == secrets, "the same secrets"
    table = cli("--sandbox", "status", "phoenix")
    assert "History:" in table.out and "interrupted" in table.out and "replaced" in table.out, table.out
    assert _status(cli, "phoenix")["events"] == status["events"], "a second refresh records nothing new"

    assert cli("--sandbox", "stop", "phoenix").code == 0
    group = next(iter(_groups(shared_sandbox, "phoenix").values()))
    assert group["DesiredCapacity"] == 0 and group["Instances"] == []
    assert count_resources(shared_sandbox)["instances"] == before["instances"], "nothing runs while stopped"
    started = cli("--sandbox", "start", "phoenix")
    assert started.code == 0, started.err
    status = _status(cli, "phoenix")
    group = next(iter(_groups(shared_sandbox, "phoenix").values()))
    assert [i["InstanceId"] for i in group["Instances"]] == [status["instance_id"]], "attached again"

    kept = cli("--sandbox", "destroy", "phoenix", "--yes")
    assert kept.code == 0, kept.err
    assert tagged_resources(shared_sandbox, "phoenix") == sorted(
        [f"data-volume {volume}", *(f"ssm-parameter {n}" for n in secrets)]
    ), "the group goes, the data stays"
    assert _groups(shared_sandbox, "phoenix") == {}
    assert cli("--sandbox", "destroy", "phoenix", "--yes", "--delete-data").code == 0
    assert count_resources(shared_sandbox) == before


def test_no_spot_capacity_moves_the_stack_to_its_on_demand_group(cli, tmp_path: Path, shared_sandbox: str) -> None:
    before = count_resources(shared_sandbox)
    config = _config(tmp_path, "lifeboat", EBS)  # market: spot-or-on-demand (the default)
    deployed = cli("--sandbox", "deploy", "-c", config, "--yes", "-o", "json")
    assert deployed.code == 0, deployed.err
    first = json.loads(deployed.out)
    assert first["market"] == "spot"
    volume = _data_volume(shared_sandbox, "lifeboat")
    groups = _groups(shared_sandbox, "lifeboat")
    assert len(groups) == 2
    spot, fallback = sorted(groups.values(), key=lambda g: len(g["AutoScalingGroupName"]))
    assert fallback["AutoScalingGroupName"] == spot["AutoScalingGroupName"] + "-od"
    assert fallback["DesiredCapacity"] == 0
    assert fallback["MixedInstancesPolicy"]["InstancesDistribution"]["OnDemandPercentageAboveBaseCapacity"] == 100
    assert fallback["AvailabilityZones"] == spot["AvailabilityZones"]
    assert {"Metric": "GroupInServiceInstances", "Granularity": "1Minute"} in spot["EnabledMetrics"]
    (alarm,) = _alarms(shared_sandbox, "lifeboat")
    assert alarm["ActionsEnabled"] and len(alarm["AlarmActions"]) == 2
    assert (alarm["EvaluationPeriods"], alarm["Period"], alarm["Threshold"]) == (10, 60, 1.0)

    assert cli("--sandbox", "stop", "lifeboat").code == 0
    assert not _alarms(shared_sandbox, "lifeboat")[0]["ActionsEnabled"], "a stopped stack never falls back"
    assert cli("--sandbox", "sandbox", "interrupt", "lifeboat").code == 2, "nothing runs"
    assert cli("--sandbox", "start", "lifeboat").code == 0
    assert _alarms(shared_sandbox, "lifeboat")[0]["ActionsEnabled"], "start enables the fallback again"

    interrupted = cli("--sandbox", "sandbox", "interrupt", "lifeboat", "--no-spot-capacity")
    assert interrupted.code == 0, interrupted.err
    groups = _groups(shared_sandbox, "lifeboat")
    spot, fallback = groups[spot["AutoScalingGroupName"]], groups[fallback["AutoScalingGroupName"]]
    assert spot["DesiredCapacity"] == 0 and spot["Instances"] == []
    assert fallback["DesiredCapacity"] == 1 and len(fallback["Instances"]) == 1
    status = _status(cli, "lifeboat")
    assert status["status"] == "running" and status["market"] == "on-demand"
    assert status["instance_id"] == fallback["Instances"][0]["InstanceId"]
    assert [e["event"] for e in status["events"]][-2:] == ["interrupted", "fallback-on-demand"]
    assert status["events"][-1]["hourly_usd"] is not None, "priced from the plan's on-demand candidates"
    assert _data_volume(shared_sandbox, "lifeboat") == volume

    assert cli("--sandbox", "destroy", "lifeboat", "--yes", "--delete-data").code == 0
    assert tagged_resources(shared_sandbox, "lifeboat") == []
    assert count_resources(shared_sandbox) == before, "groups, policies and the alarm included"
