"""AutoScalingService and AlarmService against moto: the stack's group of one, its fallback alarm, found by stack id."""

from __future__ import annotations

from typing import Any

import pytest

from geusemaker.errors import AwsError
from geusemaker.models.tags import stack_tags
from geusemaker.services.alarms import AlarmService
from geusemaker.services.autoscaling import AutoScalingService, GroupShape
from tests.awsfakes import inprocess_aws

REGION = "us-east-1"


def _template_and_subnet(clients: Any) -> tuple[str, str]:
    ec2 = clients.client("ec2", REGION)
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24", AvailabilityZone="us-east-1b")["Subnet"]["SubnetId"]
    template = ec2.create_launch_template(
        LaunchTemplateName="geusemaker-grp", LaunchTemplateData={"ImageId": image, "InstanceType": "g4dn.xlarge"}
    )["LaunchTemplate"]["LaunchTemplateId"]
    return template, subnet


def test_a_group_of_one_takes_an_instance_scales_to_zero_and_is_deleted_with_it() -> None:
    with inprocess_aws(REGION) as clients:
        template, subnet = _template_and_subnet(clients)
        ec2 = clients.client("ec2", REGION)
        groups = AutoScalingService(clients, REGION, sleep=lambda _: None, delay_s=1)
        shape = GroupShape(subnet, template, ("g4dn.xlarge", "g4dn.2xlarge"), "spot")
        groups.create_group("gm-grp-5f0c2b1e", shape, "grp", stack_tags({"team": "ml"}, "5f0c2b1e9d8a"))
        state = groups.state("gm-grp-5f0c2b1e")
        assert state is not None and (state.desired, state.instance_ids, state.market) == (0, (), "spot")
        assert state.subnet_id == subnet
        instance = ec2.run_instances(
            LaunchTemplate={"LaunchTemplateId": template}, MinCount=1, MaxCount=1, SubnetId=subnet
        )["Instances"][0]["InstanceId"]
        groups.attach("gm-grp-5f0c2b1e", instance)
        state = groups.state("gm-grp-5f0c2b1e")
        assert state is not None and (state.desired, state.instance_ids) == (1, (instance,))
        assert groups.find_groups("grp", "5f0c2b1e9d8a") == ["gm-grp-5f0c2b1e"]
        assert groups.find_groups("grp", "another") == [] and groups.find_groups("gr") == []
        groups.update_group("gm-grp-5f0c2b1e", GroupShape(subnet, template, ("g4dn.xlarge",), "on-demand"))
        assert groups.state("gm-grp-5f0c2b1e").market == "on-demand"  # type: ignore[union-attr]
        groups.delete_group("gm-grp-5f0c2b1e")
        assert groups.state("gm-grp-5f0c2b1e") is None
        groups.delete_group("gm-grp-5f0c2b1e")  # already gone counts as deleted


def test_a_group_that_does_not_go_away_is_reported_not_waited_for_forever() -> None:
    with inprocess_aws(REGION) as clients:
        template, subnet = _template_and_subnet(clients)
        slept: list[float] = []
        groups = AutoScalingService(clients, REGION, sleep=slept.append, delay_s=300)
        groups.create_group("gm-stuck-00000000", GroupShape(subnet, template, ("g4dn.xlarge",), "spot"), "stuck", {})
        groups.state = lambda name: object()  # type: ignore[method-assign,assignment,return-value]
        with pytest.raises(AwsError, match="still being deleted"):
            groups.delete_group("gm-stuck-00000000")
        assert sum(slept) >= 600


def test_the_fallback_alarm_is_created_switched_found_by_stack_and_deleted() -> None:
    with inprocess_aws(REGION) as clients:
        alarms = AlarmService(clients, REGION)
        actions = ["arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:x:autoScalingGroupName/g:policyName/p"]
        alarms.put_no_spot_alarm("gm-alm-5f0c2b1e-no-spot", "gm-alm-5f0c2b1e", actions, "alm", stack_tags({}, "5f0c"))
        alarm = alarms.alarm("gm-alm-5f0c2b1e-no-spot")
        assert alarm is not None and alarm["ActionsEnabled"] and alarm["AlarmActions"] == actions
        dimensions = [{"Name": "AutoScalingGroupName", "Value": "gm-alm-5f0c2b1e"}]
        assert [m["MetricStat"]["Metric"]["Dimensions"] for m in alarm["Metrics"] if "MetricStat" in m] == [
            dimensions,
            dimensions,
        ]
        alarms.set_actions("gm-alm-5f0c2b1e-no-spot", False)
        assert not alarms.alarm("gm-alm-5f0c2b1e-no-spot")["ActionsEnabled"]  # type: ignore[index]
        assert alarms.find("alm", "5f0c") == ["gm-alm-5f0c2b1e-no-spot"]
        assert alarms.find("alm", "other") == [] and alarms.find("al") == []
        alarms.delete("gm-alm-5f0c2b1e-no-spot")
        assert alarms.alarm("gm-alm-5f0c2b1e-no-spot") is None
        alarms.delete("gm-alm-5f0c2b1e-no-spot")
