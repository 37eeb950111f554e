"""The operator policy (docs/iam-policy.json) and the instance role's policies, checked with parliament.

Every finding of the linter is either fixed or listed here with the reason documented in
docs/permissions.md; a new finding, or a justification that no longer applies, fails the test.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from botocore import xform_name
from parliament import analyze_policy_string, enhance_finding

from geusemaker.models.instance_policies import boundary_policy, deployment_policy, ssm_agent_policy
from tests.conftest import ROOT

OPERATOR_POLICY = ROOT / "docs" / "iam-policy.json"
ACCOUNT = "123456789012"

#: (statement Sid, finding) -> why it stays (each reason is spelled out in docs/permissions.md).
_PER_RESOURCE = "IAM authorizes each resource of the call against the whole policy; parliament expects all in one"
JUSTIFIED = {
    ("ReadWithoutResourceLevelPermissions", "RESOURCE_STAR"): "ec2:Describe* is read-only metadata listed by filter",
    ("ChangeOnlyOwnResources", "RESOURCE_STAR"): "limited by the aws:ResourceTag/geusemaker:managed condition",
    ("RunOnOwnInstancesOnly", "RESOURCE_MISMATCH"): _PER_RESOURCE,
    ("CreateNetworkResourcesTagged", "RESOURCE_MISMATCH"): _PER_RESOURCE,
    ("LaunchTaggedInstances", "RESOURCE_MISMATCH"): _PER_RESOURCE,
    ("LaunchSpotRequests", "RESOURCE_MISMATCH"): _PER_RESOURCE,
    ("LaunchTrustedImagesOnly", "RESOURCE_MISMATCH"): _PER_RESOURCE,
    ("CreateOnlyInOwnNetwork", "RESOURCE_MISMATCH"): _PER_RESOURCE,
    ("CreateInNetworksSharedWithGeuseMaker", "RESOURCE_MISMATCH"): _PER_RESOURCE,
    ("MountTargetInterfaces", "RESOURCE_MISMATCH"): _PER_RESOURCE,
}


def _statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    return list(policy["Statement"])


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _findings(policy: dict[str, Any]) -> set[tuple[str, str]]:
    """(Sid, issue) of every parliament finding, linting each statement on its own to know its Sid."""
    found = set()
    for statement in _statements(policy):
        single = {"Version": policy["Version"], "Statement": [statement]}
        for finding in analyze_policy_string(json.dumps(single)).findings:
            enhance_finding(finding)
            found.add((statement.get("Sid", ""), finding.issue))
    return found


@pytest.fixture(scope="module")
def operator() -> dict[str, Any]:
    return json.loads(OPERATOR_POLICY.read_text())  # type: ignore[no-any-return]


def test_the_operator_policy_has_only_justified_findings(operator: dict[str, Any]) -> None:
    whole = analyze_policy_string(OPERATOR_POLICY.read_text()).findings
    assert [f.issue for f in whole if f.issue not in {issue for _, issue in JUSTIFIED}] == []
    assert _findings(operator) == set(JUSTIFIED)


def test_the_operator_policy_cannot_pass_or_attach_roles_beyond_the_products(operator: dict[str, Any]) -> None:
    by_action: dict[str, list[dict[str, Any]]] = {}
    for statement in _statements(operator):
        assert statement["Effect"] == "Allow"
        for action in _as_list(statement["Action"]):
            by_action.setdefault(action, []).append(statement)
    assert not [a for a in by_action if a.startswith("iam:") and "*" in a], "no IAM wildcards"
    assert "iam:AttachRolePolicy" not in by_action and "iam:CreatePolicy" not in by_action
    (passing,) = by_action["iam:PassRole"]
    assert passing["Condition"] == {"StringEqualsIfExists": {"iam:PassedToService": "ec2.amazonaws.com"}}
    for action in ("iam:CreateRole", "iam:PutRolePolicy"):
        (creating,) = by_action[action]
        assert creating["Condition"] == {
            "ArnLike": {"iam:PermissionsBoundary": "arn:aws:iam::*:policy/geusemaker/GeuseMakerInstanceBoundary"}
        }
    assert not {"iam:PutRolePermissionsBoundary", "iam:DeleteRolePermissionsBoundary"} & set(by_action)
    (linked,) = by_action["iam:CreateServiceLinkedRole"]
    assert sorted(linked["Condition"]["StringEquals"]["iam:AWSServiceName"]) == [
        "autoscaling.amazonaws.com", "ec2fleet.amazonaws.com", "elasticfilesystem.amazonaws.com", "spot.amazonaws.com",
    ]  # fmt: skip
    for action, statements in by_action.items():
        if action.startswith("iam:") and action not in {"iam:ListRoles", "iam:ListInstanceProfiles"}:
            resources = [r for s in statements for r in _as_list(s["Resource"])]
            expected = {
                "iam:CreateServiceLinkedRole": "aws-service-role/",
                "iam:GetPolicy": "/geusemaker/GeuseMakerInstanceBoundary",
                "iam:GetPolicyVersion": "/geusemaker/GeuseMakerInstanceBoundary",
            }.get(action, "/geusemaker/geusemaker-")
            assert all(expected in r for r in resources), (action, resources)


def test_only_reads_and_resource_free_creates_are_unconditioned(operator: dict[str, Any]) -> None:
    """Every other EC2/EFS grant needs the product's tag (or a shared network's), a trusted image or a create."""
    resource_free = {
        "ec2:CreateFleet": ["spot-instances-request/*"], "ec2:RunInstances": ["spot-instances-request/*"],
        "ec2:CreateNetworkInterface": ["network-interface/*"], "ec2:DeleteNetworkInterface": ["network-interface/*"],
        "elasticfilesystem:CreateFileSystem": ["*"],
    }  # fmt: skip
    conditions = set()
    for statement in _statements(operator):
        actions = [a for a in _as_list(statement["Action"]) if a.startswith(("ec2:", "elasticfilesystem:"))]
        if not actions:
            continue
        if "Condition" in statement:
            conditions |= {key for keys in statement["Condition"].values() for key in keys}
            continue
        for action in actions:
            if action.split(":")[1].startswith(("Describe", "GetSpotPlacementScores")):
                continue
            resources = _as_list(statement["Resource"])
            assert all(r.endswith(tuple(resource_free[action])) for r in resources), (statement["Sid"], action)
    assert conditions == {
        "aws:RequestTag/geusemaker:managed", "aws:ResourceTag/geusemaker:managed", "aws:ResourceTag/geusemaker:shared",
        "ec2:Owner", "ec2:CreateAction", "elasticfilesystem:CreateAction",
    }  # fmt: skip


@pytest.mark.parametrize("file_system", [None, f"arn:aws:elasticfilesystem:eu-west-1:{ACCOUNT}:file-system/fs-1"])
def test_the_instance_policies_have_no_findings(file_system: str | None) -> None:
    for policy in (
        ssm_agent_policy("eu-west-1", ACCOUNT),
        deployment_policy("shop", "eu-west-1", ACCOUNT, file_system),
        deployment_policy("shop", "eu-west-1", ACCOUNT, file_system, "5f0c2b1e9d8a"),
        boundary_policy(),
    ):
        assert _findings(policy) == set()


def test_the_instance_reads_and_decrypts_only_its_own_parameters() -> None:
    statements = _statements(ssm_agent_policy("eu-west-1", ACCOUNT)) + _statements(
        deployment_policy("shop", "eu-west-1", ACCOUNT, None)
    )
    own = f"arn:aws:ssm:eu-west-1:{ACCOUNT}:parameter/geusemaker/shop"
    for statement in statements:
        actions = _as_list(statement["Action"])
        if any(a.startswith("ssm:GetParameter") for a in actions):
            assert _as_list(statement["Resource"]) == [own, f"{own}/*"]
        if "kms:Decrypt" in actions:
            assert statement["Condition"] == {
                "StringEquals": {"kms:ViaService": "ssm.eu-west-1.amazonaws.com"},
                "StringLike": {"kms:EncryptionContext:PARAMETER_ARN": f"{own}/*"},
            }
    assert not [s for s in statements if "*" in "".join(_as_list(s["Action"]))], "no action wildcards"


#: actions AWS checks besides a call GeuseMaker makes (tag-on-create, launch and mount side effects, sessions)
_IMPLIED = {
    "ec2:CreateTags": "tagging inside the create calls (ec2:CreateAction)",
    "ec2:CreateNetworkInterface": "EFS CreateMountTarget creates the mount target's interface",
    "elasticfilesystem:TagResource": "CreateFileSystem with tags",
    "autoscaling:CreateOrUpdateTags": "CreateAutoScalingGroup with tags",
    "cloudwatch:TagResource": "PutMetricAlarm with tags",
    "iam:PassRole": "launches and AddRoleToInstanceProfile",
    "iam:CreateServiceLinkedRole": "the first spot launch, fleet, file system or group of an account",
    "iam:TagRole": "CreateRole with tags",
    "iam:TagInstanceProfile": "CreateInstanceProfile with tags",
    "ssm:AddTagsToResource": "PutParameter with tags",
    "ssm:ResumeSession": "the session manager plugin of `connect`",
    "ssm:TerminateSession": "the session manager plugin of `connect`",
    "ec2:RunInstances": "CreateFleet launches (type instant) with the caller's ec2:RunInstances",
    "ec2:DeleteNetworkInterface": "EFS DeleteMountTarget deletes the mount target's interface",
    "kms:Decrypt": "EC2 using a customer managed EBS key",
    "kms:CreateGrant": "EC2 attaching a volume encrypted with a customer managed key",
    "kms:DescribeKey": "EC2 using a customer managed EBS key",
    "kms:GenerateDataKeyWithoutPlaintext": "EC2 creating a volume with a customer managed key",
    "kms:ReEncryptFrom": "EC2 re-encrypting a volume or snapshot",
    "kms:ReEncryptTo": "EC2 re-encrypting a volume or snapshot",
}


def _operator_calls() -> str:
    """The source that runs as the operator: everything but the sandbox and the instance's own scripts."""
    package = ROOT / "geusemaker"
    skipped = (package / "sandbox", package / "userdata")
    return "\n".join(
        path.read_text() for path in package.rglob("*.py") if not any(path.is_relative_to(s) for s in skipped)
    )


def test_the_operator_policy_grants_only_actions_geusemaker_calls(operator: dict[str, Any]) -> None:
    """A granted action is a boto3 call (`.snake_name`, a paginator or waiter name) or an `aws` CLI command."""
    source = _operator_calls()
    unused = []
    for statement in _statements(operator):
        for action in _as_list(statement["Action"]):
            name = action.split(":")[1]
            if "*" in name or action in _IMPLIED:
                continue
            snake = xform_name(name)
            forms = (rf"\.{snake}\b", f'"{snake}"', f'"{snake.replace("_", "-")}"')
            if not any(re.search(form, source) for form in forms):
                unused.append(f"{statement['Sid']}: {action}")
    assert unused == []
