"""`deploy --plan FILE`: what a saved dry-run lists is exactly what is created; a stale or foreign plan is refused."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.awsfakes import Faults, boto_client, count_resources, tagged_resources


def _save_plan(cli, tmp_path: Path, name: str, extra: str = "") -> tuple[Path, dict[str, Any]]:  # type: ignore[no-untyped-def]
    config = tmp_path / f"{name}.yaml"
    config.write_text(f"name: {name}\nregion: us-east-1\ncompute:\n  gpu: t4\n{extra}")
    dry = cli("--sandbox", "deploy", "-c", str(config), "--dry-run", "-o", "json")
    assert dry.code == 0, dry.err
    path = tmp_path / f"{name}.plan.json"
    path.write_text(dry.out)
    return path, json.loads(dry.out)


def _tagged(items: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [i for i in items if {"Key": "geusemaker:deployment", "Value": name} in i.get("Tags", [])]


def test_a_saved_plan_creates_exactly_the_resources_and_parameters_it_lists(
    cli, tmp_path: Path, shared_sandbox: str
) -> None:
    path, plan = _save_plan(cli, tmp_path, "saved", "storage:\n  data: efs\n")
    specs = {step["id"]: step["spec"] for step in plan["steps"]}
    deployed = cli("--sandbox", "deploy", "--plan", str(path), "--yes", "-o", "json")
    assert deployed.code == 0, deployed.err
    ec2: Any = boto_client(shared_sandbox, "ec2")
    [vpc] = _tagged(ec2.describe_vpcs()["Vpcs"], "saved")
    assert vpc["CidrBlock"] == specs["vpc"]["cidr"]
    [subnet] = _tagged(ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"], "saved")
    assert (subnet["CidrBlock"], subnet["AvailabilityZone"]) == (specs["subnet"]["cidr"], specs["subnet"]["zone"])
    [group] = _tagged(ec2.describe_security_groups()["SecurityGroups"], "saved")
    assert (group["GroupName"], group["Description"]) == (
        specs["security-group"]["group_name"],
        specs["security-group"]["description"],
    )
    [template] = _tagged(ec2.describe_launch_templates()["LaunchTemplates"], "saved")
    assert template["LaunchTemplateName"] == specs["launch-template"]["template_name"]
    data = ec2.describe_launch_template_versions(LaunchTemplateId=template["LaunchTemplateId"])[
        "LaunchTemplateVersions"
    ][0]["LaunchTemplateData"]
    assert data["ImageId"] == specs["launch-template"]["image_id"] == plan["ami"]["id"]
    assert data["BlockDeviceMappings"][0]["Ebs"]["VolumeSize"] == specs["launch-template"]["root_gb"]
    assert data["MetadataOptions"]["HttpPutResponseHopLimit"] == specs["launch-template"]["metadata_hop_limit"]
    instance = json.loads(deployed.out)
    first = specs["instance"]["launches"][0]
    assert instance["instance_type"] in first["instance_types"] and instance["availability_zone"] == first["zone"]
    iam: Any = boto_client(shared_sandbox, "iam")
    role = iam.get_role(RoleName=specs["iam-role"]["role_name"])["Role"]
    assert role["Path"] == specs["iam-role"]["path"]
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == specs["iam-role"]["permissions_boundary"]
    efs: Any = boto_client(shared_sandbox, "efs")
    [system] = _tagged(efs.describe_file_systems()["FileSystems"], "saved")
    assert (system["PerformanceMode"], system["ThroughputMode"], system["Encrypted"]) == (
        specs["file-system"]["performance_mode"],
        specs["file-system"]["throughput_mode"],
        True,
    )
    for policy in ("ssm-agent-policy", "deployment-policy"):
        stored = iam.get_role_policy(RoleName=role["RoleName"], PolicyName=specs[policy]["policy_name"])
        document = stored["PolicyDocument"]
        document = json.loads(document) if isinstance(document, str) else document
        stack_id = {t["Key"]: t["Value"] for t in system["Tags"]}["geusemaker:stack-id"]
        planned = json.dumps(specs[policy]["document"]).replace("${file-system.arn}", system["FileSystemArn"])
        planned = planned.replace("${stack-id}", stack_id)
        assert document == json.loads(planned), policy
    profile = iam.get_instance_profile(InstanceProfileName=specs["instance-profile"]["profile_name"])
    assert [r["RoleName"] for r in profile["InstanceProfile"]["Roles"]] == [role["RoleName"]]
    ssm: Any = boto_client(shared_sandbox, "ssm")
    stored_names = {
        p["Name"].rsplit("/", 1)[1] for p in ssm.get_parameters_by_path(Path="/geusemaker/saved/")["Parameters"]
    }
    assert stored_names == set(specs["secrets"]["names"])
    kinds = {line.split()[0] for line in tagged_resources(shared_sandbox, "saved")}
    assert kinds == {
        "vpc", "subnet", "internet-gateway", "route-table", "security-group", "iam-role", "instance-profile",
        "ssm-parameter", "file-system", "launch-template", "fleet", "instance", "autoscaling-group", "alarm",
        "data-volume",
    }  # fmt: skip
    assert plan["storage"]["layout"] == "volume+efs", "efs: the data volume, and EFS for the models"
    [volume] = _tagged(ec2.describe_volumes(Filters=[{"Name": "tag:geusemaker:kind", "Values": ["data-volume"]}])[
        "Volumes"
    ], "saved")  # fmt: skip
    assert (volume["Size"], volume["VolumeType"], volume["Encrypted"]) == (specs["data-volume"]["size_gb"], "gp3", True)
    autoscaling: Any = boto_client(shared_sandbox, "autoscaling")
    groups = [g for g in autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"]
              if g["AutoScalingGroupName"].startswith("gm-saved-")]  # fmt: skip
    planned_types = {t for shape in specs["autoscaling-group"]["shapes"] for t in shape["instance_types"]}
    for group in groups:
        overrides = group["MixedInstancesPolicy"]["LaunchTemplate"]["Overrides"]
        assert {o["InstanceType"] for o in overrides} <= planned_types, "the plan's instance types"
    assert cli("--sandbox", "destroy", "saved", "--yes", "--delete-data").code == 0


def test_a_stale_foreign_or_changed_plan_is_refused_and_nothing_is_created(
    cli, tmp_path: Path, shared_sandbox: str
) -> None:
    path, plan = _save_plan(cli, tmp_path, "stale")
    before = count_resources(shared_sandbox)
    cases = {
        "h old": {**plan, "planned_at": time.time() - 3 * 3600},
        "account": {**plan, "account": "210987654321"},
        "format": {**plan, "format": 99},
    }
    for expected, changed in cases.items():
        path.write_text(json.dumps(changed))
        refused = cli("--sandbox", "deploy", "--plan", str(path), "--yes")
        assert refused.code == 2 and expected in refused.err and "Traceback" not in refused.err, refused.err
    path.write_text(json.dumps(plan))
    other = tmp_path / "other.yaml"
    other.write_text("name: stale\nregion: us-east-1\ncompute:\n  gpu: t4\nstorage:\n  root_gb: 90\n")
    refused = cli("--sandbox", "deploy", "--plan", str(path), "-c", str(other), "--yes")
    assert refused.code == 2 and "configuration changed" in refused.err and "storage" in refused.err, refused.err
    refused = cli("--sandbox", "--region", "us-west-2", "deploy", "--plan", str(path), "--yes")
    assert refused.code == 2 and "region" in refused.err, refused.err
    path.write_text("{not json")
    refused = cli("--sandbox", "deploy", "--plan", str(path), "--yes")
    assert refused.code == 2 and "not a saved plan" in refused.err, refused.err
    assert count_resources(shared_sandbox) == before


def test_an_ebs_stack_keeps_its_data_volume_on_destroy_until_asked(cli, tmp_path: Path, shared_sandbox: str) -> None:
    path, plan = _save_plan(cli, tmp_path, "disk", "storage:\n  data: ebs\n  ebs_gb: 40\n")
    volume_spec = next(step["spec"] for step in plan["steps"] if step["id"] == "data-volume")
    assert volume_spec["size_gb"] == 40 and volume_spec["encrypted"] and volume_spec["volume_type"] == "gp3"
    deployed = cli("--sandbox", "deploy", "--plan", str(path), "--yes", "-o", "json")
    assert deployed.code == 0, deployed.err
    ec2: Any = boto_client(shared_sandbox, "ec2")
    volume = next(
        v for v in _tagged(ec2.describe_volumes()["Volumes"], "disk")
        if {"Key": "geusemaker:kind", "Value": "data-volume"} in v["Tags"]
    )  # fmt: skip
    zone = json.loads(deployed.out)["availability_zone"]
    assert (volume["Size"], volume["VolumeType"], volume["Encrypted"], volume["AvailabilityZone"]) == (
        40, "gp3", True, zone,
    )  # fmt: skip
    assert any(tag["Key"] == "geusemaker:stack-id" for tag in volume["Tags"])
    assert volume["Attachments"][0]["InstanceId"] == json.loads(deployed.out)["instance_id"]
    destroyed = cli("--sandbox", "destroy", "disk", "--yes")
    assert destroyed.code == 0 and "data is kept" in destroyed.err, destroyed.err
    kept = tagged_resources(shared_sandbox, "disk")
    assert kept[0] == f"data-volume {volume['VolumeId']}" and len(kept) == 5, "the volume and its 4 secrets"
    assert all(item.startswith("ssm-parameter /geusemaker/disk/") for item in kept[1:])
    status = json.loads(cli("--sandbox", "status", "disk", "-o", "json").out)
    assert status[0]["status"] == "data-kept"
    assert cli("--sandbox", "destroy", "disk", "--yes", "--delete-data").code == 0
    assert tagged_resources(shared_sandbox, "disk") == []
    assert "disk" not in [d["name"] for d in json.loads(cli("--sandbox", "status", "-o", "json").out)]


def test_a_failed_deploy_rolls_back_the_data_volume_it_created(
    cli, tmp_path: Path, shared_sandbox: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    faults = Faults().install(monkeypatch)
    faults.fail[("ec2.AttachVolume", 1)] = ("UnauthorizedOperation", "injected fault in AttachVolume")
    config = tmp_path / "rolled.yaml"
    config.write_text("name: rolled\nregion: us-east-1\ncompute:\n  gpu: t4\nstorage:\n  data: ebs\n")
    before = count_resources(shared_sandbox)
    failed = cli("--sandbox", "deploy", "-c", str(config), "--yes")
    assert failed.code != 0 and "injected fault in AttachVolume" in failed.err, failed.err
    assert "ec2.CreateVolume" in faults.calls and "ec2.DeleteVolume" in faults.calls
    assert tagged_resources(shared_sandbox, "rolled") == []
    assert count_resources(shared_sandbox) == before
