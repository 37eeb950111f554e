"""VPC, public subnets, internet gateway, route table and security group of a deployment."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import Any

from geusemaker.errors import NotFoundError
from geusemaker.models.tags import tag_list
from geusemaker.services.aws import AwsClients, retry_codes, translate_errors

NFS_PORT = 2049
_DRAINING = frozenset({"DependencyViolation", "InvalidGroup.InUse"})


class NetworkService:
    """Creates and deletes the network resources; every create is tagged at creation."""

    def __init__(self, clients: AwsClients, region: str, sleep: Callable[[float], None] | None = None) -> None:
        self._ec2 = clients.client("ec2", region)
        self._sleep = sleep or time.sleep

    def _spec(self, resource_type: str, deployment: str, kind: str, user_tags: dict[str, str]) -> list[dict[str, Any]]:
        return [{"ResourceType": resource_type, "Tags": tag_list(deployment, kind, user_tags)}]

    def create_vpc(self, deployment: str, user_tags: dict[str, str], cidr: str) -> str:
        with translate_errors("ec2:CreateVpc"):
            vpc_id = self._ec2.create_vpc(
                CidrBlock=cidr, TagSpecifications=self._spec("vpc", deployment, "vpc", user_tags)
            )["Vpc"]["VpcId"]
        return str(vpc_id)

    def enable_dns(self, vpc_id: str) -> None:
        """EFS mount targets resolve by DNS name: the VPC needs DNS support and hostnames."""
        with translate_errors("ec2:ModifyVpcAttribute"):
            self._ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsSupport={"Value": True})
            self._ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})

    def create_subnet(self, deployment: str, vpc_id: str, zone: str, cidr: str, user_tags: dict[str, str]) -> str:
        with translate_errors("ec2:CreateSubnet"):
            subnet_id = self._ec2.create_subnet(
                VpcId=vpc_id,
                CidrBlock=cidr,
                AvailabilityZone=zone,
                TagSpecifications=self._spec("subnet", deployment, "subnet", user_tags),
            )["Subnet"]["SubnetId"]
        return str(subnet_id)

    def subnet_cidrs(self, vpc_id: str) -> set[str]:
        """The CIDR blocks of the subnets of `vpc_id` (to choose a free one)."""
        with translate_errors("ec2:DescribeSubnets"):
            subnets = self._ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
        return {str(subnet["CidrBlock"]) for subnet in subnets}

    def enable_public_ips(self, subnet_id: str) -> None:
        """Instances get a public IPv4 address (egress to pull images without a NAT gateway)."""
        with translate_errors("ec2:ModifySubnetAttribute"):
            self._ec2.modify_subnet_attribute(SubnetId=subnet_id, MapPublicIpOnLaunch={"Value": True})

    def create_internet_gateway(self, deployment: str, user_tags: dict[str, str]) -> str:
        with translate_errors("ec2:CreateInternetGateway"):
            igw = self._ec2.create_internet_gateway(
                TagSpecifications=self._spec("internet-gateway", deployment, "internet-gateway", user_tags)
            )["InternetGateway"]["InternetGatewayId"]
        return str(igw)

    def attach_internet_gateway(self, igw_id: str, vpc_id: str) -> None:
        with translate_errors("ec2:AttachInternetGateway"):
            self._ec2.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)

    def create_route_table(self, deployment: str, vpc_id: str, user_tags: dict[str, str]) -> str:
        with translate_errors("ec2:CreateRouteTable"):
            table = self._ec2.create_route_table(
                VpcId=vpc_id, TagSpecifications=self._spec("route-table", deployment, "route-table", user_tags)
            )["RouteTable"]["RouteTableId"]
        return str(table)

    def add_default_route(self, table_id: str, igw_id: str, destination: str = "0.0.0.0/0") -> None:
        with translate_errors("ec2:CreateRoute"):
            self._ec2.create_route(RouteTableId=table_id, DestinationCidrBlock=destination, GatewayId=igw_id)

    def associate(self, route_table_id: str, subnet_id: str) -> str:
        with translate_errors("ec2:AssociateRouteTable"):
            return str(
                self._ec2.associate_route_table(RouteTableId=route_table_id, SubnetId=subnet_id)["AssociationId"]
            )

    def create_security_group(
        self, group_name: str, description: str, vpc_id: str, deployment: str, user_tags: dict[str, str]
    ) -> str:
        """A group with no inbound rules yet (outbound open, as EC2 creates it)."""
        with translate_errors("ec2:CreateSecurityGroup"):
            group = self._ec2.create_security_group(
                GroupName=group_name,
                Description=description,
                VpcId=vpc_id,
                TagSpecifications=self._spec("security-group", deployment, "security-group", user_tags),
            )["GroupId"]
        return str(group)

    def allow_ingress(self, group: str, ingress: list[tuple[int, str]], nfs_from_self: bool = True) -> None:
        """Only the given (port, CIDR) pairs, plus NFS from the group itself (for EFS)."""
        permissions: list[dict[str, Any]] = []
        if nfs_from_self:
            permissions.append(
                {
                    "IpProtocol": "tcp",
                    "FromPort": NFS_PORT,
                    "ToPort": NFS_PORT,
                    "UserIdGroupPairs": [{"GroupId": group}],
                }
            )
        permissions += [
            {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, **_ip_range(cidr)} for port, cidr in ingress
        ]
        with translate_errors("ec2:AuthorizeSecurityGroupIngress"):
            self._ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=permissions)

    # -- deletes (a resource already gone counts as deleted) ------------------------------------
    def delete_security_group(self, group_id: str) -> None:
        self._delete(lambda: self._ec2.delete_security_group(GroupId=group_id), "ec2:DeleteSecurityGroup")

    def delete_route_table(self, table_id: str) -> None:
        try:
            with translate_errors("ec2:DescribeRouteTables"):
                tables = self._ec2.describe_route_tables(RouteTableIds=[table_id])["RouteTables"]
        except NotFoundError:
            return
        for association in tables[0].get("Associations", []) if tables else []:
            if not association.get("Main"):
                association_id = association["RouteTableAssociationId"]
                unlink = partial(self._ec2.disassociate_route_table, AssociationId=association_id)
                self._delete(unlink, "ec2:DisassociateRouteTable")
        self._delete(lambda: self._ec2.delete_route_table(RouteTableId=table_id), "ec2:DeleteRouteTable")

    def delete_internet_gateway(self, igw_id: str) -> None:
        try:
            with translate_errors("ec2:DescribeInternetGateways"):
                gateways = self._ec2.describe_internet_gateways(InternetGatewayIds=[igw_id])["InternetGateways"]
        except NotFoundError:
            return
        for attachment in gateways[0].get("Attachments", []) if gateways else []:
            detach = partial(self._ec2.detach_internet_gateway, InternetGatewayId=igw_id, VpcId=attachment["VpcId"])
            self._delete(detach, "ec2:DetachInternetGateway")
        self._delete(lambda: self._ec2.delete_internet_gateway(InternetGatewayId=igw_id), "ec2:DeleteInternetGateway")

    def delete_subnet(self, subnet_id: str) -> None:
        self._release_stale_interfaces(subnet_id)
        self._delete(lambda: self._ec2.delete_subnet(SubnetId=subnet_id), "ec2:DeleteSubnet")

    def _release_stale_interfaces(self, subnet_id: str) -> None:
        """Delete network interfaces left in our subnet (detached, or of a terminated instance)."""
        with translate_errors("ec2:DescribeNetworkInterfaces"):
            interfaces = self._ec2.describe_network_interfaces(Filters=[{"Name": "subnet-id", "Values": [subnet_id]}])
        for interface in interfaces["NetworkInterfaces"]:
            if interface.get("RequesterManaged"):
                continue  # EFS mount targets and the like go with their owner
            instance = interface.get("Attachment", {}).get("InstanceId")
            if interface.get("Status") != "available" and not (instance and self._terminated(instance)):
                continue
            remove = partial(self._ec2.delete_network_interface, NetworkInterfaceId=interface["NetworkInterfaceId"])
            self._delete(remove, "ec2:DeleteNetworkInterface")

    def _terminated(self, instance_id: str) -> bool:
        try:
            with translate_errors("ec2:DescribeInstances"):
                reservations = self._ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
        except NotFoundError:
            return True
        states = [i["State"]["Name"] for r in reservations for i in r["Instances"]]
        return not states or all(state == "terminated" for state in states)

    def delete_vpc(self, vpc_id: str) -> None:
        self._delete(lambda: self._ec2.delete_vpc(VpcId=vpc_id), "ec2:DeleteVpc")

    def _delete(self, call: Callable[[], Any], operation: str) -> None:
        def attempt() -> None:
            with translate_errors(operation):
                call()

        try:
            retry_codes(attempt, _DRAINING, sleep=self._sleep)
        except NotFoundError:
            return


def _ip_range(cidr: str) -> dict[str, Any]:
    """The IpRanges (IPv4) or Ipv6Ranges entry of an ingress rule for `cidr`."""
    description = "geusemaker access.allowed_cidrs"
    if ":" in cidr:
        return {"Ipv6Ranges": [{"CidrIpv6": cidr, "Description": description}]}
    return {"IpRanges": [{"CidrIp": cidr, "Description": description}]}
