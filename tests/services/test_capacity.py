"""CapacityService against moto (with the sandbox's quotas): quota values, vCPUs in use, placement scores."""

from __future__ import annotations

from geusemaker.catalog import load_catalog
from geusemaker.sandbox import patches
from geusemaker.services.capacity import CapacityService
from tests.awsfakes import inprocess_aws, json_error, respond


def test_quota_values_come_from_service_quotas() -> None:
    with inprocess_aws() as clients:
        patches.set_quotas({"L-DB2E81BA": 8})
        capacity = CapacityService(clients, load_catalog())
        assert capacity.quota_value("us-east-1", "L-DB2E81BA") == 8
        assert capacity.quota_value("us-east-1", "L-7212CCBC") == 64


def test_unreadable_quota_is_unknown_with_a_note() -> None:
    with inprocess_aws() as clients:
        respond(
            clients.client("service-quotas", "us-east-1"),
            "GetServiceQuota",
            400,
            json_error("AccessDeniedException", "no"),
        )
        capacity = CapacityService(clients, load_catalog())
        assert capacity.quota_value("us-east-1", "L-DB2E81BA") is None
        assert any("L-DB2E81BA unreadable" in note for note in capacity.notes)


def test_running_instances_count_against_their_group_and_market() -> None:
    with inprocess_aws() as clients:
        ec2 = clients.client("ec2", "us-east-1")
        image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        ec2.run_instances(ImageId=image, InstanceType="g5.xlarge", MinCount=2, MaxCount=2)
        ec2.run_instances(
            ImageId=image, InstanceType="g4dn.2xlarge", MinCount=1, MaxCount=1,
            InstanceMarketOptions={"MarketType": "spot"},
        )  # fmt: skip
        ec2.run_instances(ImageId=image, InstanceType="p4d.24xlarge", MinCount=1, MaxCount=1)
        stopped = ec2.run_instances(ImageId=image, InstanceType="g5.4xlarge", MinCount=1, MaxCount=1)
        ec2.terminate_instances(InstanceIds=[stopped["Instances"][0]["InstanceId"]])
        used = CapacityService(clients, load_catalog()).used_vcpus("us-east-1")
    assert used[("g", "on-demand")] == 8
    assert used[("g", "spot")] == 8
    assert used[("p", "on-demand")] == 96


def test_placement_scores_per_zone() -> None:
    with inprocess_aws() as clients:
        scores = CapacityService(clients, load_catalog()).placement_scores("g5.xlarge", ["us-east-1", "eu-west-1"])
    assert {region for region, _ in scores} == {"us-east-1", "eu-west-1"}
    assert all(1 <= score <= 10 for score in scores.values())


def test_placement_scores_unavailable_is_empty_with_a_note() -> None:
    with inprocess_aws() as clients:
        respond(
            clients.client("ec2", "us-east-1"),
            "GetSpotPlacementScores",
            403,
            b"<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>no</Message></Error></Errors></Response>",
        )
        capacity = CapacityService(clients, load_catalog())
        assert capacity.placement_scores("g5.xlarge", ["us-east-1"]) == {}
        assert capacity.notes
