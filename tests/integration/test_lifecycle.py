"""deploy -> status -> destroy through the real CLI against the sandbox's HTTP endpoint: nothing leaks."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path
from typing import Any

from tests.awsfakes import boto_client, count_resources, tagged_resources
from tests.conftest import run_cli

STACK = "name: {name}\nregion: us-east-1\ncompute:\n  gpu: t4\n"


def _config(tmp_path: Path, name: str, extra: str = "") -> str:
    path = tmp_path / f"{name}.yaml"
    path.write_text(STACK.format(name=name) + extra)
    return str(path)


def test_deploy_status_destroy_leaves_zero_resources(tmp_path: Path, shared_sandbox: str, gm_home: Path) -> None:
    endpoint = shared_sandbox
    before = count_resources(endpoint)
    deployed = run_cli("--sandbox", "deploy", "-c", _config(tmp_path, "life"), "--yes", "-o", "json")
    assert deployed.code == 0, deployed.err
    document = json.loads(deployed.out)
    assert document["status"] == "running" and document["instance_type"] == "g4dn.xlarge"
    during = count_resources(endpoint)
    assert during["vpcs"] == before["vpcs"] + 1 and during["instances"] == before["instances"] + 1
    assert (
        during["file_systems"] == before["file_systems"] and during["ssm_parameters"] == before["ssm_parameters"] + 4
    ), "the default keeps the data on a data volume, without EFS"
    assert "data-volume" in [item.split()[0] for item in tagged_resources(endpoint, "life")]

    status = json.loads(run_cli("--sandbox", "status", "life", "--refresh", "-o", "json").out)
    assert [s["name"] for s in status] == ["life"]
    assert status[0]["status"] == "running" and status[0]["instance_id"] == document["instance_id"]
    assert set(status[0]) >= {"name", "status", "region", "instance_id", "instance_type", "market", "public_ip",
                              "hourly_usd", "cost_so_far_usd", "health", "events"}  # fmt: skip

    destroyed = run_cli("--sandbox", "destroy", "life", "--yes", "--delete-data")
    assert destroyed.code == 0, destroyed.err
    assert count_resources(endpoint) == before
    assert tagged_resources(endpoint, "life") == []
    assert json.loads(run_cli("--sandbox", "status", "-o", "json").out) == []


def test_what_is_created_is_locked_down(tmp_path: Path, shared_sandbox: str) -> None:
    endpoint = shared_sandbox
    assert run_cli("--sandbox", "deploy", "-c", _config(tmp_path, "secure"), "--yes").code == 0
    try:
        ec2 = boto_client(endpoint, "ec2")
        group = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["geusemaker-secure"]}])
        rules = group["SecurityGroups"][0]["IpPermissions"]
        assert all(not rule.get("IpRanges") for rule in rules), "mode ssm opens no port to any CIDR"
        assert [r["FromPort"] for r in rules] == [2049], "only NFS, and only from the group itself"
        template = ec2.describe_launch_template_versions(LaunchTemplateName="geusemaker-secure")[
            "LaunchTemplateVersions"
        ]
        data = template[0]["LaunchTemplateData"]
        assert data["MetadataOptions"]["HttpTokens"] == "required"
        assert data["MetadataOptions"]["HttpPutResponseHopLimit"] == 1, "IMDS credentials stay on the host"
        assert all(m["Ebs"]["Encrypted"] and m["Ebs"]["VolumeType"] == "gp3" for m in data["BlockDeviceMappings"])
        userdata = gzip.decompress(base64.b64decode(data["UserData"]))
        ssm = boto_client(endpoint, "ssm")
        secrets = ssm.get_parameters_by_path(Path="/geusemaker/secure/", WithDecryption=True)["Parameters"]
        assert len(secrets) == 4 and all(p["Type"] == "SecureString" for p in secrets)
        assert all(p["Value"].encode() not in userdata for p in secrets)
        efs = boto_client(endpoint, "efs").describe_file_systems()["FileSystems"]
        assert all(fs["Encrypted"] for fs in efs)
        _assert_least_privilege_role(boto_client(endpoint, "iam"), "geusemaker-secure", "/geusemaker/secure")
        tags = ec2.describe_vpcs(Filters=[{"Name": "tag:geusemaker:deployment", "Values": ["secure"]}])["Vpcs"]
        assert len(tags) == 1
    finally:
        assert run_cli("--sandbox", "destroy", "secure", "--yes", "--delete-data").code == 0


def _assert_least_privilege_role(iam: Any, role: str, path: str) -> None:
    """No managed policy; every parameter read and decryption is limited to the deployment's path."""
    assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []
    names = iam.list_role_policies(RoleName=role)["PolicyNames"]
    assert sorted(names) == ["geusemaker-deployment", "geusemaker-ssm-agent"]
    statements = [
        statement
        for name in names
        for statement in iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]["Statement"]
    ]
    actions = {
        action for s in statements for action in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert actions >= {"ssm:UpdateInstanceInformation", "ec2messages:GetMessages", "ssmmessages:OpenDataChannel"}
    assert actions >= {"ssm:GetParametersByPath", "kms:Decrypt"}, "what the boot's secrets_fetch calls"
    for statement in statements:
        granted = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        resources = [statement["Resource"]] if isinstance(statement["Resource"], str) else statement["Resource"]
        if any(a.startswith("ssm:GetParameter") for a in granted):
            assert all(r.split(":parameter", 1)[1] in (path, f"{path}/*") for r in resources), statement
        if "kms:Decrypt" in granted and statement.get("Sid") == "UseVolumeKeysThroughEc2":  # the data volume's key
            assert next(iter(statement["Condition"].values()))["kms:ViaService"] == "ec2.us-east-1.amazonaws.com"
        elif "kms:Decrypt" in granted:
            condition = statement["Condition"]
            assert condition["StringEquals"]["kms:ViaService"] == "ssm.us-east-1.amazonaws.com"
            assert condition["StringLike"]["kms:EncryptionContext:PARAMETER_ARN"].endswith(f"parameter{path}/*")


def test_cidr_access_opens_only_authenticated_services_to_the_listed_cidrs(tmp_path: Path, shared_sandbox: str) -> None:
    extra = (
        "services: [ollama, qdrant]\naccess:\n  mode: cidr\n  allowed_cidrs: [198.51.100.0/24, '2001:db8::/48']\n"
        "storage:\n  data: none\n"
    )
    deployed = run_cli("--sandbox", "deploy", "-c", _config(tmp_path, "open", extra), "--yes")
    assert deployed.code == 0, deployed.err
    assert "Access: qdrant reachable from 198.51.100.0/24, 2001:db8::/48" in deployed.err
    assert "warning: plain HTTP" in deployed.err
    try:
        ec2 = boto_client(shared_sandbox, "ec2")
        group = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["geusemaker-open"]}])
        opened = sorted(
            (rule["FromPort"], r.get("CidrIp") or r["CidrIpv6"])
            for rule in group["SecurityGroups"][0]["IpPermissions"]
            for r in [*rule.get("IpRanges", []), *rule.get("Ipv6Ranges", [])]
        )
        assert opened == [(6333, "198.51.100.0/24"), (6333, "2001:db8::/48")], "Ollama has no authentication"
    finally:
        assert run_cli("--sandbox", "destroy", "open", "--yes", "--delete-data").code == 0


def test_an_existing_name_is_refused(tmp_path: Path, shared_sandbox: str) -> None:
    config = _config(tmp_path, "twice", "storage:\n  data: none\n")
    assert run_cli("--sandbox", "deploy", "-c", config, "--yes").code == 0
    try:
        again = run_cli("--sandbox", "deploy", "-c", config, "--yes")
        assert again.code == 2 and "already exists" in again.err
    finally:
        run_cli("--sandbox", "destroy", "twice", "--yes", "--delete-data")


def test_without_a_terminal_deploy_needs_yes(tmp_path: Path, shared_sandbox: str) -> None:
    result = run_cli("--sandbox", "deploy", "-c", _config(tmp_path, "ask"))
    assert result.code == 2 and "--yes" in result.err


def test_destroy_of_an_unknown_name(shared_sandbox: str) -> None:
    result = run_cli("--sandbox", "destroy", "ghost", "--yes", "--delete-data")
    assert result.code == 2 and "--discover" in result.err
