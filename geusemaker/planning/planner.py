"""The planner: config -> Plan, reading AWS through the service classes and writing nothing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from geusemaker.catalog import Catalog
from geusemaker.errors import BudgetError, CapacityError, PreconditionError, QuotaError, QuotaShortfall, UsageError
from geusemaker.models.catalog import InstanceSpec
from geusemaker.models.config import DeploymentConfig
from geusemaker.models.market import Check, CheckStatus, MarketKind, QuotaCheck
from geusemaker.models.ollama_models import fit_warning
from geusemaker.models.plan import Placement, Plan, UserDataSize
from geusemaker.models.quotas import QUOTA_NAMES, quota_code, quota_group
from geusemaker.planning import cost as costing
from geusemaker.planning import network_check
from geusemaker.planning.gather import MAX_WORKERS, Facts, Gatherer, RegionFacts
from geusemaker.planning.ranking import MAX_FALLBACKS, choose, rank, rank_key
from geusemaker.planning.steps import plan_steps
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
        )

    def plan(self, config: DeploymentConfig, default_region: str = "us-east-1") -> Plan:
        probe_region = default_region if config.region == "auto" else config.region
        specs = self._instance_specs(config, probe_region)
        regions = self._regions(config, specs)
        markets = MARKETS[config.compute.market]
        gatherer = Gatherer(self.ec2, self.pricing, self.spot, self.capacity, self.max_workers)
        likely = self._likely_region(specs, regions)
        architecture = specs[0].architecture
        prefetch: dict[str, Callable[[], Any]] = {
            "ami": lambda: self.ami.resolve(likely, architecture, config.tier)  # type: ignore[arg-type]
        }
        if config.network.vpc_id and self.existing_network is not None:
            reader = self.existing_network(probe_region)
            prefetch["network"] = lambda: reader.describe(str(config.network.vpc_id), config.network.subnet_id)
        facts = gatherer.gather(
            regions,
            [s.instance_type for s in specs],
            markets,
            live_specs_region=None if config.instance_type else probe_region,
            prefetch=prefetch,
        )
        specs = [_merge_live(spec, facts.live_specs.get(spec.instance_type)) for spec in specs]
        candidates = self._quota_checked_candidates(config, specs, facts, markets, gatherer)
        network = network_check.gathered(config, facts.prefetched.get("network"))
        if network is not None:
            subnets = network_check.usable_subnets(config, network)
            candidates = network_check.in_subnet_zones(candidates, subnets, [s.instance_type for s in specs])
        chosen, fallbacks = choose(candidates)
        if chosen is None:
            raise _nothing_feasible(config, candidates, facts, regions)
        spec = next(s for s in specs if s.instance_type == chosen.instance_type)
        prefetched = facts.prefetched.get("ami")
        if chosen.region == likely and not isinstance(prefetched, Exception) and prefetched is not None:
            ami = prefetched
        else:
            ami = self.ami.resolve(chosen.region, spec.architecture, config.tier)  # type: ignore[arg-type]
        userdata = render_userdata(
            BootContext(config, chosen.region, ami.needs_driver_install, spot=chosen.market == "spot")
        )
        cost = costing.breakdown(config, chosen, facts.regions[chosen.region].rates)
        checks = _checks(config, chosen, spec, cost.hourly_usd, ami.source, facts)
        if network is not None:
            checks = (*checks, network_check.network_check(network, subnets))
        fit = fit_warning(config.ollama.models, spec.gpu, spec.gpu_count, spec.gpu_memory_gib)
        if fit and spec.gpu_count and "ollama" in config.services:
            checks = (*checks, Check("model memory", "warn", fit))
        notes = tuple(dict.fromkeys([*self.pricing.notes, *self.spot.notes, *self.capacity.notes, *self.ami.notes]))
        ranked_candidates = tuple(sorted(candidates, key=lambda c: (not c.feasible, *rank_key(c))))
        return Plan(
            config, chosen, tuple(fallbacks), ranked_candidates, cost, ami, checks, plan_steps(config), notes,
            userdata=UserDataSize(userdata.size, userdata.compressed),
            extra={"regions_considered": list(regions), "regions_quota_checked": sorted(facts.quota_checked)},
        )  # fmt: skip

    def _quota_checked_candidates(
        self,
        config: DeploymentConfig,
        specs: Sequence[InstanceSpec],
        facts: Facts,
        markets: Sequence[MarketKind],
        gatherer: Gatherer,
    ) -> list[Placement]:
        """Candidates of regions whose quotas were read, reading them for the cheapest regions first."""
        types = [s.instance_type for s in specs]
        while True:
            candidates = self._candidates(config, specs, facts, markets)
            best = [c for c in rank(candidates) if c.region not in facts.quota_checked or c.quota != "fail"]
            pending = list(
                dict.fromkeys(c.region for c in best[: MAX_FALLBACKS + 1] if c.region not in facts.quota_checked)
            )
            if not pending:
                # Unchecked regions only keep candidates that are out anyway (e.g. over budget), for the report.
                return [c for c in candidates if c.region in facts.quota_checked or c.problems]
            gatherer.add_quotas(facts, pending, types, markets)

    def _likely_region(self, specs: Sequence[InstanceSpec], regions: Sequence[str]) -> str:
        """The region the snapshot says is cheapest: its image is looked up while the rest is gathered."""
        if len(regions) == 1:
            return regions[0]
        best = min(
            ((price.cheapest_spot_usd_hour or price.on_demand_usd_hour or float("inf"), region)
             for spec in specs for region in regions if (price := self.catalog.price(spec.instance_type, region))),
            default=(0.0, regions[0]),
        )  # fmt: skip
        return best[1]

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

    def _regions(self, config: DeploymentConfig, specs: Sequence[InstanceSpec]) -> list[str]:
        if config.region != "auto":
            return [config.region]
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
                        placement = _placement(spec, region_facts, zone_id, zone_name, market, extras, facts)
                        quota = _quota(region_facts, spec, market)
                        problems = []
                        if quota is not None and quota.status == "fail":
                            problems.append(f"quota: {quota.detail}")
                        total = placement.total_hourly_usd
                        if budget is not None and total is not None and total > budget:
                            problems.append(f"budget: ${total:.4f}/h is over max_hourly_usd ${budget:g}/h")
                        candidates.append(replace(placement, quota_check=quota, problems=tuple(problems)))
        return candidates


def _merge_live(catalog_spec: InstanceSpec, live: InstanceSpec | None) -> InstanceSpec:
    """Live facts win, but the GPU keeps the catalog's name (the alias space users choose from)."""
    if live is None:
        return catalog_spec
    return replace(live, gpu=catalog_spec.gpu, gpu_memory_gib=live.gpu_memory_gib or catalog_spec.gpu_memory_gib)


def _placement(
    spec: InstanceSpec,
    facts: RegionFacts,
    zone_id: str,
    zone_name: str,
    market: MarketKind,
    extras: float,
    all_facts: Facts,
) -> Placement:
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


def _quota(facts: RegionFacts, spec: InstanceSpec, market: MarketKind) -> QuotaCheck | None:
    code = quota_code(spec.instance_type, market)
    if code is None:
        return None
    used = facts.used_vcpus.get((quota_group(spec.instance_type), market), 0.0)
    return QuotaCheck(code, QUOTA_NAMES[code], facts.region, spec.vcpus, facts.quotas.get(code), used)


def _nothing_feasible(
    config: DeploymentConfig, candidates: list[Placement], facts: Facts, regions: Sequence[str]
) -> Exception:
    errors = [f"{r.region}: {r.error}" for r in facts.regions.values() if r.error]
    if not candidates:
        where = config.region if config.region != "auto" else f"any of {len(regions)} regions"
        return CapacityError(f"no availability zone in {where} offers the requested instance types", details=errors)
    cheapest = min(candidates, key=rank_key)
    if all(c.quota == "fail" for c in candidates):
        check = cheapest.quota_check
        assert check is not None and check.value is not None
        error = QuotaError(QuotaShortfall(check.code, check.name, check.region, check.value, check.used, check.needed))
        others = sorted(
            {(c.quota_check.code, c.region) for c in candidates if c.quota_check} - {(check.code, check.region)}
        )
        error.details = [f"also short: {code} in {region}" for code, region in others[:6]]
        return error
    if all(any(p.startswith("budget:") for p in c.problems) for c in candidates):
        return BudgetError(
            f"the cheapest placement costs more than max_hourly_usd (${config.compute.max_hourly_usd:g}/h)",
            details=[
                f"{cheapest.instance_type} {cheapest.market} in {cheapest.availability_zone}: {cheapest.problems[0]}"
            ],
            hint="Raise compute.max_hourly_usd, allow spot, or pick a smaller GPU.",
        )
    details = [f"{c.instance_type} {c.market} {c.availability_zone}: {'; '.join(c.problems)}" for c in candidates[:8]]
    return PreconditionError("no feasible placement", details=details + errors)


def _checks(
    config: DeploymentConfig,
    chosen: Placement,
    spec: InstanceSpec,
    hourly: float | None,
    ami_source: str,
    facts: Facts,
) -> tuple[Check, ...]:
    gpus = f"{spec.gpu_count} x {spec.gpu} ({spec.gpu_memory_gib:g} GiB each)" if spec.gpu_count else "no GPU"
    quota_status: CheckStatus = "ok" if chosen.quota == "ok" else "warn" if chosen.quota == "unknown" else "fail"
    checks = [
        Check("instance type", "ok", f"{spec.instance_type}: {gpus}, {spec.vcpus} vCPUs, {spec.memory_gib:g} GiB"),
        Check("offering", "ok", f"{spec.instance_type} is offered in {chosen.availability_zone} ({chosen.zone_id})"),
        Check("vCPU quota", quota_status,
              "enough vCPU quota" if chosen.quota == "ok" else "quota could not be read; the launch will tell"),
    ]  # fmt: skip
    if chosen.market == "spot":
        score = chosen.placement_score
        status: CheckStatus = "unknown" if score is None else "ok" if score >= 5 else "warn"
        checks.append(Check("spot placement score", status, "unavailable" if score is None else f"{score}/10"))
    budget = config.compute.max_hourly_usd
    if budget is not None and hourly is not None:
        share = hourly / budget
        budget_status: CheckStatus = "warn" if share > costing.BUDGET_WARNING_SHARE else "ok"
        checks.append(Check("budget", budget_status, f"${hourly:.4f}/h is {share:.0%} of max_hourly_usd ${budget:g}/h"))
    if hourly is None:
        checks.append(Check("price", "warn", f"no price known for {spec.instance_type} in {chosen.region}"))
    else:
        checks.append(Check("price", "ok", f"instance price from {chosen.price_source}"))
    ami_status: CheckStatus = "warn" if ami_source == "ubuntu-fallback" else "ok"
    checks.append(Check("machine image", ami_status, f"found via {ami_source}"))
    skipped = [f"{r.region} ({r.error})" for r in facts.regions.values() if r.error]
    if skipped:
        checks.append(Check("regions", "warn", "skipped: " + "; ".join(skipped)))
    return tuple(checks)
