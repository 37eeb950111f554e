"""Ask AWS everything the planner needs, concurrently across regions (bounded thread pool)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

from geusemaker.errors import CredentialsError, UserError
from geusemaker.models.catalog import InstanceSpec
from geusemaker.models.market import MarketKind, Price, ResourceRates
from geusemaker.models.quotas import quota_code
from geusemaker.planning.pool import read_pool
from geusemaker.services.capacity import CapacityService
from geusemaker.services.ec2 import Ec2Service
from geusemaker.services.pricing import PricingService
from geusemaker.services.spot import SpotService

T = TypeVar("T")
MAX_WORKERS = 48


@dataclass
class RegionFacts:
    """What one region said: zones, offerings, usage, quotas, prices."""

    region: str
    zone_names: dict[str, str]
    offered: dict[str, set[str]]
    used_vcpus: dict[tuple[str, MarketKind], float]
    quotas: dict[str, float | None]
    on_demand: dict[str, Price]
    spot: dict[tuple[str, str], Price]
    rates: ResourceRates
    error: str | None = None


@dataclass
class Facts:
    """Everything gathered for one plan."""

    regions: dict[str, RegionFacts]
    scores: dict[str, dict[tuple[str, str], int]] = field(default_factory=dict)
    live_specs: dict[str, InstanceSpec] = field(default_factory=dict)
    prefetched: dict[str, Any] = field(default_factory=dict)
    quota_checked: set[str] = field(default_factory=set)


@dataclass
class Gatherer:
    """Runs the read-only AWS calls of a plan in one thread pool."""

    ec2: Ec2Service
    pricing: PricingService
    spot: SpotService
    capacity: CapacityService
    max_workers: int = MAX_WORKERS

    def gather(
        self,
        regions: Sequence[str],
        instance_types: Sequence[str],
        markets: Sequence[MarketKind],
        *,
        live_specs_region: str | None = None,
        prefetch: dict[str, Callable[[], Any]] | None = None,
        with_quotas: bool = False,
    ) -> Facts:
        """Everything about `instance_types` in `regions`; also live specs and any `prefetch` calls, concurrently.

        `with_quotas` reads the regions' vCPU quotas and usage in the same round.
        """
        with read_pool(self.max_workers, "plan") as pool:
            submit: Callable[..., Future[Any]] = pool.submit
            quotas = self._submit_quotas(submit, regions, instance_types, markets) if with_quotas else None
            live = (
                submit(self.ec2.describe_instance_types, live_specs_region, instance_types)
                if live_specs_region
                else None
            )
            extra = {name: submit(call) for name, call in (prefetch or {}).items()}
            # Pricing answers every region per instance type: one call per type, first.
            prices = {t: submit(self.pricing.on_demand, t, regions[0]) for t in instance_types} if regions else {}
            scores = (
                {t: submit(self.capacity.placement_scores, t, regions) for t in instance_types}
                if "spot" in markets and regions
                else {}
            )
            calls = {
                region: {
                    "zones": submit(self.ec2.zone_names, region),
                    "offered": submit(self.ec2.offered_zone_ids, region, instance_types),
                    "history": submit(self.spot.history, region, instance_types) if "spot" in markets else None,
                    "rates": submit(self.pricing.resource_rates, region),
                }
                for region in regions
            }
            for future in prices.values():
                future.result()
            facts = {region: self._region_facts(region, instance_types, futures) for region, futures in calls.items()}
            gathered = Facts(
                facts,
                {t: f.result() for t, f in scores.items()},
                live.result() if live else {},
                {name: _outcome(future) for name, future in extra.items()},
            )
            if quotas is not None:
                _apply_quotas(gathered, quotas)
            return gathered

    def extend(
        self, facts: Facts, regions: Sequence[str], instance_types: Sequence[str], markets: Sequence[MarketKind]
    ) -> None:
        """Gather `regions` too, with their quotas, and add them to `facts`."""
        more = self.gather(regions, instance_types, markets, with_quotas=True)
        facts.regions.update(more.regions)
        facts.quota_checked.update(more.quota_checked)
        for itype, scores in more.scores.items():
            facts.scores.setdefault(itype, {}).update(scores)

    def _region_facts(self, region: str, instance_types: Sequence[str], futures: dict[str, Any]) -> RegionFacts:
        try:
            zone_names: dict[str, str] = futures["zones"].result()
            offered: dict[str, set[str]] = futures["offered"].result()
        except CredentialsError:
            raise
        except UserError as exc:
            for future in _all_futures(futures):
                future.cancel()
            return RegionFacts(region, {}, {}, {}, {}, {}, {}, futures["rates"].result(), error=exc.message)
        on_demand = {t: self.pricing.on_demand(t, region) for t in instance_types}
        history = futures["history"].result() if futures["history"] is not None else {}
        spot = (
            self.spot.resolve(region, instance_types, zone_names, {t: p.usd for t, p in on_demand.items()}, history)
            if futures["history"] is not None
            else {}
        )
        return RegionFacts(region, zone_names, offered, {}, {}, on_demand, spot, futures["rates"].result())

    def add_quotas(
        self, facts: Facts, regions: Sequence[str], instance_types: Sequence[str], markets: Sequence[MarketKind]
    ) -> None:
        """Read vCPU quotas and usage for `regions` (a later, smaller round: Service Quotas is rate-limited)."""
        with read_pool(self.max_workers, "quota") as pool:
            _apply_quotas(facts, self._submit_quotas(pool.submit, regions, instance_types, markets))

    def _submit_quotas(
        self,
        submit: Callable[..., Future[Any]],
        regions: Sequence[str],
        instance_types: Sequence[str],
        markets: Sequence[MarketKind],
    ) -> _QuotaFutures:
        codes = sorted({c for t in instance_types for m in markets if (c := quota_code(t, m))})
        used = {region: submit(self.capacity.used_vcpus, region) for region in regions}
        values = {(r, c): submit(self.capacity.quota_value, r, c) for r in regions for c in codes}
        return _QuotaFutures(used, values, codes)


@dataclass
class _QuotaFutures:
    used: dict[str, Future[Any]]
    values: dict[tuple[str, str], Future[Any]]
    codes: list[str]


def _apply_quotas(facts: Facts, futures: _QuotaFutures) -> None:
    """Put the quota answers into `facts`; a region whose usage cannot be read is out, with the reason."""
    for region, used in futures.used.items():
        region_facts = facts.regions[region]
        region_facts.quotas = {code: futures.values[(region, code)].result() for code in futures.codes}
        try:
            region_facts.used_vcpus = used.result()
        except UserError as exc:
            region_facts.error = exc.message
            region_facts.offered = {}
        facts.quota_checked.add(region)


def _outcome(future: Future[Any]) -> Any:
    """A prefetched result, or the exception it raised (the caller decides whether it matters)."""
    try:
        return future.result()
    except Exception as exc:
        return exc


def _all_futures(futures: dict[str, Any]) -> list[Future[Any]]:
    found: list[Future[Any]] = []
    for value in futures.values():
        if isinstance(value, Future):
            found.append(value)
        elif isinstance(value, dict):
            found.extend(_all_futures(value))
    return found
