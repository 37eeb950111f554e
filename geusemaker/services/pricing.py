"""On-demand and resource prices from the AWS Pricing API, with the bundled snapshot as the fallback."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

from geusemaker.catalog import Catalog
from geusemaker.errors import AwsError
from geusemaker.models.market import Price, ResourceRates
from geusemaker.services.aws import AwsClients, translate_errors
from geusemaker.services.cache import JsonCache

PRICING_REGION = "us-east-1"  # the Pricing API endpoint that serves every region
#: Documented fallbacks: AWS list prices in us-east-1 (2025); other regions are usually within +30 %.
FALLBACK_EBS_GP3_GB_MONTH = 0.08
FALLBACK_EFS_STANDARD_GB_MONTH = 0.30
FALLBACK_PUBLIC_IPV4_HOUR = 0.005
FALLBACK_EBS_SNAPSHOT_GB_MONTH = 0.05
FALLBACK_SOURCE = "documented fallback (us-east-1 list price, 2025)"
_IGNORED_DESCRIPTIONS = ("capacity block", "reservation", "reserved", "dedicated")


class PricingService:
    """Hourly on-demand prices per (instance type, region) and per-region resource rates."""

    def __init__(self, clients: AwsClients, catalog: Catalog, cache: JsonCache | None = None) -> None:
        self._clients = clients
        self._catalog = catalog
        self._cache = cache
        self._memo: dict[str, dict[str, float]] = {}
        self._lock = threading.Lock()
        self.notes: list[str] = []

    @property
    def snapshot_source(self) -> str:
        return f"snapshot {self._catalog.snapshot_date}"

    def on_demand(self, instance_type: str, region: str) -> Price:
        """Linux on-demand $/h: the Pricing API, else the snapshot (source says which), else unknown."""
        live = self._api_prices(instance_type).get(region) if not self._clients.target.sandbox else None
        if live is not None:
            return Price(live, "pricing-api")
        snapshot = self._catalog.price(instance_type, region)
        if snapshot and snapshot.on_demand_usd_hour is not None:
            return Price(snapshot.on_demand_usd_hour, self.snapshot_source)
        return Price(None, "unknown")

    def resource_rates(self, region: str) -> ResourceRates:
        """EBS gp3, EFS Standard and public IPv4 rates in `region`."""
        return ResourceRates(
            ebs_gp3_gb_month=self._rate(
                "AmazonEC2",
                region,
                {"productFamily": "Storage", "volumeApiName": "gp3"},
                FALLBACK_EBS_GP3_GB_MONTH,
                "VolumeUsage.gp3",
            ),
            efs_standard_gb_month=self._rate(
                "AmazonEFS",
                region,
                {"productFamily": "Storage", "storageClass": "General Purpose"},
                FALLBACK_EFS_STANDARD_GB_MONTH,
                "TimedStorage-ByteHrs",
            ),
            public_ipv4_hour=self._rate(
                "AmazonVPC", region, {"group": "VPCPublicIPv4Address"}, FALLBACK_PUBLIC_IPV4_HOUR, "InUseAddress"
            ),
            ebs_snapshot_gb_month=self._rate(
                "AmazonEC2",
                region,
                {"productFamily": "Storage Snapshot"},
                FALLBACK_EBS_SNAPSHOT_GB_MONTH,
                "EBS:SnapshotUsage",
            ),
        )

    def _rate(
        self, service: str, region: str, filters: dict[str, str], fallback: float, usage_contains: str = ""
    ) -> Price:
        if self._clients.target.sandbox:
            return Price(fallback, FALLBACK_SOURCE)
        key = f"rate|{service}|{region}|{sorted(filters.items())}"
        cached = self._cache.get(key) if self._cache else None
        if isinstance(cached, float | int):
            return Price(float(cached), "pricing-api")
        try:
            for product in self._products(service, {**filters, "regionCode": region}):
                usage = product.get("product", {}).get("attributes", {}).get("usagetype", "")
                if usage_contains and usage_contains not in usage:
                    continue
                for usd, _ in _on_demand_dimensions(product):
                    if self._cache:
                        self._cache.put(key, usd)
                    return Price(usd, "pricing-api")
        except AwsError as exc:
            self.notes.append(f"Pricing API ({service}) unavailable: {exc.message}")
        return Price(fallback, FALLBACK_SOURCE)

    def _api_prices(self, instance_type: str) -> dict[str, float]:
        """region -> $/h for Linux, shared tenancy, no pre-installed software (memoised; on disk for a day)."""
        with self._lock:
            known = self._memo.get(instance_type)
        if known is None:
            known = self._fetch_api_prices(instance_type)
            with self._lock:
                self._memo[instance_type] = known
        return known

    def _fetch_api_prices(self, instance_type: str) -> dict[str, float]:
        key = f"ondemand|{instance_type}"
        cached = self._cache.get(key) if self._cache else None
        if isinstance(cached, dict):
            return {str(k): float(v) for k, v in cached.items()}
        filters = {
            "instanceType": instance_type,
            "operatingSystem": "Linux",
            "tenancy": "Shared",
            "preInstalledSw": "NA",
            "capacitystatus": "Used",
            "licenseModel": "No License required",
            "marketoption": "OnDemand",
        }
        prices: dict[str, float] = {}
        try:
            for product in self._products("AmazonEC2", filters):
                region = product.get("product", {}).get("attributes", {}).get("regionCode")
                for usd, _ in _on_demand_dimensions(product):
                    if region and region not in prices:
                        prices[region] = usd
        except AwsError as exc:
            self.notes.append(f"Pricing API unavailable ({exc.message}); using the {self.snapshot_source}")
            return {}
        if self._cache and prices:
            self._cache.put(key, prices)
        return prices

    def _products(self, service: str, filters: dict[str, str]) -> Iterator[dict[str, Any]]:
        client = self._clients.client("pricing", PRICING_REGION)
        with translate_errors("pricing:GetProducts"):
            pages = client.get_paginator("get_products").paginate(
                ServiceCode=service,
                Filters=[{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in filters.items()],
                FormatVersion="aws_v1",
            )
            for page in pages:
                for text in page.get("PriceList", []):
                    yield json.loads(text) if isinstance(text, str) else text


def _on_demand_dimensions(product: dict[str, Any]) -> Iterator[tuple[float, str]]:
    """(USD, description) of each non-zero OnDemand price dimension, skipping reservations/capacity blocks."""
    for term in product.get("terms", {}).get("OnDemand", {}).values():
        for dimension in term.get("priceDimensions", {}).values():
            description = str(dimension.get("description", ""))
            if any(word in description.lower() for word in _IGNORED_DESCRIPTIONS):
                continue
            try:
                usd = float(dimension.get("pricePerUnit", {}).get("USD", "0"))
            except ValueError:
                continue
            if usd > 0:
                yield usd, description
