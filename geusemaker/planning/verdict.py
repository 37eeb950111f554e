"""What a plan says about itself: its checks, and the error when no placement is feasible."""

from __future__ import annotations

from collections.abc import Sequence

from geusemaker.errors import BudgetError, CapacityError, PreconditionError, QuotaError, QuotaShortfall
from geusemaker.models.catalog import InstanceSpec
from geusemaker.models.config import DeploymentConfig
from geusemaker.models.market import Check, CheckStatus
from geusemaker.models.plan import Placement
from geusemaker.planning import cost as costing
from geusemaker.planning.gather import Facts
from geusemaker.planning.ranking import rank_key


def quota_shortfalls(candidates: Sequence[Placement]) -> list[QuotaShortfall]:
    """Every quota that stops a candidate, once per (code, region), for the cheapest candidate first."""
    found: dict[tuple[str, str], QuotaShortfall] = {}
    for candidate in sorted(candidates, key=rank_key):
        check = candidate.quota_check
        if check is None or check.status != "fail" or check.value is None:
            continue
        key = (check.code, check.region)
        if key not in found:
            found[key] = QuotaShortfall(check.code, check.name, check.region, check.value, check.used, check.needed)
    return list(found.values())


def nothing_feasible(
    config: DeploymentConfig, candidates: list[Placement], facts: Facts, regions: Sequence[str]
) -> PreconditionError:
    errors = [f"{r.region}: {r.error}" for r in facts.regions.values() if r.error]
    if not candidates:
        where = config.region if config.region != "auto" else f"any of {len(regions)} regions"
        return CapacityError(f"no availability zone in {where} offers the requested instance types", details=errors)
    if all(c.quota == "fail" for c in candidates):
        first, *others = quota_shortfalls(candidates)
        error = QuotaError(first)
        short_in: dict[str, list[str]] = {}
        for shortfall in others:
            short_in.setdefault(shortfall.code, []).append(shortfall.region)
        error.details = [f"also short: {code} in {', '.join(names)}" for code, names in short_in.items()]
        return error
    if all(any(p.startswith("budget:") for p in c.problems) for c in candidates):
        return _over_budget(config, candidates)
    details = [f"{c.instance_type} {c.market} {c.availability_zone}: {'; '.join(c.problems)}" for c in candidates[:8]]
    return PreconditionError("no feasible placement", details=details + errors)


def _over_budget(config: DeploymentConfig, candidates: list[Placement]) -> BudgetError:
    """Every candidate is over max_hourly_usd or has no known price to compare with it."""
    cap = f"max_hourly_usd (${config.compute.max_hourly_usd:g}/h)"
    priced = [c for c in candidates if c.total_hourly_usd is not None]
    unpriced = sorted({c.instance_type for c in candidates if c.total_hourly_usd is None})
    unknown = (
        [f"no known price for {', '.join(unpriced)}; compute.allow_unknown_price: true would allow them"]
        if unpriced
        else []
    )
    if not priced:
        return BudgetError(
            f"no price is known for any candidate, so none can be checked against {cap}",
            details=unknown,
            hint="Set compute.allow_unknown_price: true to allow an unpriced placement, or remove the cap.",
        )
    cheapest = min(priced, key=rank_key)
    return BudgetError(
        f"the cheapest placement costs more than {cap}",
        details=[
            f"{cheapest.instance_type} {cheapest.market} in {cheapest.availability_zone}: {cheapest.problems[0]}",
            *unknown,
        ],
        hint="Raise compute.max_hourly_usd, allow spot, or pick a smaller GPU.",
    )


def checks(
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
        risk = chosen.interruption_risk
        status: CheckStatus = "ok" if risk == "low" else "warn"
        shown = "score unavailable" if score is None else f"score {score}/10"
        ratio = (
            f", {chosen.instance_hourly_usd / chosen.on_demand_hourly_usd:.0%} of on-demand"
            if chosen.instance_hourly_usd is not None and chosen.on_demand_hourly_usd
            else ""
        )
        checks.append(Check("spot interruption risk", status, f"{risk} ({shown}{ratio})"))
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


def in_zone(candidates: list[Placement], zone: str | None) -> list[Placement]:
    """The candidates in `zone` (where the stack's kept data volume is; a volume attaches only there).

    No candidate there is a capacity error; `zone` None keeps them all.
    """
    if zone is None:
        return candidates
    kept = [c for c in candidates if c.availability_zone == zone]
    if not kept:
        raise CapacityError(
            f"none of the instance types is offered in {zone}, where the stack's kept data volume is",
            hint="Choose another instance type or GPU, or delete the data (destroy --delete-data) and deploy afresh.",
        )
    return kept
