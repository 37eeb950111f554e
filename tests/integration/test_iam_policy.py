"""docs/iam-policy.json allows every AWS request GeuseMaker makes, resource by resource, with its conditions.

A real deploy and destroy run against the sandbox; every call is recorded with its parameters and
turned into the authorization requests AWS makes (tests/policy_requests.py), which the policy
evaluator (tests/iamsim.py) checks against the documented policy.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.awsfakes import Faults, tagged_resources
from tests.conftest import ROOT
from tests.iamsim import Request, allows
from tests.policy_requests import World, health_requests, requests_for


@pytest.mark.parametrize("data", ["efs", "ebs"])
def test_the_documented_policy_allows_every_request_of_a_deploy_and_destroy(
    cli, tmp_path: Path, shared_sandbox: str, monkeypatch: pytest.MonkeyPatch, data: str
) -> None:  # type: ignore[no-untyped-def]
    faults = Faults().install(monkeypatch)
    config = tmp_path / "stack.yaml"
    config.write_text(
        f"name: policy\nregion: us-east-1\nstorage:\n  data: {data}\nlifecycle:\n  max_runtime_hours: 2\n"
    )
    world = World("us-east-1")
    assert cli("--sandbox", "deploy", "-c", str(config), "--yes").code == 0
    world.observe(shared_sandbox)
    instance = next(
        i for i, tags in world.tags.items() if i.startswith("i-") and tags.get("geusemaker:deployment") == "policy"
    )
    assert cli("--sandbox", "stop", "policy").code == 0
    assert cli("--sandbox", "start", "policy").code == 0
    world.observe(shared_sandbox)  # the instance the start launched
    assert cli("--sandbox", "status", "policy", "--refresh").code == 0
    assert cli("--sandbox", "destroy", "policy", "--yes", "--delete-data").code == 0

    policy = json.loads((ROOT / "docs" / "iam-policy.json").read_text())
    checked = [*requests_for(faults.requests, world), *(("health", r) for r in health_requests(world, instance))]
    actions = {r.action for _, r in checked}
    assert len(actions) > 40
    expected = {"iam:PassRole", "ec2:RunInstances", "ec2:CreateVolume", "ec2:AttachVolume", "ec2:DeleteVolume"} | (
        {"ec2:DeleteNetworkInterface", "ec2:CreateNetworkInterface"} if data == "efs" else set()
    )  # every layout but none has its data volume; efs adds the file system's mount targets
    assert expected <= actions
    replacement = {
        "autoscaling:CreateAutoScalingGroup", "autoscaling:AttachInstances", "autoscaling:SetDesiredCapacity",
        "autoscaling:UpdateAutoScalingGroup", "autoscaling:PutScalingPolicy", "cloudwatch:PutMetricAlarm",
        "cloudwatch:DisableAlarmActions", "autoscaling:DeleteAutoScalingGroup", "cloudwatch:DeleteAlarms",
    }  # fmt: skip
    assert replacement <= actions, replacement - actions
    group_launch = {
        (r.action, r.resource.rsplit(":", 1)[-1].split("/")[0])
        for call, r in checked
        if call in {"auto-scaling.CreateAutoScalingGroup", "auto-scaling.UpdateAutoScalingGroup"}
    }
    assert {("ec2:RunInstances", kind) for kind in ("launch-template", "instance", "volume", "subnet", "image")} | {
        ("ec2:CreateTags", "instance"),
        ("ec2:CreateTags", "volume"),
    } <= group_launch, "a group launches as the caller, with the template's tag specifications"
    alarm_actions = [r.values("cloudwatch:AlarmActions") for _, r in checked if r.action == "cloudwatch:PutMetricAlarm"]
    assert alarm_actions and all(alarm_actions), "the alarm's actions are evaluated (cloudwatch:AlarmActions)"
    deadline = "arn:aws:ssm:us-east-1:123456789012:parameter/geusemaker/policy/deadline"
    assert {(r.action, r.resource) for _, r in checked} >= {("ssm:PutParameter", deadline),
                                                            ("ssm:DeleteParameter", deadline)}  # fmt: skip
    assert "iam:AttachRolePolicy" not in actions, "the instance role has inline policies only"
    assert "iam:CreatePolicy" not in actions, "the sandbox holds the boundary, as an administrator's account would"
    denied = sorted(
        {f"{call}: {r.action} on {r.resource} {dict(r.context)}" for call, r in checked if not allows(policy, r)}
    )
    assert denied == []


def test_the_evaluator_sees_what_action_names_alone_would_miss() -> None:
    """The checks above depend on resources and conditions: the policy must deny the same calls elsewhere."""
    policy = json.loads((ROOT / "docs" / "iam-policy.json").read_text())
    theirs = "arn:aws:ec2:us-east-1:123456789012:subnet/subnet-theirs"
    role = "arn:aws:iam::123456789012:role/geusemaker/geusemaker-policy"
    assert not allows(policy, Request("ec2:RunInstances", theirs))
    assert not allows(policy, Request("iam:CreateRole", role))
    assert not allows(policy, Request("iam:PassRole", role, {"iam:PassedToService": "lambda.amazonaws.com"}))


def test_a_missing_boundary_the_operator_may_not_create_stops_the_deploy_clearly(
    cli, tmp_path: Path, shared_sandbox: str, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    faults = Faults().install(monkeypatch)
    faults.fail[("iam.GetPolicy", 1)] = ("NoSuchEntity", "Policy GeuseMakerInstanceBoundary was not found.")
    faults.fail[("iam.CreatePolicy", 1)] = ("AccessDenied", "not authorized to perform: iam:CreatePolicy")
    config = tmp_path / "stack.yaml"
    config.write_text("name: noboundary\nregion: us-east-1\n")
    result = cli("--sandbox", "deploy", "-c", str(config), "--yes")
    assert result.code == 3, result.text
    assert "policy/geusemaker/GeuseMakerInstanceBoundary does not exist" in result.text
    assert "aws iam create-policy --path /geusemaker/ --policy-name GeuseMakerInstanceBoundary" in result.text
    assert "Traceback" not in result.text
    created = [c for c in faults.calls if c.split(".")[1].startswith(("Create", "Put", "Run"))]
    assert created == ["iam.CreatePolicy"], "it stops before creating anything"
    assert tagged_resources(shared_sandbox, "noboundary") == []
