"""InventoryService and the tagging helper against moto: what GeuseMaker manages, by deployment."""

from __future__ import annotations

from geusemaker.models.tags import stack_tags
from geusemaker.services.inventory import InventoryService
from geusemaker.services.network import NetworkService
from geusemaker.services.tagging import tagged_resources
from tests.awsfakes import inprocess_aws

REGION = "us-east-1"


def test_managed_resources_are_listed_by_deployment_through_the_tagging_api() -> None:
    with inprocess_aws(REGION) as clients:
        network = NetworkService(clients, REGION, lambda _: None)
        vpc = network.create_vpc("inv", stack_tags({}, "s1"), "10.5.0.0/16")
        clients.client("ec2", REGION).create_vpc(CidrBlock="10.4.0.0/16")  # not ours
        arns = [m["ResourceARN"] for m in tagged_resources(clients, REGION, "geusemaker:deployment", "inv")]
        assert [arn.rsplit("/", 1)[1] for arn in arns] == [vpc]
        [managed] = InventoryService(clients, REGION).regional()
        assert (managed.deployment, managed.region) == ("inv", REGION) and managed.arn.endswith(vpc)
        assert managed.tags["geusemaker:kind"] == "vpc"
