"""Spot prices per AZ from DescribeSpotPriceHistory, checked for plausibility, with the snapshot as fallback."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from geusemaker.catalog import Catalog
from geusemaker.errors import AwsError
from geusemaker.models.market import Price
from geusemaker.services.aws import AwsClients, translate_errors

#: A spot price below this share of on-demand is not believed (moto answers 0.00001 for everything).
MIN_PLAUSIBLE_RATIO = 0.03
MAX_PLAUSIBLE_RATIO = 1.5


class SpotService:
    """Latest Linux/UNIX spot price of each (instance type, AZ ID) in a region."""

    def __init__(self, clients: AwsClients, catalog: Catalog, now: Callable[[], datetime] | None = None) -> None:
        self._clients = clients
        self._catalog = catalog
        self._now = now or (lambda: datetime.now(UTC))
        self.notes: list[str] = []

    def resolve(
        self,
        region: str,
        instance_types: Iterable[str],
        zone_names: dict[str, str],
        on_demand: dict[str, float | None],
        history: dict[tuple[str, str], float],
    ) -> dict[tuple[str, str], Price]:
        """(instance type, AZ ID) -> Price for every AZ in `zone_names`, from `history` (keyed by AZ name)."""
        wanted = sorted(set(instance_types))
        live = {(itype, zone_id): history[(itype, name)] for zone_id, name in zone_names.items() for itype in wanted
                if (itype, name) in history}  # fmt: skip
        prices: dict[tuple[str, str], Price] = {}
        fallbacks = 0
        for itype in wanted:
            snapshot = self._catalog.price(itype, region)
            for zone_id in zone_names:
                usd = live.get((itype, zone_id))
                if usd is not None and _plausible(usd, on_demand.get(itype)):
                    prices[(itype, zone_id)] = Price(usd, "spot-history")
                    continue
                fallbacks += 1
                snap = snapshot.spot_usd_hour_by_zone_id.get(zone_id) if snapshot else None
                source = f"snapshot {self._catalog.snapshot_date}" if snap is not None else "unknown"
                prices[(itype, zone_id)] = Price(snap, source)
        if fallbacks and live:
            self.notes.append(
                f"{region}: live spot prices missing or implausible for {fallbacks} type/AZ pairs; used the snapshot"
            )
        return prices

    def history(self, region: str, instance_types: Iterable[str]) -> dict[tuple[str, str], float]:
        """(instance type, AZ name) -> the latest Linux/UNIX spot price; empty when unavailable."""
        latest: dict[tuple[str, str], tuple[datetime, float]] = {}
        client = self._clients.client("ec2", region)
        try:
            with translate_errors("ec2:DescribeSpotPriceHistory"):
                pages = client.get_paginator("describe_spot_price_history").paginate(
                    InstanceTypes=sorted(set(instance_types)), ProductDescriptions=["Linux/UNIX"], StartTime=self._now()
                )
                for page in pages:
                    for entry in page["SpotPriceHistory"]:
                        key = (entry["InstanceType"], entry["AvailabilityZone"])
                        stamp, price = entry["Timestamp"], float(entry["SpotPrice"])
                        if key not in latest or stamp > latest[key][0]:
                            latest[key] = (stamp, price)
        except AwsError as exc:
            self.notes.append(f"{region}: spot price history unavailable ({exc.message})")
            return {}
        return {key: price for key, (_, price) in latest.items()}


def _plausible(usd: float, on_demand: float | None) -> bool:
    if usd <= 0:
        return False
    if on_demand is None:
        return usd >= 0.01
    return MIN_PLAUSIBLE_RATIO <= usd / on_demand <= MAX_PLAUSIBLE_RATIO
