"""Which regions a plan asks AWS about: only enabled ones, and the snapshot's cheapest first."""

from __future__ import annotations

import math
from collections.abc import Sequence

from geusemaker.catalog import Catalog
from geusemaker.errors import PreconditionError
from geusemaker.models.market import MarketKind
from geusemaker.models.regions import OPT_IN_REGIONS, enable_region_command
from geusemaker.services.aws import AwsClients
from geusemaker.services.ec2 import Ec2Service

#: `region: auto` asks AWS about this many regions first (the snapshot's cheapest), then only about
#: regions whose snapshot price could still beat the best placement found.
FIRST_WAVE = 3
#: How far below its snapshot price a region's live price is assumed to be able to fall.
LIVE_PRICE_MARGIN = 0.2


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


def by_snapshot(bounds: dict[str, float]) -> list[str]:
    """Regions, the snapshot's cheapest first (unknown last, then by name)."""
    return sorted(bounds, key=lambda region: (bounds[region], region))


def can_still_win(bound: float, leader_instance_usd: float | None) -> bool:
    """Whether a region whose snapshot price is `bound` could beat the best instance price found so far."""
    if leader_instance_usd is None:
        return True
    return bound * (1 - LIVE_PRICE_MARGIN) < leader_instance_usd


def discovery_regions(clients: AwsClients, catalog: Catalog, region: str | None) -> list[str]:
    """The regions `--discover` searches: `region`, or for all (or none given) every enabled snapshot region."""
    if region not in (None, "all", "auto"):
        return [region]
    usable, _ = enabled_regions(Ec2Service(clients, catalog), catalog.regions(), searching=True)
    return usable
