"""Read a VPC the user brought (and its subnets and route tables); GeuseMaker never changes them."""

from __future__ import annotations

from typing import Any

from geusemaker.models.network import Egress, ExistingNetwork, ExistingSubnet
from geusemaker.services.aws import AwsClients, translate_errors

ANYWHERE = "0.0.0.0/0"


class ExistingNetworkService:
    """Describes an existing VPC in one region; raises `NotFoundError` for an unknown VPC or subnet."""

    def __init__(self, clients: AwsClients, region: str) -> None:
        self._ec2 = clients.client("ec2", region)
        self.region = region

    def describe(self, vpc_id: str, subnet_id: str | None = None) -> ExistingNetwork:
        """The VPC and either the named subnet (wherever it is) or every subnet of the VPC."""
        with translate_errors("ec2:DescribeVpcs"):
            self._ec2.describe_vpcs(VpcIds=[vpc_id])
        with translate_errors("ec2:DescribeSubnets"):
            if subnet_id:
                subnets = self._ec2.describe_subnets(SubnetIds=[subnet_id])["Subnets"]
            else:
                pages = self._ec2.get_paginator("describe_subnets").paginate(
                    Filters=[{"Name": "vpc-id", "Values": [vpc_id]}]
                )
                subnets = [s for page in pages for s in page["Subnets"]]
        tables = self._route_tables({vpc_id, *(str(s["VpcId"]) for s in subnets)})
        return ExistingNetwork(vpc_id, self.region, tuple(_subnet(s, tables) for s in subnets))

    def _route_tables(self, vpc_ids: set[str]) -> list[dict[str, Any]]:
        with translate_errors("ec2:DescribeRouteTables"):
            pages = self._ec2.get_paginator("describe_route_tables").paginate(
                Filters=[{"Name": "vpc-id", "Values": sorted(vpc_ids)}]
            )
            return [t for page in pages for t in page["RouteTables"]]


def _subnet(subnet: dict[str, Any], tables: list[dict[str, Any]]) -> ExistingSubnet:
    table = _route_table_of(str(subnet["SubnetId"]), str(subnet["VpcId"]), tables)
    return ExistingSubnet(
        subnet_id=str(subnet["SubnetId"]),
        vpc_id=str(subnet["VpcId"]),
        availability_zone=str(subnet["AvailabilityZone"]),
        zone_id=str(subnet.get("AvailabilityZoneId", "")),
        egress=_egress(table),
        public_ip_on_launch=bool(subnet.get("MapPublicIpOnLaunch")),
        route_table_id=str(table["RouteTableId"]) if table else None,
    )


def _route_table_of(subnet_id: str, vpc_id: str, tables: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The table explicitly associated with the subnet, else the VPC's main table (as EC2 routes)."""
    for table in tables:
        if any(a.get("SubnetId") == subnet_id for a in table.get("Associations", [])):
            return table
    return next(
        (t for t in tables if t.get("VpcId") == vpc_id and any(a.get("Main") for a in t.get("Associations", []))),
        None,
    )


def _egress(table: dict[str, Any] | None) -> Egress:
    """internet-gateway, nat (a NAT gateway, transit gateway or appliance), or none."""
    for route in (table or {}).get("Routes", []):
        if route.get("DestinationCidrBlock") != ANYWHERE or route.get("State") == "blackhole":
            continue
        if str(route.get("GatewayId", "")).startswith("igw-"):
            return "internet-gateway"
        return "nat"
    return "none"
