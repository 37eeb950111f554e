"""Replacement on AWS's own machinery: the names and the shape of a stack's Auto Scaling group of one.

The CLI launches the instance with an instant fleet and hands it to a group (min 0, max 1) in the data
volume's zone; when AWS takes the instance (a spot interruption, a rebalance, a failed health check)
the group launches a replacement from the stack's launch template, whose boot attaches the same data
volume. With `market: spot-or-on-demand` a CloudWatch alarm on the group's missing instance moves the
stack to a second, on-demand group when spot capacity stays gone.
"""

from __future__ import annotations

from dataclasses import dataclass

#: a GPU boot (driver check, images, models) takes minutes: the group does not judge it before this
HEALTH_GRACE_S = 900
#: the alarm that moves a spot stack to on-demand: an instance wanted and not in service for this many minutes
NO_SPOT_MINUTES = 10
#: CloudWatch standard-resolution alarm, per month (billed while it exists, stopped or not)
ALARM_MONTHLY_USD = 0.10
#: the scaling policies the alarm runs: the spot group to 0, the on-demand group to 1
SPOT_OFF_POLICY = "spot-to-zero"
ON_DEMAND_ON_POLICY = "on-demand-to-one"


def group_name(deployment: str, stack_id: str) -> str:
    """The stack's Auto Scaling group: its name and the first 8 characters of its stack id."""
    return f"gm-{deployment}-{stack_id[:8]}"


def fallback_group_name(deployment: str, stack_id: str) -> str:
    """The on-demand group that takes over when spot capacity is gone."""
    return f"{group_name(deployment, stack_id)}-od"


def alarm_name(deployment: str, stack_id: str) -> str:
    """The alarm that fires when the spot group has wanted an instance it lacked for `NO_SPOT_MINUTES`."""
    return f"{group_name(deployment, stack_id)}-no-spot"


def policy_name(group: str, policy: str) -> str:
    """Scaling policy names are unique per group; the group's name keeps them apart across stacks too."""
    return f"{group}-{policy}"


@dataclass(frozen=True)
class ZoneTypes:
    """The instance types the plan offers in one zone and market (the group's overrides there)."""

    zone: str
    market: str
    instance_types: tuple[str, ...]
    hourly_usd: tuple[float | None, ...] = ()

    def price(self, instance_type: str) -> float | None:
        """The planned hourly price of `instance_type` here (None when not planned)."""
        if instance_type in self.instance_types and len(self.hourly_usd) == len(self.instance_types):
            return self.hourly_usd[self.instance_types.index(instance_type)]
        return None


def overrides_for(shapes: tuple[ZoneTypes, ...], zone: str, market: str) -> tuple[str, ...]:
    """The planned types of `zone` in `market` (types of the zone's other market when it has none), in plan order."""
    chosen = [s for s in shapes if s.zone == zone and s.market == market] or [s for s in shapes if s.zone == zone]
    return tuple(dict.fromkeys(t for s in chosen for t in s.instance_types))


def planned_price(shapes: tuple[ZoneTypes, ...], zone: str, market: str, instance_type: str) -> float | None:
    """The plan's hourly price of `instance_type` in `zone` and `market`; on-demand prices are the same in every
    zone of a region, so another zone's answers for on-demand. None when the plan did not price it."""
    for shape in sorted(shapes, key=lambda s: s.zone != zone):
        if shape.market != market or (shape.zone != zone and market != "on-demand"):
            continue
        if shape.price(instance_type) is not None:
            return shape.price(instance_type)
    return None
