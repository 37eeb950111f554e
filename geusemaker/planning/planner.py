"""The planner: config -> Plan, reading AWS through the service classes and writing nothing."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

from geusemaker.catalog import Catalog
from geusemaker.errors import QuotaError, UsageError
from geusemaker.models.catalog import InstanceSpec
from geusemaker.models.config import DeploymentConfig
from geusemaker.models.data_layout import DataLayout
from geusemaker.models.market import Check, MarketKind
from geusemaker.models.ollama_models import fit_warning
from geusemaker.models.plan import Placement, Plan, UserDataSize
from geusemaker.models.regions import AUTO, OPT_IN_REGIONS
from geusemaker.planning import cost as costing
from geusemaker.planning import network_check
from geusemaker.planning.gather import MAX_WORKERS, Facts, Gatherer
from geusemaker.planning.images import region_images
from geusemaker.planning.placements import merge_live, placement_of, quota_check
from geusemaker.planning.ranking import MAX_FALLBACKS, choose, rank, rank_key
from geusemaker.planning.regions import (
    FIRST_WAVE,
    by_snapshot,
    can_still_win,
    disabled_regions,
    enabled_regions,
    first_wave,
    not_enabled_note,
    snapshot_bounds,
    snapshot_drift,
)
from geusemaker.planning.steps import region_steps
from geusemaker.planning.verdict import checks, in_zone, nothing_feasible, quota_shortfalls
from geusemaker.services.ami import AmiResolver
from geusemaker.services.aws import AwsClients
from geusemaker.services.cache import JsonCache
from geusemaker.services.capacity import CapacityService
from geusemaker.services.ec2 import Ec2Service
from geusemaker.services.existing_network import ExistingNetworkService
from geusemaker.services.pricing import PricingService
from geusemaker.services.spot import SpotService
from geusemaker.userdata.generator import BootContext
from geusemaker.userdata.generator import render as render_userdata

#: With a GPU model requested, consider this many host sizes of the smallest sufficient GPU count.
HOST_SIZES_CONSIDERED = 4
MARKETS: dict[str, tuple[MarketKind, ...]] = {
    "spot": ("spot",),
    "on-demand": ("on-demand",),
    "spot-or-on-demand": ("spot", "on-demand"),
}


@dataclass
class Planner:
    """Builds a `Plan` from a config using one service object per AWS concern."""

    catalog: Catalog
    ec2: Ec2Service
    ami: AmiResolver
    pricing: PricingService
    spot: SpotService
    capacity: CapacityService
    max_workers: int = MAX_WORKERS
    #: region -> reader of an existing VPC (bring your own network)
    existing_network: Callable[[str], ExistingNetworkService] | None = None
    #: the caller's account id (named in the role's policies and checked when a saved plan is applied)
    account: Callable[[], str] | None = None
    clock: Callable[[], float] = time.time

    @classmethod
    def create(cls, clients: AwsClients, catalog: Catalog, cache_dir: Path | None = None) -> Planner:
        cache = JsonCache(cache_dir / "aws-answers.json") if cache_dir else None
        return cls(
            catalog=catalog,
            ec2=Ec2Service(clients, catalog),
            ami=AmiResolver(clients, cache),
            pricing=PricingService(clients, catalog, cache),
            spot=SpotService(clients, catalog),
            capacity=CapacityService(clients, catalog),
            existing_network=lambda region: ExistingNetworkService(clients, region),
            account=clients.account_id,
        )

    def plan(self, config: DeploymentConfig, default_region: str = "us-east-1", zone: str | None = None,
             layout: DataLayout | None = None) -> Plan:  # fmt: skip
        """The plan for `config` (without a region: in `default_region`; with `zone`: only in that zone; with
        `layout`: the data where kept data has it, not where `storage.data` puts a new stack's)."""
        region = config.region or default_region
        config = config.model_copy(update={"region": region})
        searching = region == AUTO
        probe_region = default_region if searching else region
        specs = self._instance_specs(config, probe_region)
        types = [s.instance_type for s in specs]
        markets = MARKETS[config.compute.market]
        regions = self._regions(region, specs)
        gatherer = Gatherer(self.ec2, self.pricing, self.spot, self.capacity, self.max_workers)
        # the account is named in the role's policies: asked alongside the rest
        prefetch: dict[str, Callable[[], Any]] = {"account": self.account} if self.account is not None else {}
        if searching:
            # Opt-in regions wait for DescribeRegions (asked alongside the first wave); the rest are enabled.
            bounds = snapshot_bounds(self.catalog, types, regions, markets)
            first = first_wave(bounds, skip=OPT_IN_REGIONS)
            if any(r in OPT_IN_REGIONS for r in regions):
                prefetch["opt_in"] = self.ec2.opt_in_status
        else:
            first, _ = enabled_regions(self.ec2, regions, searching=False)
            bounds = snapshot_bounds(self.catalog, types, first, markets)
        for likely in first[:FIRST_WAVE]:  # the images of the cheapest regions, where the choice usually falls
            prefetch[f"ami:{likely}"] = partial(self.ami.resolve, likely, specs[0].architecture, config.tier)  # type: ignore[arg-type]
        if config.network.vpc_id and self.existing_network is not None:
            reader = self.existing_network(probe_region)
            prefetch["network"] = lambda: reader.describe(str(config.network.vpc_id), config.network.subnet_id)
        facts = gatherer.gather(
            first,
            types,
            markets,
            live_specs_region=None if config.instance_type else probe_region,
            prefetch=prefetch,
            with_quotas=True,
        )
        status = facts.prefetched.get("opt_in")
        opt_in = None if isinstance(status, Exception) else status
        disabled = disabled_regions(opt_in, regions, searching=True) if searching else []
        bounds = {r: bound for r, bound in bounds.items() if r not in disabled}
        usable = sorted(bounds)
        specs = [merge_live(spec, facts.live_specs.get(spec.instance_type)) for spec in specs]
        candidates = in_zone(self._search(config, specs, facts, markets, gatherer, bounds), zone)
        more_checks: list[Check] = []
        existing: dict[str, str] | None = None
        network = network_check.gathered(config, facts.prefetched.get("network"))
        if network is not None:
            subnets = network_check.usable_subnets(config, network)
            existing = {zone: subnet.subnet_id for zone, subnet in subnets.items()}
            candidates = network_check.in_subnet_zones(candidates, subnets, types)
            more_checks.append(network_check.network_check(network, subnets))
        notes = [not_enabled_note(disabled)] if disabled else []
        extra: dict[str, Any] = {
            "feasible": True,
            "regions_considered": sorted(facts.regions),
            "regions_skipped_by_snapshot_price": sorted(set(usable) - set(facts.regions)),
            "regions_not_enabled": disabled,
            "regions_quota_checked": sorted(facts.quota_checked),
        }
        chosen, fallbacks = choose(candidates)
        if chosen is None:
            error = nothing_feasible(config, candidates, facts, usable)
            if isinstance(error, QuotaError):
                blocked = min(candidates, key=rank_key)
                shortfalls = [s.__dict__ | {"command": s.request_command} for s in quota_shortfalls(candidates)]
                extra |= {"feasible": False, "quota_increases": shortfalls}
                error.plan = self._build(config, blocked, [], candidates, specs, facts, notes, extra, more_checks,
                                         existing, layout)  # fmt: skip
            raise error
        return self._build(config, chosen, fallbacks, candidates, specs, facts, notes, extra, more_checks, existing,
                           layout)  # fmt: skip

    def _build(
        self,
        config: DeploymentConfig,
        chosen: Placement,
        fallbacks: list[Placement],
        candidates: list[Placement],
        specs: Sequence[InstanceSpec],
        facts: Facts,
        notes: list[str],
        extra: dict[str, Any],
        more_checks: Sequence[Check] = (),
        subnets: dict[str, str] | None = None,
        layout: DataLayout | None = None,
    ) -> Plan:
        spec = next(s for s in specs if s.instance_type == chosen.instance_type)
        # The image of every region the plan may launch in (what region failover runs is planned too),
        # resolved concurrently unless the first round fetched it already.
        regions_used = [chosen.region, *(p.region for p in fallbacks)]
        images = region_images(
            self.ami, regions_used, spec.architecture, config.tier, facts.prefetched, self.max_workers
        )
        ami = images[chosen.region]
        userdata = render_userdata(
            BootContext(config, chosen.region, ami.needs_driver_install, spot=config.compute.market != "on-demand",
                        layout=layout)
        )  # fmt: skip
        cost = costing.breakdown(config, chosen, facts.regions[chosen.region].rates, layout)
        plan_checks = (*checks(config, chosen, spec, cost.hourly_usd, ami.source, facts), *more_checks)
        fit = fit_warning(config.ollama.models, spec.gpu, spec.gpu_count, spec.gpu_memory_gib)
        if fit and spec.gpu_count and "ollama" in config.services:
            plan_checks = (*plan_checks, Check("model memory", "warn", fit))
        known = facts.prefetched.get("account")
        account = known if isinstance(known, str) else self.account() if self.account is not None else ""
        regions = region_steps(config, [chosen, *fallbacks], images.__getitem__, account, subnets, layout)
        service_notes = [*self.pricing.notes, *self.spot.notes, *self.capacity.notes, *self.ami.notes]
        ranked_candidates = tuple(sorted(candidates, key=lambda c: (not c.feasible, *rank_key(c))))
        return Plan(
            config, chosen, tuple(fallbacks), ranked_candidates, cost, ami, plan_checks, regions[0].steps,
            tuple(dict.fromkeys([*notes, *service_notes])),
            userdata=UserDataSize(userdata.size, userdata.compressed), extra=extra, regions=regions, account=account,
            planned_at=self.clock(),
        )  # fmt: skip

    def _search(
        self,
        config: DeploymentConfig,
        specs: Sequence[InstanceSpec],
        facts: Facts,
        markets: Sequence[MarketKind],
        gatherer: Gatherer,
        bounds: dict[str, float],
    ) -> list[Placement]:
        """Candidates of regions whose quotas were read, reading quotas for the best candidates first and
        asking AWS about more regions while their snapshot price could still beat the best found."""
        types = [s.instance_type for s in specs]
        while True:
            candidates = self._candidates(config, specs, facts, markets)
            best = [c for c in rank(candidates) if c.region not in facts.quota_checked or c.quota != "fail"]
            pending = list(
                dict.fromkeys(c.region for c in best[: MAX_FALLBACKS + 1] if c.region not in facts.quota_checked)
            )
            if pending:
                gatherer.add_quotas(facts, pending, types, markets)
                continue
            leader = best[0] if best else None
            leader_usd = None
            if leader is not None and leader.risk_adjusted_hourly_usd is not None:
                leader_usd = leader.risk_adjusted_hourly_usd - leader.extras_hourly_usd
            drift = snapshot_drift(self.catalog, facts)
            more = [r for r in by_snapshot(bounds)
                    if r not in facts.regions and can_still_win(bounds[r], leader_usd, drift)]  # fmt: skip
            if not more:
                # Unchecked regions only keep candidates that are out anyway (e.g. over budget), for the report.
                return [c for c in candidates if c.region in facts.quota_checked or c.problems]
            gatherer.extend(facts, more, types, markets)

    def _instance_specs(self, config: DeploymentConfig, probe_region: str) -> list[InstanceSpec]:
        """Candidate types (catalog specs; live facts are merged in after gathering)."""
        if config.instance_type:
            return [self.ec2.validate_instance_type(probe_region, config.instance_type, config.tier)]
        gpu = config.gpu
        assert gpu is not None
        matches = self.catalog.instance_types_for(gpu, config.compute.gpu_count)
        if not matches:
            raise UsageError(
                f"compute.gpu_count: no instance type has {config.compute.gpu_count} x {gpu}",
                hint=f"See what exists: geusemaker gpus --gpu {gpu.lower()}",
            )
        smallest_count = matches[0].gpu_count
        return [s for s in matches if s.gpu_count == smallest_count][:HOST_SIZES_CONSIDERED]

    def _regions(self, region: str, specs: Sequence[InstanceSpec]) -> list[str]:
        if region != AUTO:
            return [region]
        regions = sorted({r for s in specs for r in self.catalog.regions_for(s.instance_type)})
        return regions or self.catalog.regions()

    def _candidates(
        self, config: DeploymentConfig, specs: Sequence[InstanceSpec], facts: Facts, markets: Sequence[MarketKind]
    ) -> list[Placement]:
        budget = config.compute.max_hourly_usd
        candidates = []
        for region_facts in facts.regions.values():
            extras = costing.extras_hourly(config, region_facts.rates)
            for spec in specs:
                for zone_id in sorted(region_facts.offered.get(spec.instance_type, set())):
                    zone_name = region_facts.zone_names.get(zone_id)
                    if zone_name is None:
                        continue
                    for market in markets:
                        placement = placement_of(spec, region_facts, zone_id, zone_name, market, extras, facts)
                        quota = quota_check(region_facts, spec, market)
                        problems = []
                        if quota is not None and quota.status == "fail":
                            problems.append(f"quota: {quota.detail}")
                        total = placement.total_hourly_usd
                        if budget is not None and total is not None and total > budget:
                            problems.append(f"budget: ${total:.4f}/h is over max_hourly_usd ${budget:g}/h")
                        elif budget is not None and total is None and not config.compute.allow_unknown_price:
                            problems.append(
                                f"budget: price unknown, so max_hourly_usd ${budget:g}/h cannot be checked "
                                "(compute.allow_unknown_price: true allows it)"
                            )
                        candidates.append(replace(placement, quota_check=quota, problems=tuple(problems)))
        return candidates
