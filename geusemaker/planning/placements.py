"""One candidate placement: a type in a zone and market, its price, placement score and vCPU quota."""

from __future__ import annotations

from dataclasses import replace

from geusemaker.models.catalog import InstanceSpec
from geusemaker.models.market import MarketKind, QuotaCheck
from geusemaker.models.plan import Placement
from geusemaker.models.quotas import QUOTA_NAMES, quota_code, quota_group
from geusemaker.planning.gather import Facts, RegionFacts


def merge_live(catalog_spec: InstanceSpec, live: InstanceSpec | None) -> InstanceSpec:
    """Live facts win, but the GPU keeps the catalog's name (the alias space users choose from)."""
    if live is None:
        return catalog_spec
    return replace(live, gpu=catalog_spec.gpu, gpu_memory_gib=live.gpu_memory_gib or catalog_spec.gpu_memory_gib)


def placement_of(
    spec: InstanceSpec,
    facts: RegionFacts,
    zone_id: str,
    zone_name: str,
    market: MarketKind,
    extras: float,
    all_facts: Facts,
) -> Placement:
    """`spec` in one zone and market, priced from the region's facts (spot: by zone, with its placement score)."""
    on_demand = facts.on_demand.get(spec.instance_type)
    price = facts.spot.get((spec.instance_type, zone_id)) if market == "spot" else on_demand
    score = all_facts.scores.get(spec.instance_type, {}).get((facts.region, zone_id)) if market == "spot" else None
    return Placement(
        instance_type=spec.instance_type,
        region=facts.region,
        zone_id=zone_id,
        availability_zone=zone_name,
        market=market,
        instance_hourly_usd=price.usd if price else None,
        on_demand_hourly_usd=on_demand.usd if on_demand else None,
        price_source=price.source if price else "unknown",
        extras_hourly_usd=extras,
        placement_score=score,
    )


def quota_check(facts: RegionFacts, spec: InstanceSpec, market: MarketKind) -> QuotaCheck | None:
    """The vCPU quota `spec` would draw on in `market` (None: a type no quota covers)."""
    code = quota_code(spec.instance_type, market)
    if code is None:
        return None
    used = facts.used_vcpus.get((quota_group(spec.instance_type), market), 0.0)
    return QuotaCheck(code, QUOTA_NAMES[code], facts.region, spec.vcpus, facts.quotas.get(code), used)
