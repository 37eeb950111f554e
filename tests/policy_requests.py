"""The authorization requests AWS makes for the calls GeuseMaker sent to the sandbox (for tests/iamsim.py).

Each recorded call becomes one request per resource AWS authorizes, with the context keys the call
carries: request tags, the tags of the resources it names, the image owner, the permissions boundary,
and the permissions AWS checks besides the call itself (tagging on create, the fleet's launch and
PassRole, the network interfaces EFS creates and deletes, PassRole of AddRoleToInstanceProfile).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlparse

from tests import policy_requests_asg
from tests.awsfakes import boto_client
from tests.iamsim import Request
from tests.policy_requests_launch import launch_requests

ACCOUNT = "123456789012"
USER_ID = "AIDASANDBOXOPERATOR"
IAM_PREFIX = {
    "ec2": "ec2", "iam": "iam", "ssm": "ssm", "efs": "elasticfilesystem", "sts": "sts", "pricing": "pricing",
    "service-quotas": "servicequotas", "resource-groups-tagging-api": "tag",
}  # fmt: skip
EC2_KINDS = {"vpc": "vpc", "subnet": "subnet", "igw": "internet-gateway", "rtb": "route-table",
             "sg": "security-group", "lt": "launch-template", "i": "instance", "fleet": "fleet",
             "eni": "network-interface", "vol": "volume", "snap": "snapshot"}  # fmt: skip
_EC2_ID = re.compile(r"^(vpc|subnet|igw|rtb|sg|lt|i|fleet|eni|rtbassoc|vol|snap)-[0-9a-f]+$")
_CREATES = {"CreateVpc": "vpc", "CreateSubnet": "subnet", "CreateInternetGateway": "internet-gateway",
            "CreateRouteTable": "route-table", "CreateSecurityGroup": "security-group",
            "CreateLaunchTemplate": "launch-template", "CreateVolume": "volume",
            "CreateSnapshot": "snapshot"}  # fmt: skip


@dataclass
class World:
    """What existed in the sandbox while the calls ran: tags by id, images, templates, mount targets."""

    region: str
    tags: dict[str, dict[str, str]] = field(default_factory=dict)
    image_owner: dict[str, str] = field(default_factory=dict)
    template: dict[str, dict[str, Any]] = field(default_factory=dict)
    association: dict[str, str] = field(default_factory=dict)
    mount_target: dict[str, tuple[str, str]] = field(default_factory=dict)
    boundary: dict[str, str] = field(default_factory=dict)
    group_arn: dict[str, str] = field(default_factory=dict)

    def observe(self, endpoint: str) -> None:
        """Add what the sandbox holds now (call after deploy, before destroy)."""
        ec2 = boto_client(endpoint, "ec2", self.region)
        for tag in ec2.get_paginator("describe_tags").paginate().search("Tags[]"):
            self.tags.setdefault(tag["ResourceId"], {})[tag["Key"]] = tag["Value"]
        for image in ec2.describe_images(Owners=["self", "amazon", "898082745236", "099720109477"])["Images"]:
            self.image_owner[image["ImageId"]] = image["OwnerId"]
        for template in ec2.describe_launch_templates()["LaunchTemplates"]:
            versions = ec2.describe_launch_template_versions(LaunchTemplateId=template["LaunchTemplateId"])
            self.template[template["LaunchTemplateId"]] = versions["LaunchTemplateVersions"][-1]["LaunchTemplateData"]
        for table in ec2.describe_route_tables()["RouteTables"]:
            for association in table.get("Associations", []):
                self.association[association["RouteTableAssociationId"]] = table["RouteTableId"]
        efs = boto_client(endpoint, "efs", self.region)
        for fs in efs.describe_file_systems()["FileSystems"]:
            self.tags[fs["FileSystemId"]] = {t["Key"]: t["Value"] for t in fs.get("Tags", [])}
            for target in efs.describe_mount_targets(FileSystemId=fs["FileSystemId"])["MountTargets"]:
                self.mount_target[target["MountTargetId"]] = (fs["FileSystemId"], target["NetworkInterfaceId"])
        policy_requests_asg.observe(self, endpoint)

    def ec2_arn(self, resource_id: str) -> str:
        prefix = resource_id.split("-", maxsplit=1)[0]
        account = "" if prefix == "snap" else ACCOUNT  # snapshot ARNs name no account
        return f"arn:aws:ec2:{self.region}:{account}:{EC2_KINDS[prefix]}/{resource_id}"

    def resource_tags(self, resource_id: str, key: str = "aws:ResourceTag") -> dict[str, str]:
        return {f"{key}/{k}": v for k, v in self.tags.get(resource_id, {}).items()}

    def existing(self, action: str, resource_id: str) -> Request:
        return Request(action, self.ec2_arn(resource_id), self.resource_tags(resource_id))


def _request_tags(params: dict[str, list[str]], resource_type: str | None = None) -> dict[str, str]:
    """aws:RequestTag/* of the TagSpecification(s) of an EC2 query request (of one resource type if given)."""
    tags: dict[str, str] = {}
    for key, values in params.items():
        match = re.fullmatch(r"TagSpecification\.(\d+)\.Tag\.(\d+)\.Key", key)
        if not match:
            continue
        spec = match.group(1)
        if resource_type and params.get(f"TagSpecification.{spec}.ResourceType") != [resource_type]:
            continue
        tags[f"aws:RequestTag/{values[0]}"] = params[key.removesuffix("Key") + "Value"][0]
    return tags


def _ec2(operation: str, params: dict[str, list[str]], world: World) -> Iterator[Request]:
    action = f"ec2:{operation}"
    region = world.region
    if operation.startswith(("Describe", "GetSpotPlacementScores")):
        yield Request(action)
        return
    ids = [v for values in params.values() for v in values if _EC2_ID.match(v)]
    ids = [world.association.get(i, i) if i.startswith("rtbassoc-") else i for i in ids]
    if operation in _CREATES:
        kind = _CREATES[operation]
        account = "" if kind == "snapshot" else ACCOUNT
        yield Request(action, f"arn:aws:ec2:{region}:{account}:{kind}/*", _request_tags(params))
        tags = {"ec2:CreateAction": operation}
        yield Request("ec2:CreateTags", f"arn:aws:ec2:{region}:{account}:{kind}/*", tags)
        # what a resource is created in or from: its VPC, the volume of a snapshot, the snapshot of a volume
        source = {"CreateSnapshot": "vol-", "CreateVolume": "snap-"}.get(operation, "vpc-")
        ids = [i for i in ids if i.startswith(source)]
    if operation == "CreateFleet":
        yield from _fleet(params, world)
        return
    for resource_id in ids:
        yield world.existing(action, resource_id)


def _fleet(params: dict[str, list[str]], world: World) -> Iterator[Request]:
    region = world.region
    template_id = params["LaunchTemplateConfigs.1.LaunchTemplateSpecification.LaunchTemplateId"][0]
    yield Request("ec2:CreateFleet", f"arn:aws:ec2:{region}:{ACCOUNT}:fleet/*", _request_tags(params, "fleet"))
    yield Request("ec2:CreateTags", f"arn:aws:ec2:{region}:{ACCOUNT}:fleet/*", {"ec2:CreateAction": "CreateFleet"})
    yield world.existing("ec2:CreateFleet", template_id)
    subnets = [v[0] for k, v in params.items() if k.endswith(".SubnetId")]
    spot = params.get("TargetCapacitySpecification.DefaultTargetCapacityType") == ["spot"]
    yield from launch_requests(world, template_id, subnets, spot=spot)


def _efs(operation: str, url: str, body: bytes, world: World) -> Iterator[Request]:
    action = f"elasticfilesystem:{operation}"
    region = world.region

    def file_system(fs_id: str) -> Request:
        arn = f"arn:aws:elasticfilesystem:{region}:{ACCOUNT}:file-system/{fs_id}"
        return Request(action, arn, world.resource_tags(fs_id))

    parsed = urlparse(url)
    last = parsed.path.rstrip("/").rsplit("/", 1)[-1]
    if operation == "DescribeFileSystems":
        yield Request(action)
    elif operation == "CreateFileSystem":
        yield Request(action, f"arn:aws:elasticfilesystem:{region}:{ACCOUNT}:file-system/*")
        context = {"elasticfilesystem:CreateAction": "CreateFileSystem"}
        yield Request(
            "elasticfilesystem:TagResource", f"arn:aws:elasticfilesystem:{region}:{ACCOUNT}:file-system/*", context
        )
    elif operation == "CreateMountTarget":
        request = json.loads(body)
        yield file_system(request["FileSystemId"])
        yield Request("ec2:CreateNetworkInterface", f"arn:aws:ec2:{region}:{ACCOUNT}:network-interface/*")
        for resource_id in [request["SubnetId"], *request.get("SecurityGroups", [])]:
            yield world.existing("ec2:CreateNetworkInterface", resource_id)
        yield Request("ec2:DescribeSubnets")
        yield Request("ec2:DescribeNetworkInterfaces")
    elif operation == "DeleteMountTarget":
        fs_id, eni = world.mount_target[last]
        yield file_system(fs_id)
        # EFS deletes the interface it created (without our tags) with the caller's permissions
        yield Request("ec2:DeleteNetworkInterface", world.ec2_arn(eni))
    elif operation == "DescribeMountTargets":
        query = parse_qs(parsed.query)
        fs_id = (
            query["FileSystemId"][0] if "FileSystemId" in query else world.mount_target[query["MountTargetId"][0]][0]
        )
        yield file_system(fs_id)
    else:
        yield file_system(last)


def _iam(operation: str, params: dict[str, list[str]], world: World) -> Iterator[Request]:
    action = f"iam:{operation}"
    role = params.get("RoleName", [""])[0]
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/geusemaker/{role}"
    profile = params.get("InstanceProfileName", [""])[0]
    profile_arn = f"arn:aws:iam::{ACCOUNT}:instance-profile/geusemaker/{profile}"
    if operation == "CreateRole":
        world.boundary[role] = params.get("PermissionsBoundary", [""])[0]
    boundary = {"iam:PermissionsBoundary": world.boundary[role]} if world.boundary.get(role) else {}
    if "PolicyArn" in params and not role:
        yield Request(action, params["PolicyArn"][0])
    elif profile:
        yield Request(action, profile_arn)
        if operation == "AddRoleToInstanceProfile":
            yield Request("iam:PassRole", role_arn)  # no iam:PassedToService: nothing is passed to a service yet
    elif role:
        yield Request(action, role_arn, boundary if operation in {"CreateRole", "PutRolePolicy"} else {})
    else:
        yield Request(action)
    implied = {
        "CreateRole": ("iam:TagRole", role_arn),
        "CreateInstanceProfile": ("iam:TagInstanceProfile", profile_arn),
    }
    if operation in implied:
        yield Request(*implied[operation])


def _ssm(operation: str, body: bytes, world: World) -> Iterator[Request]:
    action = f"ssm:{operation}"
    request = json.loads(body or b"{}")
    parameter = f"arn:aws:ssm:{world.region}:{ACCOUNT}:parameter"
    names = request.get("Names") or [request[k] for k in ("Name", "Path", "ResourceId") if k in request]
    if names:
        for name in names:
            yield Request(action, f"{parameter}{name}")
        if operation == "PutParameter":
            yield Request("ssm:AddTagsToResource", f"{parameter}{names[0]}")
    else:
        yield Request(action)


def requests_for(calls: list[tuple[str, str, bytes]], world: World) -> Iterator[tuple[str, Request]]:
    """(call, authorization request) for every recorded call."""
    for call, url, body in calls:
        service, operation = call.split(".", 1)
        if service == "ec2":
            found = _ec2(operation, parse_qs(body.decode()), world)
        elif service == "efs":
            found = _efs(operation, url, body, world)
        elif service == "iam":
            found = _iam(operation, parse_qs(body.decode()), world)
        elif service == "ssm":
            found = _ssm(operation, body, world)
        elif service == "auto-scaling":
            found = policy_requests_asg.autoscaling(operation, parse_qs(body.decode()), world)
        elif service == "cloudwatch":
            found = policy_requests_asg.cloudwatch(operation, body, world)
        else:
            found = iter([Request(f"{IAM_PREFIX[service]}:{operation}")])
        for request in found:
            yield call, request


def health_requests(world: World, instance_id: str) -> list[Request]:
    """What `health` and `connect` ask of AWS (the sandbox runs no agent): Run Command, sessions."""
    instance = Request("", world.ec2_arn(instance_id), world.resource_tags(instance_id, "ssm:resourceTag"))
    document = f"arn:aws:ssm:{world.region}::document/"
    session = f"arn:aws:ssm:{world.region}:{ACCOUNT}:session/{USER_ID}-0123456789abcdef0"
    me = {"aws:userid": USER_ID}
    return [
        Request("ssm:SendCommand", instance.resource, instance.context),
        Request("ssm:SendCommand", f"{document}AWS-RunShellScript"),
        Request("ssm:StartSession", instance.resource, instance.context),
        Request("ssm:StartSession", f"{document}AWS-StartPortForwardingSession"),
        Request("ssm:GetCommandInvocation"),
        Request("ssm:DescribeInstanceInformation"),
        Request("ssm:TerminateSession", session, me),
        Request("ssm:ResumeSession", session, me),
    ]
