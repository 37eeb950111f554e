"""Facts about GPU instance types and their prices, as plain frozen data."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class InstanceSpec:
    """Hardware of one EC2 GPU instance type."""

    instance_type: str
    family: str
    gpu: str
    gpu_count: int
    gpu_memory_gib: float
    vcpus: int
    memory_gib: float
    architecture: str


@dataclass(frozen=True)
class RegionPrice:
    """Snapshot prices of one instance type in one region; spot prices per AZ ID (None = unknown)."""

    instance_type: str
    region: str
    on_demand_usd_hour: float | None
    spot_usd_hour_by_zone_id: dict[str, float | None]

    @property
    def cheapest_spot_usd_hour(self) -> float | None:
        known = [price for price in self.spot_usd_hour_by_zone_id.values() if price is not None]
        return min(known) if known else None


@dataclass(frozen=True)
class GpuOffer:
    """One row of `geusemaker gpus`: an instance type in a region with its prices."""

    spec: InstanceSpec
    region: str
    on_demand_usd_hour: float | None
    spot_usd_hour: float | None

    def as_json(self) -> dict[str, object]:
        return {
            "instance_type": self.spec.instance_type,
            "gpu": self.spec.gpu,
            "gpu_count": self.spec.gpu_count,
            "gpu_memory_gib": self.spec.gpu_memory_gib,
            "vcpus": self.spec.vcpus,
            "memory_gib": self.spec.memory_gib,
            "region": self.region,
            "on_demand_usd_hour": self.on_demand_usd_hour,
            "spot_usd_hour": self.spot_usd_hour,
        }
