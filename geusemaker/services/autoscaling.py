"""Auto Scaling groups of one: the stack's instance is handed to a group that replaces it when AWS takes it."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from geusemaker.errors import AwsError, NotFoundError
from geusemaker.models.replacement import HEALTH_GRACE_S
from geusemaker.models.tags import TAG_DEPLOYMENT, TAG_KIND, owned, tag_dict
from geusemaker.services.aws import AwsClients, translate_errors

#: how long a forced delete may take before it is reported (a group terminates its instance first)
DELETE_WAIT_S = 600


@dataclass(frozen=True)
class GroupShape:
    """Where and how the group launches: one subnet (the data volume's zone), the template, types and market."""

    subnet_id: str
    template_id: str
    instance_types: tuple[str, ...]
    market: str


@dataclass(frozen=True)
class GroupState:
    """What a group holds now."""

    name: str
    desired: int
    instance_ids: tuple[str, ...]
    subnet_id: str
    market: str


class AutoScalingService:
    """Creates, changes, reads and deletes one region's Auto Scaling groups (tagged at creation)."""

    def __init__(
        self, clients: AwsClients, region: str, sleep: Callable[[float], None] = time.sleep, delay_s: int = 5
    ) -> None:
        self._asg = clients.client("autoscaling", region)
        self._sleep = sleep
        self._delay_s = delay_s
        self.region = region

    def create_group(self, name: str, shape: GroupShape, deployment: str, user_tags: dict[str, str]) -> None:
        """An empty group (desired 0) with the stack's tags, the stack id propagated to what it launches."""
        tags = tag_dict(deployment, "autoscaling-group", user_tags)
        with translate_errors("autoscaling:CreateAutoScalingGroup"):
            self._asg.create_auto_scaling_group(
                AutoScalingGroupName=name,
                MinSize=0,
                MaxSize=1,
                DesiredCapacity=0,
                VPCZoneIdentifier=shape.subnet_id,
                MixedInstancesPolicy=_mixed_policy(shape),
                CapacityRebalance=shape.market == "spot",
                NewInstancesProtectedFromScaleIn=False,
                HealthCheckType="EC2",
                HealthCheckGracePeriod=HEALTH_GRACE_S,
                DefaultInstanceWarmup=HEALTH_GRACE_S,
                Tags=[
                    {
                        "ResourceId": name,
                        "ResourceType": "auto-scaling-group",
                        "Key": key,
                        "Value": value,
                        # the launch template tags instances with kind "instance"; the rest goes with them
                        "PropagateAtLaunch": key not in (TAG_KIND, "Name"),
                    }
                    for key, value in tags.items()
                ],
            )

    def update_group(self, name: str, shape: GroupShape) -> None:
        """Move the group to another subnet, types or market (a start that planned them anew); let it launch again.

        A group whose Launch process was suspended (the sandbox's stand-in for spot capacity gone) could
        never replace the instance a start hands it: the start resumes it.
        """
        with translate_errors("autoscaling:UpdateAutoScalingGroup"):
            self._asg.update_auto_scaling_group(
                AutoScalingGroupName=name,
                VPCZoneIdentifier=shape.subnet_id,
                MixedInstancesPolicy=_mixed_policy(shape),
                CapacityRebalance=shape.market == "spot",
            )
        with translate_errors("autoscaling:ResumeProcesses"):
            self._asg.resume_processes(AutoScalingGroupName=name, ScalingProcesses=["Launch"])

    def attach(self, name: str, instance_id: str) -> None:
        """Hand a running instance to the group (its desired capacity becomes 1)."""
        with translate_errors("autoscaling:AttachInstances"):
            self._asg.attach_instances(AutoScalingGroupName=name, InstanceIds=[instance_id])

    def set_desired(self, name: str, capacity: int) -> None:
        with translate_errors("autoscaling:SetDesiredCapacity"):
            self._asg.set_desired_capacity(AutoScalingGroupName=name, DesiredCapacity=capacity, HonorCooldown=False)

    def enable_metrics(self, name: str, metrics: Sequence[str]) -> None:
        """Group metrics at 1-minute granularity (free) for the alarms that watch the group."""
        with translate_errors("autoscaling:EnableMetricsCollection"):
            self._asg.enable_metrics_collection(AutoScalingGroupName=name, Metrics=list(metrics), Granularity="1Minute")

    def put_exact_capacity_policy(self, group: str, policy: str, capacity: int) -> str:
        """A simple scaling policy that sets the group's capacity to `capacity`; returns its ARN."""
        with translate_errors("autoscaling:PutScalingPolicy"):
            answer = self._asg.put_scaling_policy(
                AutoScalingGroupName=group,
                PolicyName=policy,
                PolicyType="SimpleScaling",
                AdjustmentType="ExactCapacity",
                ScalingAdjustment=capacity,
                Cooldown=60,
            )
        return str(answer["PolicyARN"])

    def execute_policy(self, group: str, policy: str) -> None:
        with translate_errors("autoscaling:ExecutePolicy"):
            self._asg.execute_policy(AutoScalingGroupName=group, PolicyName=policy, HonorCooldown=False)

    def suspend_launches(self, name: str) -> None:
        """Suspend the group's Launch process (the sandbox's stand-in for spot capacity being gone)."""
        with translate_errors("autoscaling:SuspendProcesses"):
            self._asg.suspend_processes(AutoScalingGroupName=name, ScalingProcesses=["Launch"])

    def state(self, name: str) -> GroupState | None:
        """The group's desired capacity, its live instances, subnet and market; None when there is no such group."""
        with translate_errors("autoscaling:DescribeAutoScalingGroups"):
            groups = self._asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"]
        if not groups:
            return None
        group = groups[0]
        live = tuple(
            str(i["InstanceId"])
            for i in group.get("Instances", [])
            if not str(i.get("LifecycleState", "")).startswith(("Terminat", "Detach"))
        )
        distribution = group.get("MixedInstancesPolicy", {}).get("InstancesDistribution", {})
        on_demand = int(distribution.get("OnDemandPercentageAboveBaseCapacity", 100)) > 0
        return GroupState(
            name, int(group.get("DesiredCapacity", 0)), live, str(group.get("VPCZoneIdentifier", "")).split(",")[0],
            "on-demand" if on_demand else "spot",
        )  # fmt: skip

    def activities(self, name: str, limit: int = 20) -> list[dict[str, Any]]:
        """The group's recent scaling activities, newest first (why it launched or terminated)."""
        try:
            with translate_errors("autoscaling:DescribeScalingActivities"):
                answer = self._asg.describe_scaling_activities(AutoScalingGroupName=name, MaxRecords=limit)
        except NotFoundError:
            return []
        return list(answer.get("Activities", []))

    def delete_group(self, name: str) -> None:
        """Delete the group with whatever it runs (ForceDelete) and wait until it is gone; gone counts as done."""
        try:
            with translate_errors("autoscaling:DeleteAutoScalingGroup"):
                self._asg.delete_auto_scaling_group(AutoScalingGroupName=name, ForceDelete=True)
        except AwsError as error:
            if _missing(error):
                return
            if error.code not in {"ResourceInUse", "ScalingActivityInProgress"}:
                raise
        waited = 0.0
        while self.state(name) is not None:
            if waited >= DELETE_WAIT_S:
                raise AwsError(f"autoscaling group {name} is still being deleted after {DELETE_WAIT_S} s")
            self._sleep(self._delay_s)
            waited += self._delay_s

    def find_groups(self, deployment: str, stack_id: str | None = None) -> list[str]:
        """Names of the groups tagged with `deployment` (and `stack_id`, when given)."""
        filters = [
            {"Name": f"tag:{TAG_DEPLOYMENT}", "Values": [deployment]},
            {"Name": f"tag:{TAG_KIND}", "Values": ["autoscaling-group"]},
        ]
        with translate_errors("autoscaling:DescribeAutoScalingGroups"):
            pages = self._asg.get_paginator("describe_auto_scaling_groups").paginate(Filters=filters)
            groups = [g for page in pages for g in page["AutoScalingGroups"]]
        return [
            str(g["AutoScalingGroupName"])
            for g in groups
            if owned(g.get("Tags"), deployment, stack_id) and g.get("Status") != "Delete in progress"
        ]


def _mixed_policy(shape: GroupShape) -> dict[str, Any]:
    on_demand = 0 if shape.market == "spot" else 100
    return {
        "LaunchTemplate": {
            "LaunchTemplateSpecification": {"LaunchTemplateId": shape.template_id, "Version": "$Latest"},
            "Overrides": [{"InstanceType": itype} for itype in shape.instance_types],
        },
        "InstancesDistribution": {
            "OnDemandAllocationStrategy": "prioritized",
            "OnDemandBaseCapacity": 0,
            "OnDemandPercentageAboveBaseCapacity": on_demand,
            "SpotAllocationStrategy": "price-capacity-optimized",
        },
    }


def _missing(error: AwsError) -> bool:
    """Auto Scaling says "not found" with a ValidationError."""
    return isinstance(error, NotFoundError) or (
        error.code == "ValidationError" and "not found" in error.message.lower()
    )
