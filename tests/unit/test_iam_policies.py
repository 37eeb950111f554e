"""The operator policy (docs/iam-policy.json) and the instance role's policies, checked with parliament.

Every finding of the linter is either fixed or listed here with the reason documented in
docs/permissions.md; a new finding, or a justification that no longer applies, fails the test.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from parliament import analyze_policy_string, enhance_finding

from geusemaker.models.instance_policies import deployment_policy, ssm_agent_policy
from tests.conftest import ROOT

OPERATOR_POLICY = ROOT / "docs" / "iam-policy.json"
ACCOUNT = "123456789012"

#: (statement Sid, finding) -> why it stays (each reason is spelled out in docs/permissions.md).
JUSTIFIED = {
    ("ReadWithoutResourceLevelPermissions", "RESOURCE_STAR"): "ec2:Describe* is read-only metadata listed by filter",
    ("CreateNetworkAndCompute", "RESOURCE_STAR"): "the resources do not exist yet; they are tagged at creation",
    ("ChangeOnlyOwnResources", "RESOURCE_STAR"): "limited by the aws:ResourceTag/geusemaker:managed condition",
    ("RunOnOwnInstancesOnly", "RESOURCE_MISMATCH"): "the document is granted by RunDocuments; IAM checks each "
    "resource of SendCommand separately, parliament each statement",
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
    assert passing["Condition"] == {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}
    (linked,) = by_action["iam:CreateServiceLinkedRole"]
    assert sorted(linked["Condition"]["StringEquals"]["iam:AWSServiceName"]) == [
        "ec2fleet.amazonaws.com", "elasticfilesystem.amazonaws.com", "spot.amazonaws.com",
    ]  # fmt: skip
    for action, statements in by_action.items():
        if action.startswith("iam:") and action not in {"iam:ListRoles", "iam:ListInstanceProfiles"}:
            resources = [r for s in statements for r in _as_list(s["Resource"])]
            expected = "aws-service-role/" if action == "iam:CreateServiceLinkedRole" else "/geusemaker/geusemaker-"
            assert all(expected in r for r in resources), (action, resources)


def test_only_create_and_read_calls_are_allowed_on_untagged_ec2_and_efs_resources(operator: dict[str, Any]) -> None:
    unconditioned = ("Create", "RunInstances", "Describe", "GetSpotPlacementScores")
    for statement in _statements(operator):
        actions = [a for a in _as_list(statement["Action"]) if a.startswith(("ec2:", "elasticfilesystem:"))]
        if not actions:
            continue
        if "Condition" not in statement:
            assert all(a.split(":")[1].startswith(unconditioned) for a in actions), statement["Sid"]
            assert "ec2:CreateRoute" not in actions, "changes an existing route table"
        elif any(not a.split(":")[1].startswith(("CreateTags", "TagResource")) for a in actions):
            tag = statement["Condition"]["StringEquals"]["aws:ResourceTag/geusemaker:managed"]
            assert tag == "true", statement["Sid"]
        else:
            assert {k.split(":")[1] for k in statement["Condition"]["StringEquals"]} == {"CreateAction"}
    changes = [a for s in _statements(operator) if "Condition" in s for a in _as_list(s["Action"])]
    assert {"ec2:TerminateInstances", "ec2:AuthorizeSecurityGroupIngress", "ec2:CreateLaunchTemplateVersion",
            "elasticfilesystem:DeleteFileSystem", "ec2:CreateTags"} <= set(changes)  # fmt: skip


@pytest.mark.parametrize("file_system", [None, f"arn:aws:elasticfilesystem:eu-west-1:{ACCOUNT}:file-system/fs-1"])
def test_the_instance_policies_have_no_findings(file_system: str | None) -> None:
    for policy in (
        ssm_agent_policy("eu-west-1", ACCOUNT),
        deployment_policy("shop", "eu-west-1", ACCOUNT, file_system),
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
