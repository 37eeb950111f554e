"""Cost of a stack: instance plus volumes, file system and public IPv4, per hour/day/month."""

from __future__ import annotations

from geusemaker.models.config import DeploymentConfig
from geusemaker.models.market import HOURS_PER_MONTH, ResourceRates
from geusemaker.models.plan import CostBreakdown, CostItem, Placement

#: EFS is billed per GB stored; this is the estimate used before anything is stored (models + data).
EFS_ESTIMATE_GB = 50
BUDGET_WARNING_SHARE = 0.8


def extras(config: DeploymentConfig, rates: ResourceRates) -> list[CostItem]:
    """Line items besides the instance (they depend on the region only)."""
    gp3 = rates.ebs_gp3_gb_month
    items = [_monthly(f"root volume ({config.storage.root_gb} GiB gp3)", config.storage.root_gb, gp3.usd, gp3.source)]
    if config.storage.data == "ebs":
        size = config.storage.data_volume_gb
        items.append(_monthly(f"data volume ({size} GiB gp3)", size, gp3.usd, gp3.source))
    elif config.storage.data == "efs":
        efs = rates.efs_standard_gb_month
        items.append(_monthly(f"EFS (estimate: {EFS_ESTIMATE_GB} GiB stored)", EFS_ESTIMATE_GB, efs.usd, efs.source))
    ipv4 = rates.public_ipv4_hour
    items.append(CostItem("public IPv4 address", ipv4.usd, ipv4.source))
    return items


def extras_hourly(config: DeploymentConfig, rates: ResourceRates) -> float:
    return round(sum(item.hourly_usd or 0.0 for item in extras(config, rates)), 6)


def breakdown(config: DeploymentConfig, placement: Placement, rates: ResourceRates) -> CostBreakdown:
    """The whole stack's cost at `placement`."""
    instance = CostItem(
        f"instance ({placement.instance_type}, {placement.market})",
        placement.instance_hourly_usd,
        placement.price_source,
    )
    savings = None
    if placement.market == "spot" and placement.instance_hourly_usd and placement.on_demand_hourly_usd:
        savings = round((1 - placement.instance_hourly_usd / placement.on_demand_hourly_usd) * 100, 1)
    return CostBreakdown((instance, *extras(config, rates)), savings, placement.price_source)


def _monthly(name: str, gb: int, usd_per_gb_month: float | None, source: str) -> CostItem:
    hourly = None if usd_per_gb_month is None else round(gb * usd_per_gb_month / HOURS_PER_MONTH, 6)
    return CostItem(name, hourly, source)


def kept_data_monthly(
    config: DeploymentConfig, kinds: set[str], rates: ResourceRates, snapshot_gb: int = 0
) -> float | None:
    """$/month of a stack's kept data: its data volume (gp3) or file system (EFS estimate), the snapshots it
    keeps (their size: an upper bound, AWS bills the blocks they hold); secrets are free.

    None when a rate is unknown.
    """
    total = 0.0
    if snapshot_gb:
        if rates.ebs_snapshot_gb_month.usd is None:
            return None
        total += snapshot_gb * rates.ebs_snapshot_gb_month.usd
    if "data-volume" in kinds:
        if rates.ebs_gp3_gb_month.usd is None:
            return None
        total += config.storage.data_volume_gb * rates.ebs_gp3_gb_month.usd
    if "file-system" in kinds:
        if rates.efs_standard_gb_month.usd is None:
            return None
        total += EFS_ESTIMATE_GB * rates.efs_standard_gb_month.usd
    return round(total, 2)
