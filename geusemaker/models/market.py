"""Prices, quotas and placement facts as the planner sees them (frozen data, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

MarketKind = Literal["spot", "on-demand"]
CheckStatus = Literal["ok", "warn", "fail", "unknown"]

HOURS_PER_MONTH = 730


@dataclass(frozen=True)
class Price:
    """A price in USD and where it came from ("pricing-api", "spot-history", "snapshot 2026-11-22", ...)."""

    usd: float | None
    source: str

    @property
    def known(self) -> bool:
        return self.usd is not None


@dataclass(frozen=True)
class ResourceRates:
    """Per-region rates of what a stack costs besides the instance."""

    ebs_gp3_gb_month: Price
    efs_standard_gb_month: Price
    public_ipv4_hour: Price
    #: EBS snapshots (standard tier), billed per GB-month of the blocks they hold
    ebs_snapshot_gb_month: Price = Price(0.05, "documented fallback (us-east-1 list price, 2025)")


@dataclass(frozen=True)
class QuotaCheck:
    """Whether a vCPU quota leaves room for `needed` more vCPUs; value None = could not be read."""

    code: str
    name: str
    region: str
    needed: int
    value: float | None
    used: float

    @property
    def status(self) -> CheckStatus:
        if self.value is None:
            return "unknown"
        return "ok" if self.used + self.needed <= self.value else "fail"

    @property
    def detail(self) -> str:
        if self.value is None:
            return f"{self.code} ({self.name}) could not be read; assuming it allows {self.needed} vCPUs"
        return f"{self.code} ({self.name}): {self.value:g} vCPUs, {self.used:g} in use, {self.needed} needed"


@dataclass(frozen=True)
class Check:
    """One line of the plan's checks table."""

    name: str
    status: CheckStatus
    detail: str

    def as_json(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status, "detail": self.detail}


SpotRisk = Literal["low", "medium", "high"]
#: How much a spot placement's price is raised for ranking, by interruption risk (see docs/deploy.md).
RISK_SURCHARGE: dict[SpotRisk, float] = {"low": 0.0, "medium": 0.10, "high": 0.30}
#: Spot placement scores (1-10) at or below these are high / medium risk.
HIGH_RISK_SCORE = 3
MEDIUM_RISK_SCORE = 6
#: Spot prices at or above these shares of on-demand are high / medium risk (capacity is scarce).
HIGH_RISK_PRICE_RATIO = 0.8
MEDIUM_RISK_PRICE_RATIO = 0.5


def spot_risk(score: int | None, spot_usd: float | None, on_demand_usd: float | None) -> SpotRisk:
    """Interruption risk of a spot placement from its placement score and its price against on-demand.

    The worse of the two signals wins; with neither known the risk is medium.
    """
    ratio = spot_usd / on_demand_usd if spot_usd is not None and on_demand_usd else None
    if (score is not None and score <= HIGH_RISK_SCORE) or (ratio is not None and ratio >= HIGH_RISK_PRICE_RATIO):
        return "high"
    if score is None and ratio is None:
        return "medium"
    if (score is not None and score <= MEDIUM_RISK_SCORE) or (ratio is not None and ratio >= MEDIUM_RISK_PRICE_RATIO):
        return "medium"
    return "low"
