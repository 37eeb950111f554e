"""Typed specs of the launch: the launch template, the instance's launch groups, and the data volume."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from geusemaker.models.data_layout import DataLayout
from geusemaker.models.market import MarketKind
from geusemaker.models.replacement import ZoneTypes
from geusemaker.models.step_refs import Ref, Target
from geusemaker.models.steps import MountTargetSpec, Spec, SubnetSpec


@dataclass(frozen=True)
class BootSpec:
    """What the UserData is rendered from at launch (the config comes with the plan)."""

    region: str
    needs_driver_install: bool
    spot: bool
    file_system: Target | None = None
    #: where the data lives; None: what `storage.data` gives a new stack
    layout: DataLayout | None = None


@dataclass(frozen=True)
class LaunchTemplateSpec(Spec):
    kind: ClassVar[str] = "launch-template"
    template_name: str
    image_id: str
    security_group: Target
    instance_profile_arn: Target
    root_gb: int
    data_gb: int | None
    market: MarketKind
    boot: BootSpec
    metadata_hop_limit: int = 1

    def describe(self) -> str:
        volumes = "encrypted gp3 root" + (f" + {self.data_gb} GiB data" if self.data_gb else "")
        return f"create launch template (IMDSv2, {volumes}, UserData)"


@dataclass(frozen=True)
class LaunchGroup:
    """One CreateFleet try: instance types in one zone and market, in the subnet of that zone.

    A zone other than the first gets its subnet and mount target only when the launch falls back to it.
    """

    zone: str
    market: MarketKind
    instance_types: tuple[str, ...]
    hourly_usd: tuple[float | None, ...]
    subnet: Target | SubnetSpec
    mount_target: MountTargetSpec | None = None


@dataclass(frozen=True)
class InstanceSpec(Spec):
    kind: ClassVar[str] = "instance"
    launch_template: Target
    launches: tuple[LaunchGroup, ...]
    initial_market: MarketKind

    def describe(self) -> str:
        return "launch instance with CreateFleet (instant)"

    def refs(self) -> tuple[Ref, ...]:
        """Fallback zones' subnets are created by this step itself: they are not dependencies."""
        own = {fallback_subnet_step(g.zone) for g in self.launches if isinstance(g.subnet, SubnetSpec)}
        return tuple(ref for ref in super().refs() if ref.step not in own)


def fallback_subnet_step(zone: str) -> str:
    """The output name of the subnet a launch creates when it falls back to `zone`."""
    return f"subnet-{zone}"


@dataclass(frozen=True)
class DataVolumeSpec(Spec):
    """The stack's persistent data disk: encrypted gp3 in the instance's zone, kept unless deletion is asked for."""

    kind: ClassVar[str] = "data-volume"
    instance: Target
    zone: Target
    size_gb: int
    device: str = "/dev/sdf"
    volume_type: str = "gp3"
    encrypted: bool = True

    def describe(self) -> str:
        return f"create and attach encrypted {self.volume_type} data volume ({self.size_gb} GiB, kept on destroy)"


@dataclass(frozen=True)
class ReplacementSpec(Spec):
    """The Auto Scaling group of one that holds the launched instance and replaces it when AWS takes it."""

    kind: ClassVar[str] = "autoscaling-group"
    instance: Target
    zone: Target
    launch_template: Target
    shapes: tuple[ZoneTypes, ...]
    #: `market: spot-or-on-demand`: an on-demand group and an alarm take over when spot capacity is gone
    fallback_on_demand: bool = False

    def describe(self) -> str:
        extra = " and an on-demand fallback on no spot capacity" if self.fallback_on_demand else ""
        return f"hand the instance to an Auto Scaling group of one in its zone (automatic replacement{extra})"
