"""Bring your own VPC: which of the user's subnets an instance may be launched into, or why none."""

from __future__ import annotations

from collections.abc import Sequence

from geusemaker.errors import NotFoundError, PreconditionError, UsageError
from geusemaker.models.config import DeploymentConfig
from geusemaker.models.market import Check
from geusemaker.models.network import ExistingNetwork, ExistingSubnet
from geusemaker.models.plan import Placement

NETWORK_HINT = (
    "GeuseMaker never changes your VPC, subnets or route tables: give the subnet a default route to an internet "
    "gateway (with auto-assigned public IPv4) or a NAT gateway, or leave network empty to get a VPC of its own."
)


def gathered(config: DeploymentConfig, outcome: object) -> ExistingNetwork | None:
    """The user's VPC as the planner gathered it (or the error it raised), None when the stack gets its own VPC."""
    if isinstance(outcome, NotFoundError):
        raise missing(config, outcome)
    if isinstance(outcome, Exception):
        raise outcome
    return outcome if isinstance(outcome, ExistingNetwork) else None


def missing(config: DeploymentConfig, error: NotFoundError) -> UsageError:
    """An unknown VPC or subnet, named by its configuration field."""
    network = config.network
    subnet = "subnet" in error.code.lower()
    field, value = ("network.subnet_id", network.subnet_id) if subnet else ("network.vpc_id", network.vpc_id)
    return UsageError(
        f"{field}: {value} does not exist in {config.region}",
        hint="Check the id and the region (a VPC and its subnets live in one region).",
    )


def usable_subnets(config: DeploymentConfig, network: ExistingNetwork) -> dict[str, ExistingSubnet]:
    """One subnet per availability zone (name -> subnet) that can run the stack; raises when there is none."""
    wanted = config.network.subnet_id
    for subnet in network.subnets:
        if subnet.vpc_id != network.vpc_id:
            raise UsageError(
                f"network.subnet_id: {subnet.subnet_id} belongs to {subnet.vpc_id}, not to network.vpc_id "
                f"{network.vpc_id}",
                hint="Name the subnet's own VPC, or a subnet of this VPC.",
            )
    if not network.subnets:
        raise PreconditionError(
            f"network.vpc_id: {network.vpc_id} has no subnets in {network.region}", hint=NETWORK_HINT
        )
    needs_public_ip = config.access.mode == "cidr"
    problems = {s.subnet_id: s.outbound_problem(needs_public_ip) for s in network.subnets}
    usable = sorted(
        (s for s in network.subnets if problems[s.subnet_id] is None), key=lambda s: (not s.public, s.subnet_id)
    )
    if not usable:
        raise PreconditionError(
            f"network.subnet_id: {wanted} cannot run the stack"
            if wanted
            else f"network.vpc_id: no subnet of {network.vpc_id} can run the stack",
            details=[p for p in problems.values() if p],
            hint=NETWORK_HINT,
        )
    chosen: dict[str, ExistingSubnet] = {}
    for subnet in usable:
        chosen.setdefault(subnet.availability_zone, subnet)
    return chosen


def in_subnet_zones(
    candidates: Sequence[Placement], subnets: dict[str, ExistingSubnet], instance_types: Sequence[str]
) -> list[Placement]:
    """Only placements in a zone that has a usable subnet; raises when the subnets' zones offer none of the types."""
    kept = [c for c in candidates if c.availability_zone in subnets]
    if candidates and not kept:
        offered = sorted({c.availability_zone for c in candidates})
        raise PreconditionError(
            f"{', '.join(instance_types)} is not offered in the availability zone of the subnet "
            f"({', '.join(sorted(subnets))})",
            details=[f"offered in: {', '.join(offered)}"],
            hint="Use a subnet in one of those zones, or another instance type.",
        )
    return kept


def network_check(network: ExistingNetwork, subnets: dict[str, ExistingSubnet]) -> Check:
    """The plan's line about the user's network."""
    described = ", ".join(f"{s.subnet_id} in {zone} (egress: {s.egress})" for zone, s in sorted(subnets.items()))
    return Check("network", "ok", f"existing VPC {network.vpc_id}, left unchanged; subnets: {described}")
