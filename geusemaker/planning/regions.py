"""Which regions a plan asks AWS about: only enabled ones, and the snapshot's cheapest first."""

from __future__ import annotations

import math
from collections.abc import Sequence

from geusemaker.catalog import Catalog
from geusemaker.errors import PreconditionError
from geusemaker.models.market import MarketKind
from geusemaker.models.regions import OPT_IN_REGIONS, enable_region_command
from geusemaker.planning.gather import Facts
from geusemaker.services.aws import AwsClients
from geusemaker.services.ec2 import Ec2Service

#: `region: auto` first asks AWS about the snapshot's cheapest regions: at least FIRST_WAVE, and every
#: region within FIRST_WAVE_SPREAD of the cheapest (up to FIRST_WAVE_MAX); then only about regions whose
#: snapshot price could still beat the best placement found.
FIRST_WAVE = 3
FIRST_WAVE_SPREAD = 0.15
FIRST_WAVE_MAX = 8
#: How far below its snapshot price a region's live price may fall beyond what the regions asked so far
#: show (live prices drift from the snapshot together, not region by region).
LIVE_PRICE_MARGIN = 0.1


def enabled_regions(ec2: Ec2Service, regions: Sequence[str], *, searching: bool) -> tuple[list[str], list[str]]:
    """(usable regions, opt-in regions the account has not enabled); DescribeRegions is asked only
    when an opt-in region is among `regions`."""
    if not any(r in OPT_IN_REGIONS for r in regions):
        return list(regions), []
    disabled = disabled_regions(ec2.opt_in_status(), regions, searching=searching)
    return [r for r in regions if r not in disabled], disabled


def disabled_regions(status: dict[str, str] | None, regions: Sequence[str], *, searching: bool) -> list[str]:
    """The opt-in regions of `regions` that DescribeRegions' `status` says are not enabled.

    A region named explicitly that is not enabled is an error; a search skips it. When the status
    could not be read (None), a search skips every opt-in region and a named region is tried as it is.
    """
    opt_in = [r for r in regions if r in OPT_IN_REGIONS]
    if status is None:
        disabled = opt_in if searching else []
    else:
        disabled = [r for r in opt_in if status.get(r, "not-opted-in") == "not-opted-in"]
    if disabled and not searching:
        region = disabled[0]
        raise PreconditionError(
            f"region {region} is an opt-in region that this AWS account has not enabled",
            hint=f"Enable it (takes a few minutes): {enable_region_command(region)}; or choose another region.",
        )
    return disabled


def not_enabled_note(disabled: Sequence[str]) -> str:
    return (
        f"skipped {len(disabled)} opt-in regions this account has not enabled ({', '.join(disabled)}); "
        f"to search one too, enable it: {enable_region_command('NAME')}"
    )


def snapshot_bounds(
    catalog: Catalog, instance_types: Sequence[str], regions: Sequence[str], markets: Sequence[MarketKind]
) -> dict[str, float]:
    """region -> the lowest snapshot instance price of any type and market (inf when the snapshot has none)."""
    bounds = {}
    for region in regions:
        prices = []
        for itype in instance_types:
            price = catalog.price(itype, region)
            if price is None:
                continue
            if "spot" in markets and price.cheapest_spot_usd_hour is not None:
                prices.append(price.cheapest_spot_usd_hour)
            if "on-demand" in markets and price.on_demand_usd_hour is not None:
                prices.append(price.on_demand_usd_hour)
        bounds[region] = min(prices, default=math.inf)
    return bounds


def first_wave(bounds: dict[str, float], skip: Sequence[str] = ()) -> list[str]:
    """The regions asked first: the cheapest by the snapshot, and those close to it (see FIRST_WAVE_SPREAD)."""
    ordered = [r for r in by_snapshot(bounds) if r not in skip]
    if not ordered:
        return []
    close = [r for r in ordered if bounds[r] <= bounds[ordered[0]] * (1 + FIRST_WAVE_SPREAD)]
    return ordered[: max(FIRST_WAVE, min(len(close), FIRST_WAVE_MAX))]


def by_snapshot(bounds: dict[str, float]) -> list[str]:
    """Regions, the snapshot's cheapest first (unknown last, then by name)."""
    return sorted(bounds, key=lambda region: (bounds[region], region))


def can_still_win(bound: float, leader_instance_usd: float | None, drift: float = 1.0) -> bool:
    """Whether a region whose snapshot price is `bound` could beat the best instance price found so far,
    when live prices are `drift` times the snapshot's (as observed in the regions already asked)."""
    if leader_instance_usd is None:
        return True
    return bound * min(drift, 1.0) * (1 - LIVE_PRICE_MARGIN) < leader_instance_usd


def snapshot_drift(catalog: Catalog, facts: Facts) -> float:
    """The lowest ratio of a live price to its snapshot price among the regions asked (1.0 without live prices)."""
    ratios = []
    for region, region_facts in facts.regions.items():
        for itype, price in region_facts.on_demand.items():
            snapshot = catalog.price(itype, region)
            if price.source == "pricing-api" and price.usd and snapshot and snapshot.on_demand_usd_hour:
                ratios.append(price.usd / snapshot.on_demand_usd_hour)
        for (itype, zone_id), price in region_facts.spot.items():
            snapshot = catalog.price(itype, region)
            snap = snapshot.spot_usd_hour_by_zone_id.get(zone_id) if snapshot else None
            if price.source == "spot-history" and price.usd and snap:
                ratios.append(price.usd / snap)
    return min(ratios, default=1.0)


def discovery_regions(clients: AwsClients, catalog: Catalog, region: str | None) -> list[str]:
    """The regions `--discover` searches: `region`, or for all (or none given) every enabled snapshot region."""
    if region not in (None, "all", "auto"):
        return [region]
    usable, _ = enabled_regions(Ec2Service(clients, catalog), catalog.regions(), searching=True)
    return usable
