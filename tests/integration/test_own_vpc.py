"""Bring your own VPC through the real CLI against the sandbox: checked at plan time, used, never changed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.awsfakes import boto_client, count_resources, tagged_resources


def _network(endpoint: str, zone: str = "us-east-1b", *, route: str | None = "igw", public_ips: bool = True) -> dict:
    """A VPC made outside GeuseMaker: subnet, route table, and (by default) an internet gateway route."""
    ec2: Any = boto_client(endpoint, "ec2")
    vpc = ec2.create_vpc(CidrBlock="10.77.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.77.1.0/24", AvailabilityZone=zone)["Subnet"]["SubnetId"]
    if public_ips:
        ec2.modify_subnet_attribute(SubnetId=subnet, MapPublicIpOnLaunch={"Value": True})
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    if route == "igw":
        ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    return {"vpc": vpc, "subnet": subnet, "table": table, "igw": igw}


def _config(tmp_path: Path, name: str, network: str, extra: str = "") -> str:
    path = tmp_path / f"{name}.yaml"
    path.write_text(
        f"name: {name}\nregion: us-east-1\ncompute:\n  gpu: t4\nstorage:\n  data: efs\nnetwork:\n{network}{extra}"
    )
    return str(path)


def _user_network_intact(endpoint: str, ids: dict) -> None:
    ec2: Any = boto_client(endpoint, "ec2")
    assert ec2.describe_vpcs(VpcIds=[ids["vpc"]])["Vpcs"]
    subnet = ec2.describe_subnets(SubnetIds=[ids["subnet"]])["Subnets"][0]
    assert subnet["MapPublicIpOnLaunch"] is True
    table = ec2.describe_route_tables(RouteTableIds=[ids["table"]])["RouteTables"][0]
    assert [a["SubnetId"] for a in table["Associations"] if a.get("SubnetId")] == [ids["subnet"]]
    assert any(r.get("GatewayId") == ids["igw"] for r in table["Routes"])
    gateway = ec2.describe_internet_gateways(InternetGatewayIds=[ids["igw"]])["InternetGateways"][0]
    assert [a["VpcId"] for a in gateway["Attachments"]] == [ids["vpc"]]


def test_deploy_into_an_existing_vpc_and_destroy_leaves_it(cli, tmp_path: Path, shared_sandbox: str) -> None:
    ids = _network(shared_sandbox)
    before = count_resources(shared_sandbox)
    config = _config(tmp_path, "byo", f"  vpc_id: {ids['vpc']}\n  subnet_id: {ids['subnet']}\n")
    plan = cli("--sandbox", "deploy", "-c", config, "--dry-run", "-o", "json")
    assert plan.code == 0, plan.err
    document = json.loads(plan.out)
    assert document["placement"]["availability_zone"] == "us-east-1b", "the subnet's zone constrains placement"
    assert all(f["availability_zone"] == "us-east-1b" for f in document["fallbacks"])
    assert {s["id"] for s in document["steps"]}.isdisjoint({"vpc", "subnet", "internet-gateway", "route-table"})

    deployed = cli("--sandbox", "deploy", "-c", config, "--yes", "-o", "json")
    assert deployed.code == 0, deployed.err
    launched = json.loads(deployed.out)
    ec2: Any = boto_client(shared_sandbox, "ec2")
    instance = ec2.describe_instances(InstanceIds=[launched["instance_id"]])["Reservations"][0]["Instances"][0]
    assert instance["SubnetId"] == ids["subnet"] and instance["VpcId"] == ids["vpc"]
    during = count_resources(shared_sandbox)
    assert (during["vpcs"], during["subnets"], during["route_tables"], during["internet_gateways"]) == (
        before["vpcs"],
        before["subnets"],
        before["route_tables"],
        before["internet_gateways"],
    ), "nothing of the network is created"
    groups = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["geusemaker-byo"]}])
    assert groups["SecurityGroups"][0]["VpcId"] == ids["vpc"]

    destroyed = cli("--sandbox", "destroy", "byo", "--yes", "--delete-data")
    assert destroyed.code == 0, destroyed.err
    assert count_resources(shared_sandbox) == before
    assert tagged_resources(shared_sandbox, "byo") == []
    _user_network_intact(shared_sandbox, ids)


def test_a_vpc_without_subnet_id_uses_its_usable_subnets(cli, tmp_path: Path, shared_sandbox: str) -> None:
    ids = _network(shared_sandbox, zone="us-east-1c")
    _network_private = boto_client(shared_sandbox, "ec2").create_subnet(
        VpcId=ids["vpc"], CidrBlock="10.77.2.0/24", AvailabilityZone="us-east-1d"
    )  # no route of its own: the VPC's main table has no default route
    assert _network_private["Subnet"]["SubnetId"]
    plan = cli("--sandbox", "deploy", "-c", _config(tmp_path, "anyzone", f"  vpc_id: {ids['vpc']}\n"), "--dry-run",
               "-o", "json")  # fmt: skip
    assert plan.code == 0, plan.err
    zones = {p["availability_zone"] for p in [json.loads(plan.out)["placement"], *json.loads(plan.out)["fallbacks"]]}
    assert zones == {"us-east-1c"}, "only the subnet that reaches the internet"


@pytest.mark.parametrize(
    ("case", "code", "message"),
    [
        ("missing vpc", 2, "network.vpc_id: vpc-0123456789abcdef0 does not exist in us-east-1"),
        ("missing subnet", 2, "network.subnet_id: subnet-0123456789abcdef0 does not exist in us-east-1"),
        ("subnet of another vpc", 2, "belongs to"),
        ("no route", 3, "has no default route (0.0.0.0/0)"),
        ("no public ips", 3, "does not assign public IPv4 addresses"),
        ("zone without the type", 3, "is not offered in the availability zone of the subnet (us-east-1e)"),
    ],
)
def test_dry_run_catches_a_network_that_cannot_work(
    cli, tmp_path: Path, shared_sandbox: str, case: str, code: int, message: str
) -> None:
    ids = _network(
        shared_sandbox,
        zone="us-east-1e" if case == "zone without the type" else "us-east-1a",
        route=None if case == "no route" else "igw",
        public_ips=case != "no public ips",
    )
    vpc, subnet = ids["vpc"], ids["subnet"]
    if case == "missing vpc":
        vpc = "vpc-0123456789abcdef0"
    elif case == "missing subnet":
        subnet = "subnet-0123456789abcdef0"
    elif case == "subnet of another vpc":
        vpc = _network(shared_sandbox)["vpc"]
    before = count_resources(shared_sandbox)
    config = _config(tmp_path, "badnet", f"  vpc_id: {vpc}\n  subnet_id: {subnet}\n")
    for extra in (("--dry-run",), ("--yes",)):
        result = cli("--sandbox", "deploy", "-c", config, *extra)
        assert result.code == code, result.err
        assert message in result.err
        assert "Traceback" not in result.err and "bug" not in result.err
    assert count_resources(shared_sandbox) == before, "refused before anything was created"


def test_cidr_access_needs_a_public_subnet(cli, tmp_path: Path, shared_sandbox: str) -> None:
    ec2: Any = boto_client(shared_sandbox, "ec2")
    ids = _network(shared_sandbox, route=None)
    nat = ec2.create_nat_gateway(SubnetId=ids["subnet"])["NatGateway"]["NatGatewayId"]
    ec2.create_route(RouteTableId=ids["table"], DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat)
    network = f"  vpc_id: {ids['vpc']}\n  subnet_id: {ids['subnet']}\n"
    private = cli("--sandbox", "deploy", "-c", _config(tmp_path, "nat", network), "--dry-run")
    assert private.code == 0, private.err
    cidr = "access:\n  mode: cidr\n  allowed_cidrs: [203.0.113.0/24]\n"
    public = cli("--sandbox", "deploy", "-c", _config(tmp_path, "natcidr", network, cidr), "--dry-run")
    assert public.code == 3 and "access.mode cidr needs a public subnet" in public.err


def test_a_byo_vpc_dry_run_resolves_every_step_to_the_users_vpc_and_subnet(
    cli, tmp_path: Path, shared_sandbox: str
) -> None:
    ids = _network(shared_sandbox)
    config = _config(tmp_path, "byoplan", f"  vpc_id: {ids['vpc']}\n  subnet_id: {ids['subnet']}\n")
    plan = cli("--sandbox", "deploy", "-c", config, "--dry-run", "-o", "json")
    assert plan.code == 0, plan.err
    specs = {step["id"]: step["spec"] for step in json.loads(plan.out)["steps"]}
    assert specs["security-group"]["vpc"] == ids["vpc"]
    assert specs["mount-target"]["subnet"] == ids["subnet"]
    assert {group["subnet"] for group in specs["instance"]["launches"]} == {ids["subnet"]}
