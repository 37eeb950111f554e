"""The authorization requests of the Auto Scaling and CloudWatch calls (the stack's group of one and its alarm).

Group actions authorize the group (its tags as aws:ResourceTag, the request's as aws:RequestTag); a group
that launches from a template needs what a launch from it needs of the caller (tests/policy_requests_launch.py:
ec2:RunInstances on each resource, ec2:CreateTags inside RunInstances, iam:PassRole of its instance role);
the first group of an account creates Auto Scaling's service-linked role. Alarm actions authorize the alarm.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from tests.awsfakes import boto_client
from tests.iamsim import Request
from tests.policy_requests_launch import launch_requests

ACCOUNT = "123456789012"
_UNKNOWN_ID = "00000000-0000-0000-0000-000000000000"


def observe(world: Any, endpoint: str) -> None:
    """Add the groups' ARNs and tags and the alarms' tags to `world` (tags by name, ARNs by name)."""
    autoscaling = boto_client(endpoint, "autoscaling", world.region)
    for group in autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"]:
        name = group["AutoScalingGroupName"]
        world.tags[name] = {t["Key"]: t["Value"] for t in group.get("Tags", [])}
        world.group_arn[name] = group["AutoScalingGroupARN"]
    cloudwatch = boto_client(endpoint, "cloudwatch", world.region)
    for alarm in cloudwatch.describe_alarms()["MetricAlarms"]:
        tags = cloudwatch.list_tags_for_resource(ResourceARN=alarm["AlarmArn"]).get("Tags", [])
        world.tags[alarm["AlarmName"]] = {t["Key"]: t["Value"] for t in tags}


def autoscaling(operation: str, params: dict[str, list[str]], world: Any) -> Iterator[Request]:
    action = f"autoscaling:{operation}"
    name = params.get("AutoScalingGroupName", [""])[0]
    if operation.startswith("Describe") or not name:
        yield Request(action)
        return
    arn = world.group_arn.get(name) or (
        f"arn:aws:autoscaling:{world.region}:{ACCOUNT}:autoScalingGroup:{_UNKNOWN_ID}:autoScalingGroupName/{name}"
    )
    if operation == "CreateAutoScalingGroup":
        tags = {
            f"aws:RequestTag/{params[key][0]}": params[key.removesuffix("Key") + "Value"][0]
            for key in params
            if key.startswith("Tags.member.") and key.endswith(".Key")
        }
        yield Request(action, arn, tags)
        yield Request("autoscaling:CreateOrUpdateTags", arn, tags)
        role = "arn:aws:iam::*:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
        yield Request("iam:CreateServiceLinkedRole", role, {"iam:AWSServiceName": "autoscaling.amazonaws.com"})
    else:
        yield Request(action, arn, world.resource_tags(name))
    template = params.get("MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification.LaunchTemplateId")
    if template:  # the group launches as the caller: the same checks as the fleet's launch
        subnets = params.get("VPCZoneIdentifier", [""])[0].split(",")
        on_demand = params.get("MixedInstancesPolicy.InstancesDistribution.OnDemandPercentageAboveBaseCapacity")
        yield from launch_requests(world, template[0], [s for s in subnets if s], spot=on_demand == ["0"])


def cloudwatch(operation: str, body: bytes, world: Any) -> Iterator[Request]:
    action = f"cloudwatch:{operation}"
    request: dict[str, Any] = json.loads(body or b"{}")
    names = request.get("AlarmNames") or ([request["AlarmName"]] if "AlarmName" in request else [])
    if request.get("ResourceARN"):
        names = [str(request["ResourceARN"]).rsplit(":", 1)[1]]
    if operation == "DescribeAlarms" or not names:
        yield Request(action)
        return
    for name in names:
        arn = f"arn:aws:cloudwatch:{world.region}:{ACCOUNT}:alarm:{name}"
        if operation == "PutMetricAlarm":
            tags = {f"aws:RequestTag/{t['Key']}": t["Value"] for t in request.get("Tags", [])}
            yield Request(action, arn, {**tags, "cloudwatch:AlarmActions": list(request.get("AlarmActions", []))})
            yield Request("cloudwatch:TagResource", arn, tags)
        else:
            yield Request(action, arn, world.resource_tags(name))
