"""The Plan: frozen data describing what a deploy will create, where, and at what cost."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from geusemaker.models.access import exposure_json
from geusemaker.models.ami import ResolvedAmi
from geusemaker.models.config import DeploymentConfig
from geusemaker.models.data_layout import DataLayout, layout_for
from geusemaker.models.launch_specs import LaunchTemplateSpec
from geusemaker.models.market import HOURS_PER_MONTH, RISK_SURCHARGE, Check, MarketKind, QuotaCheck, SpotRisk, spot_risk
from geusemaker.models.steps import Step

#: The version of a saved plan's JSON (`deploy --dry-run --output json`) that `deploy --plan` reads.
PLAN_FORMAT = 1
#: How long a saved plan may be applied: spot and on-demand prices, capacity and images move within hours.
PLAN_VALID_S = 3600.0


@dataclass(frozen=True)
class Placement:
    """One candidate: an instance type in an AZ in a market, with its price and feasibility."""

    instance_type: str
    region: str
    zone_id: str
    availability_zone: str
    market: MarketKind
    instance_hourly_usd: float | None
    on_demand_hourly_usd: float | None
    price_source: str
    extras_hourly_usd: float = 0.0
    placement_score: int | None = None
    quota_check: QuotaCheck | None = None
    problems: tuple[str, ...] = ()

    @property
    def quota(self) -> str:
        """ok / fail / unknown."""
        return self.quota_check.status if self.quota_check else "unknown"

    @property
    def feasible(self) -> bool:
        return not self.problems

    @property
    def total_hourly_usd(self) -> float | None:
        return None if self.instance_hourly_usd is None else self.instance_hourly_usd + self.extras_hourly_usd

    @property
    def interruption_risk(self) -> SpotRisk | None:
        """Spot only: low / medium / high, from the placement score and the price against on-demand."""
        if self.market != "spot":
            return None
        return spot_risk(self.placement_score, self.instance_hourly_usd, self.on_demand_hourly_usd)

    @property
    def risk_adjusted_hourly_usd(self) -> float | None:
        """What ranking compares: the total, with the instance price raised by the spot risk surcharge."""
        total = self.total_hourly_usd
        risk = self.interruption_risk
        if total is None or risk is None or self.instance_hourly_usd is None:
            return total
        return total + self.instance_hourly_usd * RISK_SURCHARGE[risk]

    def as_json(self) -> dict[str, Any]:
        return {
            "instance_type": self.instance_type,
            "region": self.region,
            "availability_zone": self.availability_zone,
            "zone_id": self.zone_id,
            "market": self.market,
            "instance_hourly_usd": self.instance_hourly_usd,
            "on_demand_hourly_usd": self.on_demand_hourly_usd,
            "price_source": self.price_source,
            "extras_hourly_usd": self.extras_hourly_usd,
            "placement_score": self.placement_score,
            "interruption_risk": self.interruption_risk,
            "quota": self.quota,
        }


@dataclass(frozen=True)
class CostItem:
    name: str
    hourly_usd: float | None
    source: str = ""


@dataclass(frozen=True)
class CostBreakdown:
    """What the whole stack costs per hour, with line items."""

    items: tuple[CostItem, ...]
    spot_savings_pct: float | None
    price_source: str

    @property
    def hourly_usd(self) -> float | None:
        if any(item.hourly_usd is None for item in self.items):
            return None
        return round(sum(item.hourly_usd or 0.0 for item in self.items), 6)

    @property
    def daily_usd(self) -> float | None:
        hourly = self.hourly_usd
        return None if hourly is None else round(hourly * 24, 2)

    @property
    def monthly_usd(self) -> float | None:
        hourly = self.hourly_usd
        return None if hourly is None else round(hourly * HOURS_PER_MONTH, 2)

    def as_json(self) -> dict[str, Any]:
        return {
            "hourly_usd": self.hourly_usd,
            "daily_usd": self.daily_usd,
            "monthly_usd": self.monthly_usd,
            "spot_savings_pct": self.spot_savings_pct,
            "items": [{"name": i.name, "hourly_usd": i.hourly_usd, "source": i.source} for i in self.items],
            "price_source": self.price_source,
        }


@dataclass(frozen=True)
class RegionSteps:
    """The steps that run in one region (the planned one, or one that region failover moves to)."""

    region: str
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class UserDataSize:
    bytes: int
    compressed: bool

    def as_json(self) -> dict[str, Any]:
        return {"bytes": self.bytes, "compressed": self.compressed}


@dataclass(frozen=True)
class Plan:
    """Everything `deploy` will do, decided before anything is created."""

    config: DeploymentConfig
    placement: Placement
    fallbacks: tuple[Placement, ...]
    candidates: tuple[Placement, ...]
    cost: CostBreakdown
    ami: ResolvedAmi
    checks: tuple[Check, ...]
    steps: tuple[Step, ...]
    notes: tuple[str, ...] = ()
    userdata: UserDataSize | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    #: the steps of every region the deploy may run in: the planned one first, then region failover
    regions: tuple[RegionSteps, ...] = ()
    #: the AWS account planned for (its id is in the role's policies)
    account: str = ""
    #: when it was planned (seconds since the epoch); a saved plan is applied only while its prices hold
    planned_at: float = 0.0

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def data_layout(self) -> DataLayout:
        """Where the stack's data lives: as its launch template's boot says (a kept old stack keeps its own)."""
        for step in self.steps:
            if isinstance(step.spec, LaunchTemplateSpec) and step.spec.boot.layout:
                return step.spec.boot.layout
        return layout_for(self.config.storage.data)

    def storage_warnings(self) -> list[str]:
        """What the user should know about where this plan keeps the data."""
        return self.config.storage.warnings(self.data_layout)

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "placement": self.placement.as_json(),
            "fallbacks": [p.as_json() for p in self.fallbacks],
            "cost": self.cost.as_json(),
            "ami": {
                "id": self.ami.image_id,
                "name": self.ami.name,
                "source": self.ami.source,
                "needs_driver_install": self.ami.needs_driver_install,
                "architecture": self.ami.architecture,
                "release": self.ami.release,
            },
            "checks": [c.as_json() for c in self.checks],
            "format": PLAN_FORMAT,
            "account": self.account,
            "planned_at": self.planned_at,
            "valid_until": self.planned_at + PLAN_VALID_S,
            "config": self.config.model_dump(mode="json"),
            "steps": [s.as_json() for s in self.steps],
            "regions": [{"region": r.region, "steps": [s.as_json() for s in r.steps]} for r in self.regions],
            "candidates": [
                {**c.as_json(), "feasible": c.feasible, "problems": list(c.problems)} for c in self.candidates
            ],
            "userdata": self.userdata.as_json() if self.userdata else None,
            "notes": list(self.notes),
            "access": exposure_json(self.config),
            "storage": {
                "data": self.config.storage.data,
                "layout": self.data_layout,
                "warnings": self.storage_warnings(),
            },
            **self.extra,
        }
