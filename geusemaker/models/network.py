"""An existing VPC and its subnets as AWS describes them (bring your own network)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: How a subnet reaches the internet: its route table's default route.
Egress = Literal["internet-gateway", "nat", "none"]


@dataclass(frozen=True)
class ExistingSubnet:
    """One subnet of the user's VPC, with what decides whether an instance there can boot the stack."""

    subnet_id: str
    vpc_id: str
    availability_zone: str
    zone_id: str
    egress: Egress
    public_ip_on_launch: bool
    route_table_id: str | None

    @property
    def public(self) -> bool:
        """Instances get a public address and reach the internet through the VPC's internet gateway."""
        return self.egress == "internet-gateway" and self.public_ip_on_launch

    def outbound_problem(self, needs_public_ip: bool) -> str | None:
        """Why an instance here could not pull images, reach SSM or be reached from allowed CIDRs; None if it can."""
        route = f"route table {self.route_table_id}" if self.route_table_id else "no route table"
        if self.egress == "none":
            return (
                f"subnet {self.subnet_id} has no default route (0.0.0.0/0) to an internet gateway or NAT gateway "
                f"({route}): the instance could not pull images or reach SSM"
            )
        if self.egress == "internet-gateway" and not self.public_ip_on_launch:
            return (
                f"subnet {self.subnet_id} routes to an internet gateway but does not assign public IPv4 addresses "
                "(MapPublicIpOnLaunch is off): the instance would have no way out"
            )
        if needs_public_ip and not self.public:
            return (
                f"subnet {self.subnet_id} is private (egress through a NAT gateway): access.mode cidr needs a public "
                "subnet to be reached from access.allowed_cidrs"
            )
        return None


@dataclass(frozen=True)
class ExistingNetwork:
    """The user's VPC and the subnets GeuseMaker may launch into (only `subnet_id` when one is named)."""

    vpc_id: str
    region: str
    subnets: tuple[ExistingSubnet, ...]
