"""NetworkService against moto: each create takes its spec's parameters and tags; deletes are idempotent."""

from __future__ import annotations

import random
from typing import Any

from geusemaker.models.tags import stack_tags
from geusemaker.orchestration.destroy import Destroyer
from geusemaker.services.network import NetworkService
from geusemaker.state.store import ResourceRecord
from tests.awsfakes import inprocess_aws

REGION = "us-east-1"


def _network(clients: Any) -> tuple[NetworkService, dict[str, str]]:
    tags = stack_tags({"team": "ml"}, "stack-1")
    network = NetworkService(clients, REGION, lambda _: None)
    vpc = network.create_vpc("net", tags, "10.9.0.0/16")
    subnet = network.create_subnet("net", vpc, "us-east-1b", "10.9.3.0/24", tags)
    igw = network.create_internet_gateway("net", tags)
    network.attach_internet_gateway(igw, vpc)
    table = network.create_route_table("net", vpc, tags)
    network.add_default_route(table, igw, "0.0.0.0/0")
    network.associate(table, subnet)
    group = network.create_security_group("gm-net", "GeuseMaker net", vpc, "net", tags)
    network.allow_ingress(group, [(5678, "198.51.100.0/24")], nfs_from_self=False)
    ids = {"vpc": vpc, "subnet": subnet, "internet-gateway": igw, "route-table": table, "security-group": group}
    return network, ids


def test_creates_use_the_given_parameters_and_tag_with_the_stack() -> None:
    with inprocess_aws(REGION) as clients:
        _, ids = _network(clients)
        ec2 = clients.client("ec2", REGION)
        [vpc] = ec2.describe_vpcs(VpcIds=[ids["vpc"]])["Vpcs"]
        assert vpc["CidrBlock"] == "10.9.0.0/16"
        assert {"Key": "geusemaker:stack-id", "Value": "stack-1"} in vpc["Tags"]
        [subnet] = ec2.describe_subnets(SubnetIds=[ids["subnet"]])["Subnets"]
        assert (subnet["CidrBlock"], subnet["AvailabilityZone"]) == ("10.9.3.0/24", "us-east-1b")
        [group] = ec2.describe_security_groups(GroupIds=[ids["security-group"]])["SecurityGroups"]
        assert (group["GroupName"], group["Description"]) == ("gm-net", "GeuseMaker net")
        assert [(p["FromPort"], p["IpRanges"][0]["CidrIp"]) for p in group["IpPermissions"]] == [
            (5678, "198.51.100.0/24")
        ], "no NFS rule when the spec asks for none"


def test_the_destroyer_deletes_in_dependency_order_whatever_order_the_records_come_in() -> None:
    with inprocess_aws(REGION) as clients:
        _, ids = _network(clients)
        records = [ResourceRecord(kind, rid, REGION) for kind, rid in ids.items()]
        random.Random(7).shuffle(records)
        report = Destroyer(clients, None, "net", sleep=lambda _: None).destroy(records)
        assert report.failed == []
        deleted = [r.kind for r in report.deleted]
        assert sorted(deleted) == sorted(ids) and deleted[-1] == "vpc"
        assert deleted.index("route-table") < min(deleted.index("subnet"), deleted.index("internet-gateway"))
        assert (
            clients.client("ec2", REGION).describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [ids["vpc"]]}])["Vpcs"]
            == []
        )
        again = Destroyer(clients, None, "net", sleep=lambda _: None).destroy(records)
        assert again.failed == [] and len(again.deleted) == len(records), "already gone counts as deleted"
