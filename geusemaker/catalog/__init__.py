"""The bundled GPU catalog: instance specs, GPU aliases and the dated price snapshot (package data)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from geusemaker.models.catalog import GpuOffer, InstanceSpec, RegionPrice

_DATA_FILE = "gpu_catalog.json"


@dataclass(frozen=True)
class Catalog:
    """Specs and snapshot prices of every supported NVIDIA instance type."""

    source: str
    snapshot_date: str
    specs: dict[str, InstanceSpec]
    prices: dict[tuple[str, str], RegionPrice]

    # -- specs ---------------------------------------------------------------------------------
    def spec(self, instance_type: str) -> InstanceSpec | None:
        return self.specs.get(instance_type)

    def gpu_models(self) -> list[str]:
        return sorted({spec.gpu for spec in self.specs.values()})

    def instance_types_for(self, gpu: str, count: int = 1) -> list[InstanceSpec]:
        """Types with at least `count` of `gpu`, smallest first (GPUs, then vCPUs, then RAM)."""
        matches = [s for s in self.specs.values() if s.gpu == gpu and s.gpu_count >= count]
        return sorted(matches, key=lambda s: (s.gpu_count, s.vcpus, s.memory_gib, s.instance_type))

    def smallest_instance_type(self, gpu: str, count: int = 1) -> InstanceSpec | None:
        candidates = self.instance_types_for(gpu, count)
        return candidates[0] if candidates else None

    # -- prices --------------------------------------------------------------------------------
    def regions(self) -> list[str]:
        return sorted({region for _, region in self.prices})

    def regions_for(self, instance_type: str) -> list[str]:
        return sorted(region for itype, region in self.prices if itype == instance_type)

    def price(self, instance_type: str, region: str) -> RegionPrice | None:
        return self.prices.get((instance_type, region))

    def offers(
        self,
        *,
        gpu: str | None = None,
        min_count: int | None = None,
        region: str | None = None,
        spot: bool = False,
    ) -> list[GpuOffer]:
        """Rows for `geusemaker gpus`, cheapest first; region None = the cheapest region per type."""
        rows: list[GpuOffer] = []
        for spec in self.specs.values():
            if gpu is not None and spec.gpu != gpu:
                continue
            if min_count is not None and spec.gpu_count < min_count:
                continue
            per_region = [
                GpuOffer(spec, price.region, price.on_demand_usd_hour, price.cheapest_spot_usd_hour)
                for price in (self.price(spec.instance_type, r) for r in self.regions_for(spec.instance_type))
                if price is not None and (region in (None, "all") or price.region == region)
            ]
            if not per_region and region in (None, "all") and not self.regions_for(spec.instance_type):
                per_region = [GpuOffer(spec, "-", None, None)]  # known hardware, no price in the snapshot
            if spot:
                per_region = [offer for offer in per_region if offer.spot_usd_hour is not None]
            if region is None and per_region:
                per_region = [min(per_region, key=lambda offer: _sort_price(offer, spot))]
            rows.extend(per_region)
        return sorted(rows, key=lambda o: (_sort_price(o, spot), o.spec.instance_type, o.region))


def _sort_price(offer: GpuOffer, spot: bool) -> float:
    price = offer.spot_usd_hour if spot else offer.on_demand_usd_hour
    return math.inf if price is None else price


@cache
def load_catalog() -> Catalog:
    """The bundled catalog (read once per process)."""
    raw = json.loads(resources.files(__package__).joinpath("data", _DATA_FILE).read_text(encoding="utf-8"))
    return catalog_from_document(raw)


def catalog_from_document(raw: dict[str, Any]) -> Catalog:
    """Build a `Catalog` from the JSON document written by scripts/build_catalog.py."""
    specs = {name: InstanceSpec(instance_type=name, **fields) for name, fields in raw["instance_types"].items()}
    prices = {
        (itype, region): RegionPrice(itype, region, entry["on_demand"], dict(entry["spot"]))
        for itype, regions in raw["prices"].items()
        for region, entry in regions.items()
    }
    return Catalog(raw["source"], raw["snapshot_date"], specs, prices)
