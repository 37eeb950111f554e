"""docs/iam-policy.json allows every AWS call GeuseMaker makes (recorded from a real deploy and destroy)."""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path

import pytest

from tests.awsfakes import Faults
from tests.conftest import ROOT

IAM_PREFIX = {
    "ec2": "ec2", "iam": "iam", "ssm": "ssm", "efs": "elasticfilesystem", "sts": "sts", "pricing": "pricing",
    "service-quotas": "servicequotas", "resource-groups-tagging-api": "tag",
}  # fmt: skip
HEALTH_CALLS = ["ssm.SendCommand", "ssm.GetCommandInvocation", "ssm.DescribeInstanceInformation", "ssm.StartSession"]
#: Permissions AWS checks besides the call's own (tag on create, the fleet's launch, EFS's network interfaces).
IMPLIED = {
    "ec2:CreateFleet": ["ec2:RunInstances", "ec2:CreateTags", "iam:PassRole"],
    "ec2:CreateVpc": ["ec2:CreateTags"],
    "ec2:CreateLaunchTemplate": ["ec2:CreateTags"],
    "elasticfilesystem:CreateFileSystem": ["elasticfilesystem:TagResource"],
    "elasticfilesystem:CreateMountTarget": [
        "ec2:CreateNetworkInterface", "ec2:DescribeSubnets", "ec2:DescribeNetworkInterfaces",
    ],
    "iam:CreateRole": ["iam:TagRole"],
    "iam:CreateInstanceProfile": ["iam:TagInstanceProfile"],
    "ssm:PutParameter": ["ssm:AddTagsToResource"],
}  # fmt: skip


def _allowed(action: str, policy: dict) -> bool:  # type: ignore[type-arg]
    statements = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    patterns = [a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]
    return any(fnmatch.fnmatchcase(action, pattern) for pattern in patterns)


def test_the_documented_policy_covers_every_call(
    cli, tmp_path: Path, shared_sandbox: str, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    faults = Faults().install(monkeypatch)
    config = tmp_path / "stack.yaml"
    config.write_text("name: policy\nregion: us-east-1\n")
    assert cli("--sandbox", "deploy", "-c", str(config), "--yes").code == 0
    assert cli("--sandbox", "destroy", "policy", "--yes").code == 0
    policy = json.loads((ROOT / "docs" / "iam-policy.json").read_text())
    actions = set()
    for call in [*faults.calls, *HEALTH_CALLS]:
        service, operation = call.split(".", 1)
        actions.add(f"{IAM_PREFIX[service]}:{operation}")
    assert len(actions) > 40
    assert "iam:AttachRolePolicy" not in actions, "the instance role has inline policies only"
    actions |= {implied for action in list(actions) for implied in IMPLIED.get(action, [])}
    missing = sorted(a for a in actions if not _allowed(a, policy))
    assert missing == []
