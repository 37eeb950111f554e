"""ExistingNetworkService against moto: the user's subnets with their egress, read and never changed."""

from __future__ import annotations

from geusemaker.services.existing_network import ExistingNetworkService
from tests.awsfakes import inprocess_aws

REGION = "us-east-1"


def test_a_public_subnet_and_a_private_one_are_told_apart() -> None:
    with inprocess_aws(REGION) as clients:
        ec2 = clients.client("ec2", REGION)
        vpc = ec2.create_vpc(CidrBlock="10.6.0.0/16")["Vpc"]["VpcId"]
        public = ec2.create_subnet(VpcId=vpc, CidrBlock="10.6.1.0/24", AvailabilityZone="us-east-1a")["Subnet"]
        private = ec2.create_subnet(VpcId=vpc, CidrBlock="10.6.2.0/24", AvailabilityZone="us-east-1b")["Subnet"]
        ec2.modify_subnet_attribute(SubnetId=public["SubnetId"], MapPublicIpOnLaunch={"Value": True})
        igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
        table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
        ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
        ec2.associate_route_table(RouteTableId=table, SubnetId=public["SubnetId"])
        network = ExistingNetworkService(clients, REGION).describe(vpc)
        by_id = {s.subnet_id: s for s in network.subnets}
        assert by_id[public["SubnetId"]].public and by_id[public["SubnetId"]].route_table_id == table
        assert not by_id[private["SubnetId"]].public
        only = ExistingNetworkService(clients, REGION).describe(vpc, private["SubnetId"])
        assert [s.subnet_id for s in only.subnets] == [private["SubnetId"]]
