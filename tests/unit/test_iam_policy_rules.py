"""What the operator policy and the instance boundary allow and deny, request by request (tests/iamsim.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from geusemaker.models.instance_policies import boundary_arn, boundary_policy, deployment_policy, ssm_agent_policy
from tests.conftest import ROOT
from tests.iamsim import Request, allows

ACCOUNT = "123456789012"
EC2 = f"arn:aws:ec2:eu-west-1:{ACCOUNT}"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/geusemaker/geusemaker-shop"
BOUNDARY = boundary_arn(ACCOUNT)
OURS = {"aws:ResourceTag/geusemaker:managed": "true"}
NEW = {"aws:RequestTag/geusemaker:managed": "true"}


@pytest.fixture(scope="module")
def operator() -> dict[str, Any]:
    return json.loads((ROOT / "docs" / "iam-policy.json").read_text())  # type: ignore[no-any-return]


def _all(policy: dict[str, Any], *requests: Request) -> bool:
    return all(allows(policy, r) for r in requests)


def test_roles_are_created_and_changed_only_with_the_instance_boundary(operator: dict[str, Any]) -> None:
    for action in ("iam:CreateRole", "iam:PutRolePolicy"):
        assert allows(operator, Request(action, ROLE, {"iam:PermissionsBoundary": BOUNDARY}))
        assert not allows(operator, Request(action, ROLE))
        other = f"arn:aws:iam::{ACCOUNT}:policy/AdministratorAccess"
        assert not allows(operator, Request(action, ROLE, {"iam:PermissionsBoundary": other}))
        assert not allows(
            operator, Request(action, f"arn:aws:iam::{ACCOUNT}:role/admin", {"iam:PermissionsBoundary": BOUNDARY})
        )
    for action in (
        "iam:PutRolePermissionsBoundary",
        "iam:DeleteRolePermissionsBoundary",
        "iam:UpdateAssumeRolePolicy",
        "iam:CreatePolicy",
        "iam:CreatePolicyVersion",
        "iam:SetDefaultPolicyVersion",
        "iam:AttachRolePolicy",
    ):
        assert not allows(operator, Request(action, ROLE)), action
        assert not allows(operator, Request(action, BOUNDARY)), action
    assert allows(operator, Request("iam:GetPolicy", BOUNDARY))
    assert allows(operator, Request("iam:GetPolicyVersion", BOUNDARY))


def test_the_boundary_holds_every_instance_policy_and_nothing_else() -> None:
    boundary = boundary_policy()
    fs = f"arn:aws:elasticfilesystem:eu-west-1:{ACCOUNT}:file-system/fs-1"
    own = f"arn:aws:ssm:eu-west-1:{ACCOUNT}:parameter/geusemaker/shop"
    for policy in (ssm_agent_policy("eu-west-1", ACCOUNT), deployment_policy("shop", "eu-west-1", ACCOUNT, fs)):
        for statement in policy["Statement"]:
            actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
            resources = [statement["Resource"]] if isinstance(statement["Resource"], str) else statement["Resource"]
            context = {"kms:ViaService": "ssm.eu-west-1.amazonaws.com",
                       "kms:EncryptionContext:PARAMETER_ARN": f"{own}/N8N_ENCRYPTION_KEY"}  # fmt: skip
            for action in actions:
                for resource in resources:
                    concrete = resource.replace("*", "x")
                    assert allows(policy, Request(action, concrete, context)), (action, concrete)
                    assert allows(boundary, Request(action, concrete, context)), (action, concrete)
    # whatever inline policy a role is given, and whoever assumes it, the boundary caps it:
    for request in (
        Request("ssm:GetParameter", f"arn:aws:ssm:eu-west-1:{ACCOUNT}:parameter/prod/db-password"),
        Request(
            "kms:Decrypt", f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/k", {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}
        ),
        Request("s3:GetObject", "arn:aws:s3:::payroll/2026.csv"),
        Request("iam:CreateUser", f"arn:aws:iam::{ACCOUNT}:user/backdoor"),
        Request("ec2:RunInstances", f"{EC2}:instance/*", NEW),
        Request("sts:AssumeRole", f"arn:aws:iam::{ACCOUNT}:role/admin"),
    ):
        assert not allows(boundary, request), request


def test_the_shipped_boundary_document_is_the_products(operator: dict[str, Any]) -> None:
    assert json.loads((ROOT / "docs" / "instance-boundary-policy.json").read_text()) == boundary_policy()


def test_mount_target_interfaces_can_be_deleted_however_efs_asks(operator: dict[str, Any]) -> None:
    eni = f"{EC2}:network-interface/eni-0efs"  # created by EFS, without our tags
    assert allows(operator, Request("ec2:DeleteNetworkInterface", eni))
    assert allows(operator, Request("ec2:DeleteNetworkInterface", eni, {"aws:ViaAWSService": "true"}))
    create = [
        Request("ec2:CreateNetworkInterface", eni),
        Request("ec2:CreateNetworkInterface", f"{EC2}:subnet/subnet-1", OURS),
        Request("ec2:CreateNetworkInterface", f"{EC2}:security-group/sg-1", OURS),
    ]
    assert _all(operator, *create)
    assert not allows(operator, Request("ec2:CreateNetworkInterface", f"{EC2}:subnet/subnet-theirs"))


def test_sessions_can_be_ended_only_by_whoever_started_them(operator: dict[str, Any]) -> None:
    me = {"aws:userid": "AIDAEXAMPLE"}
    for action in ("ssm:TerminateSession", "ssm:ResumeSession"):
        assert allows(operator, Request(action, f"arn:aws:ssm:eu-west-1:{ACCOUNT}:session/AIDAEXAMPLE-0a1b2c", me))
        assert not allows(operator, Request(action, f"arn:aws:ssm:eu-west-1:{ACCOUNT}:session/AIDAOTHER-0a1b2c", me))


def _launch(subnet: dict[str, str], image_owner: str, tags: dict[str, str]) -> list[Request]:
    return [
        Request("ec2:RunInstances", f"{EC2}:instance/*", tags),
        Request("ec2:RunInstances", f"{EC2}:volume/*", tags),
        Request("ec2:RunInstances", f"{EC2}:network-interface/*", tags),
        Request("ec2:RunInstances", f"{EC2}:subnet/subnet-1", subnet),
        Request("ec2:RunInstances", f"{EC2}:security-group/sg-1", OURS),
        Request("ec2:RunInstances", f"{EC2}:launch-template/lt-1", OURS),
        Request("ec2:RunInstances", "arn:aws:ec2:eu-west-1::image/ami-1", {"ec2:Owner": image_owner}),
    ]


def test_launches_only_tagged_instances_of_trusted_images_into_the_products_network(operator: dict[str, Any]) -> None:
    for owner in ("amazon", "898082745236", "099720109477"):
        assert _all(operator, *_launch(OURS, owner, NEW)), owner
    assert _all(operator, *_launch({"aws:ResourceTag/geusemaker:shared": "true"}, "amazon", NEW)), "shared network"
    assert not _all(operator, *_launch({}, "amazon", NEW)), "another team's subnet"
    assert not _all(operator, *_launch(OURS, "111122223333", NEW)), "a private image of any account"
    assert not _all(operator, *_launch(OURS, "amazon", {})), "an instance without the product's tag"
    assert not allows(operator, Request("ec2:RunInstances", f"{EC2}:security-group/sg-theirs"))
    assert not allows(operator, Request("ec2:RunInstances", f"{EC2}:launch-template/lt-theirs"))


def test_network_resources_are_created_tagged_and_only_in_the_products_vpcs(operator: dict[str, Any]) -> None:
    assert allows(operator, Request("ec2:CreateVpc", f"{EC2}:vpc/*", NEW))
    assert not allows(operator, Request("ec2:CreateVpc", f"{EC2}:vpc/*"))
    for action, kind in (("ec2:CreateSubnet", "subnet"), ("ec2:CreateSecurityGroup", "security-group"),
                         ("ec2:CreateRouteTable", "route-table")):  # fmt: skip
        assert _all(operator, Request(action, f"{EC2}:{kind}/*", NEW), Request(action, f"{EC2}:vpc/vpc-1", OURS))
        assert not allows(operator, Request(action, f"{EC2}:vpc/vpc-theirs", NEW)), action
        assert not allows(operator, Request(action, f"{EC2}:{kind}/*")), action


def test_customer_managed_ebs_keys_are_usable_only_through_ec2(operator: dict[str, Any]) -> None:
    key = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/1234"
    via = {"kms:ViaService": "ec2.eu-west-1.amazonaws.com"}
    for action in ("kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom",
                   "kms:ReEncryptTo"):  # fmt: skip
        assert allows(operator, Request(action, key, via))
        assert not allows(operator, Request(action, key))
    assert allows(operator, Request("kms:CreateGrant", key, {**via, "kms:GrantIsForAWSResource": "true"}))
    assert not allows(operator, Request("kms:CreateGrant", key, via))


def test_roles_are_passed_to_ec2_and_to_instance_profiles_only(operator: dict[str, Any]) -> None:
    assert allows(operator, Request("iam:PassRole", ROLE))  # AddRoleToInstanceProfile: no iam:PassedToService
    assert allows(operator, Request("iam:PassRole", ROLE, {"iam:PassedToService": "ec2.amazonaws.com"}))
    assert not allows(operator, Request("iam:PassRole", ROLE, {"iam:PassedToService": "lambda.amazonaws.com"}))
    assert not allows(operator, Request("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/admin"))


def test_the_instance_attaches_and_detaches_only_volumes_and_instances_of_its_own_stack() -> None:
    stack = {"aws:ResourceTag/geusemaker:stack-id": "5f0c2b1e9d8a"}
    other = {"aws:ResourceTag/geusemaker:stack-id": "0another0"}
    policy = deployment_policy("shop", "eu-west-1", ACCOUNT, None, "5f0c2b1e9d8a")
    boundary = boundary_policy()
    for action in ("ec2:AttachVolume", "ec2:DetachVolume"):
        for resource in (f"{EC2}:volume/vol-1", f"{EC2}:instance/i-1"):
            assert allows(policy, Request(action, resource, stack)) and allows(
                boundary, Request(action, resource, stack)
            )
            assert not allows(policy, Request(action, resource, other))
            assert not allows(policy, Request(action, resource)), "an untagged volume or instance is not ours"
            assert not allows(boundary, Request(action, resource))
    assert allows(policy, Request("ec2:DescribeVolumes")) and allows(boundary, Request("ec2:DescribeVolumes"))
    for action in ("ec2:DeleteVolume", "ec2:CreateSnapshot", "ec2:ModifyVolume"):
        assert not allows(boundary, Request(action, f"{EC2}:volume/vol-1", stack))
    without = deployment_policy("shop", "eu-west-1", ACCOUNT, None)
    assert not allows(without, Request("ec2:AttachVolume", f"{EC2}:volume/vol-1", stack))


def test_the_instance_scales_only_its_own_stacks_group_to_zero() -> None:
    group = f"arn:aws:autoscaling:eu-west-1:{ACCOUNT}:autoScalingGroup:0a1b:autoScalingGroupName/gm-shop-5f0c2b1e"
    other_group = group.replace("gm-shop-", "gm-other-")
    stack = {"aws:ResourceTag/geusemaker:stack-id": "5f0c2b1e9d8a"}
    policy = deployment_policy("shop", "eu-west-1", ACCOUNT, None, "5f0c2b1e9d8a")
    boundary = boundary_policy()
    scale = "autoscaling:TerminateInstanceInAutoScalingGroup"
    assert allows(policy, Request(scale, group, stack)) and allows(boundary, Request(scale, group, stack))
    assert not allows(policy, Request(scale, group, {"aws:ResourceTag/geusemaker:stack-id": "0another0"}))
    assert not allows(policy, Request(scale, other_group, stack)), "another stack's group"
    assert not allows(boundary, Request(scale, group)), "an untagged group is nobody's"
    find = Request("autoscaling:DescribeAutoScalingInstances")
    assert allows(policy, find) and allows(boundary, find)
    for action in (
        "autoscaling:SetDesiredCapacity",
        "autoscaling:UpdateAutoScalingGroup",
        "autoscaling:DeleteAutoScalingGroup",
    ):
        assert not allows(boundary, Request(action, group, stack)), action


def test_groups_and_alarms_are_created_tagged_and_changed_only_when_ours(operator: dict[str, Any]) -> None:
    group = f"arn:aws:autoscaling:eu-west-1:{ACCOUNT}:autoScalingGroup:0a1b:autoScalingGroupName/gm-shop-5f0c2b1e"
    alarm = f"arn:aws:cloudwatch:eu-west-1:{ACCOUNT}:alarm:gm-shop-5f0c2b1e-no-spot"
    for action, resource in (("autoscaling:CreateAutoScalingGroup", group), ("cloudwatch:PutMetricAlarm", alarm)):
        assert allows(operator, Request(action, resource, NEW))
        assert not allows(operator, Request(action, resource)), "untagged"
    for action, resource in (
        ("autoscaling:DeleteAutoScalingGroup", group), ("autoscaling:AttachInstances", group),
        ("autoscaling:SetDesiredCapacity", group), ("cloudwatch:DeleteAlarms", alarm),
        ("cloudwatch:DisableAlarmActions", alarm),
    ):  # fmt: skip
        assert allows(operator, Request(action, resource, OURS)), action
        assert not allows(operator, Request(action, resource)), f"{action} on what is not ours"
        assert not allows(operator, Request(action, resource.replace(":gm-", ":prod-").replace("/gm-", "/prod-"), OURS))


def test_alarms_act_only_on_the_stacks_own_scaling_policies(operator: dict[str, Any]) -> None:
    alarm = f"arn:aws:cloudwatch:eu-west-1:{ACCOUNT}:alarm:gm-shop-5f0c2b1e-no-spot"
    ours = (
        f"arn:aws:autoscaling:eu-west-1:{ACCOUNT}:scalingPolicy:0a1b:autoScalingGroupName/gm-shop-5f0c2b1e"
        ":policyName/gm-shop-5f0c2b1e-replace"
    )
    theirs = ours.replace("/gm-shop-5f0c2b1e:", "/prod-web:")
    put = "cloudwatch:PutMetricAlarm"
    assert allows(operator, Request(put, alarm, {**NEW, "cloudwatch:AlarmActions": [ours]}))
    assert not allows(operator, Request(put, alarm, {**NEW, "cloudwatch:AlarmActions": [theirs]})), "their policy"
    assert not allows(operator, Request(put, alarm, {**NEW, "cloudwatch:AlarmActions": [ours, theirs]}))
    topic = f"arn:aws:sns:eu-west-1:{ACCOUNT}:pager"
    assert not allows(operator, Request(put, alarm, {**NEW, "cloudwatch:AlarmActions": [topic]})), "any other action"


def test_groups_and_alarms_are_tagged_only_with_the_products_tag_and_only_gm_names(operator: dict[str, Any]) -> None:
    """Tag-on-create needs these tagging actions; AWS offers no key telling creation from an existing resource."""
    group = f"arn:aws:autoscaling:eu-west-1:{ACCOUNT}:autoScalingGroup:0a1b:autoScalingGroupName/gm-shop-5f0c2b1e"
    alarm = f"arn:aws:cloudwatch:eu-west-1:{ACCOUNT}:alarm:gm-shop-5f0c2b1e-no-spot"
    for action, resource in (("autoscaling:CreateOrUpdateTags", group), ("cloudwatch:TagResource", alarm)):
        assert allows(operator, Request(action, resource, NEW)), "tagging while creating"
        assert not allows(operator, Request(action, resource, {"aws:RequestTag/team": "web"})), "other tags alone"
        assert not allows(operator, Request(action, resource, OURS)), "retagging without the product's tag"
        foreign = resource.replace(":gm-", ":prod-").replace("/gm-", "/prod-")
        assert not allows(operator, Request(action, foreign, NEW)), f"{action}: adopting a non-gm-* resource"
    # the tagging actions grant nothing else: their statements name only the tagging action
    for sid in ("TagGroupsWhileCreating", "TagAlarmsWhileCreating"):
        (statement,) = [s for s in operator["Statement"] if s["Sid"] == sid]
        assert isinstance(statement["Action"], str) and statement["Action"].endswith(("Tags", "TagResource"))


def test_the_instance_attaches_volumes_encrypted_with_a_customer_managed_key_only_through_ec2() -> None:
    key = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/1234"
    via = {"kms:ViaService": "ec2.eu-west-1.amazonaws.com"}
    grant = {**via, "kms:GrantIsForAWSResource": "true"}
    policy = deployment_policy("shop", "eu-west-1", ACCOUNT, None, "5f0c2b1e9d8a")
    boundary = boundary_policy()
    for allowed in (Request("kms:CreateGrant", key, grant), Request("kms:Decrypt", key, via),
                    Request("kms:DescribeKey", key, via)):  # fmt: skip
        assert allows(policy, allowed) and allows(boundary, allowed), allowed
    for denied in (
        Request("kms:CreateGrant", key, via),  # a grant for a principal, not for an AWS resource
        Request("kms:CreateGrant", key, {**grant, "kms:ViaService": "s3.eu-west-1.amazonaws.com"}),
        Request("kms:CreateGrant", key, {"kms:GrantIsForAWSResource": "true"}),  # asked directly
        Request("kms:Decrypt", key),
        Request("kms:Decrypt", key, {"kms:ViaService": "ec2.us-east-1.amazonaws.com"}),  # another region
        Request("kms:GenerateDataKey", key, via),
    ):
        assert not allows(policy, denied), denied
    assert not allows(boundary, Request("kms:CreateGrant", key, via))
    assert not allows(boundary, Request("kms:Decrypt", key, {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}))
    without_volume = deployment_policy("shop", "eu-west-1", ACCOUNT, None)
    assert not allows(without_volume, Request("kms:CreateGrant", key, grant))
