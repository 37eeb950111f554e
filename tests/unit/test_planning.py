"""Pure planning: ranking, fallbacks, cost, steps, and a property test of the cheapest choice."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geusemaker.catalog import load_catalog
from geusemaker.config_io import parse_config
from geusemaker.models.data_layout import LEGACY_EFS
from geusemaker.models.market import Price, QuotaCheck, ResourceRates
from geusemaker.models.plan import Placement
from geusemaker.planning import cost
from geusemaker.planning.gather import Facts, RegionFacts
from geusemaker.planning.planner import Planner
from geusemaker.planning.ranking import choose
from geusemaker.planning.steps import plan_steps

RATES = ResourceRates(Price(0.08, "test"), Price(0.30, "test"), Price(0.005, "test"))


def _p(itype: str = "g5.xlarge", zone: str = "a", market: str = "spot", usd: float | None = 1.0, **kw) -> Placement:  # type: ignore[no-untyped-def]
    return Placement(itype, "us-east-1", zone, f"us-east-1{zone}", market, usd, 1.0, "test", **kw)  # type: ignore[arg-type]


def test_cheapest_feasible_is_chosen_and_unknown_prices_rank_last() -> None:
    unknown = _p(zone="u", usd=None)
    infeasible = _p(zone="x", usd=0.1, problems=("quota: short",))
    cheap, dear = _p(zone="b", usd=0.3), _p(zone="c", usd=0.5)
    chosen, fallbacks = choose([unknown, dear, infeasible, cheap])
    assert chosen == cheap
    assert fallbacks == [dear, unknown]


def test_fallbacks_keep_the_market_then_on_demand() -> None:
    spot_a, spot_b = _p(zone="a", usd=0.2), _p(zone="b", usd=0.6)
    od = _p(zone="a", market="on-demand", usd=0.5)
    chosen, fallbacks = choose([od, spot_b, spot_a])
    assert chosen == spot_a
    assert fallbacks == [spot_b, od]


def test_equal_price_prefers_the_higher_placement_score() -> None:
    low, high = _p(zone="a", usd=0.3, placement_score=3), _p(zone="b", usd=0.3, placement_score=9)
    assert choose([low, high])[0] == high


def test_cost_breakdown_line_items_and_savings() -> None:
    config = parse_config("name: s\nstorage:\n  root_gb: 100\n  data: ebs\n  ebs_gb: 200\n")
    placement = _p(usd=0.3)
    breakdown = cost.breakdown(config, replace(placement, on_demand_hourly_usd=1.0), RATES)
    names = [item.name for item in breakdown.items]
    assert names == [
        "instance (g5.xlarge, spot)",
        "root volume (100 GiB gp3)",
        "data volume (200 GiB gp3)",
        "public IPv4 address",
    ]
    expected_hourly = 0.3 + 100 * 0.08 / 730 + 200 * 0.08 / 730 + 0.005
    assert breakdown.hourly_usd == pytest.approx(expected_hourly, abs=1e-5)
    assert breakdown.monthly_usd == pytest.approx(expected_hourly * 730, abs=0.01)
    assert breakdown.daily_usd == pytest.approx(expected_hourly * 24, abs=0.01)
    assert breakdown.spot_savings_pct == 70.0


def test_storage_costs_of_each_layout() -> None:
    """The default's data volume; efs: the data volume and EFS (models); none: root disk and address only."""
    names = [i.name for i in cost.extras(parse_config("name: s\n"), RATES)]
    assert names == ["root volume (100 GiB gp3)", "data volume (100 GiB gp3)", "public IPv4 address"]
    efs = [i.name for i in cost.extras(parse_config("name: s\nstorage:\n  data: efs\n  ebs_gb: 40\n"), RATES)]
    assert efs[1:3] == ["data volume (40 GiB gp3)", "EFS, Ollama's models (estimate: 50 GiB stored)"]
    old = [i.name for i in cost.extras(parse_config("name: s\nstorage:\n  data: efs\n"), RATES, LEGACY_EFS)]
    assert old == ["root volume (100 GiB gp3)", "EFS, all data (estimate: 50 GiB stored)", "public IPv4 address"]
    none = cost.extras(parse_config("name: s\nstorage:\n  data: none\n"), RATES)
    assert len(none) == 2


def test_unknown_instance_price_makes_the_total_unknown_not_zero() -> None:
    breakdown = cost.breakdown(parse_config("name: s\n"), _p(usd=None), RATES)
    assert breakdown.hourly_usd is None and breakdown.monthly_usd is None


def test_a_stack_that_may_run_on_spot_boots_with_the_spot_drain_though_launched_on_demand() -> None:
    def boot_spot(market: str, placement: str) -> bool:
        config = parse_config(f"name: s\nregion: us-east-1\ncompute:\n  market: {market}\n")
        steps = plan_steps(config, [_p(market=placement)])
        return bool(next(s for s in steps if s.id == "launch-template").spec.boot.spot)

    assert boot_spot("spot-or-on-demand", "on-demand"), "a later start may run it on spot"
    assert boot_spot("spot", "spot") and boot_spot("spot-or-on-demand", "spot")
    assert not boot_spot("on-demand", "on-demand"), "never on spot: no notice timer"


def test_steps_follow_dependencies_and_options() -> None:
    steps = plan_steps(parse_config("name: s\n"))
    ids = [s.id for s in steps]
    for step in steps:
        for dependency in step.depends_on:
            assert ids.index(dependency) < ids.index(step.id)
    assert {"data-volume", "vpc"} <= set(ids) and "file-system" not in ids, "the default: a data volume, no EFS"
    efs = [s.id for s in plan_steps(parse_config("name: s\nstorage:\n  data: efs\n"))]
    assert {"file-system", "mount-target", "data-volume"} <= set(efs), "efs: models on EFS, the rest on the volume"
    old = [s.id for s in plan_steps(parse_config("name: s\nstorage:\n  data: efs\n"), layout=LEGACY_EFS)]
    assert {"file-system", "mount-target"} <= set(old) and "data-volume" not in old, "a kept old stack: EFS alone"
    existing = plan_steps(
        parse_config(
            "name: s\nregion: us-east-1\nstorage:\n  data: ebs\nnetwork:\n  vpc_id: vpc-0123456789abcdef0\n"
            "  subnet_id: subnet-0123456789abcdef0\n"
        )
    )
    existing_ids = [s.id for s in existing]
    assert "vpc" not in existing_ids and "file-system" not in existing_ids
    assert existing_ids[-3:] == ["instance", "data-volume", "autoscaling-group"]
    assert "100 GiB" in next(s.action for s in existing if s.id == "data-volume")
    group = existing[-1]
    assert set(group.depends_on) >= {"instance", "data-volume", "launch-template"}, "after the data is attached"
    assert group.spec.fallback_on_demand, "the default market allows on-demand"
    spot_only = plan_steps(parse_config("name: s\ncompute:\n  market: spot\n"))
    assert not spot_only[-1].spec.fallback_on_demand
    assert spot_only[-1].depends_on == ("instance", "launch-template", "data-volume"), "the default has a volume"
    rooted = plan_steps(parse_config("name: s\ncompute:\n  market: spot\nstorage:\n  data: none\n"))
    assert rooted[-1].depends_on == ("instance", "launch-template"), "no data volume to wait for"


# -- property: the chosen placement is the cheapest feasible candidate -------------------------

prices = st.one_of(st.none(), st.floats(0.05, 50, allow_nan=False))
quota_values = st.one_of(st.none(), st.sampled_from([0.0, 4.0, 8.0, 64.0]))


@st.composite
def facts_and_budget(draw: st.DrawFn) -> tuple[Facts, float | None]:
    regions = draw(
        st.lists(st.sampled_from(["us-east-1", "eu-west-1", "ap-south-1"]), min_size=1, max_size=3, unique=True)
    )
    types = ["g4dn.xlarge", "g4dn.2xlarge"]
    region_facts = {}
    for region in regions:
        zones = {f"{region[:3]}-az{i}": f"{region}{'abc'[i]}" for i in range(draw(st.integers(1, 3)))}
        offered = {t: set(draw(st.lists(st.sampled_from(sorted(zones)), unique=True))) for t in types}
        region_facts[region] = RegionFacts(
            region=region,
            zone_names=zones,
            offered=offered,
            used_vcpus={("g", "spot"): draw(st.sampled_from([0.0, 4.0])), ("g", "on-demand"): 0.0},
            quotas={"L-DB2E81BA": draw(quota_values), "L-3819A6DF": draw(quota_values)},
            on_demand={t: Price(draw(prices), "test") for t in types},
            spot={(t, z): Price(draw(prices), "test") for t in types for z in zones},
            rates=RATES,
        )
    budget = draw(st.one_of(st.none(), st.floats(0.1, 20)))
    return Facts(region_facts), budget


@settings(max_examples=300, deadline=None)
@given(facts_and_budget())
def test_chosen_is_always_the_cheapest_feasible(case: tuple[Facts, float | None]) -> None:
    facts, budget = case
    config = parse_config("name: s\n")
    config = config.model_copy(update={"compute": config.compute.model_copy(update={"max_hourly_usd": budget})})
    catalog = load_catalog()
    specs = [catalog.specs["g4dn.xlarge"], catalog.specs["g4dn.2xlarge"]]
    planner = Planner(catalog, None, None, None, None, None)  # type: ignore[arg-type]
    candidates = planner._candidates(config, specs, facts, ("spot", "on-demand"))
    chosen, _ = choose(candidates)

    def feasible(c: Placement) -> bool:
        q = c.quota_check
        quota_ok = q is None or q.value is None or q.used + q.needed <= q.value
        total = c.total_hourly_usd
        # Under a cap, an unknown price is never allowed (compute.allow_unknown_price is off).
        return quota_ok and (budget is None or (total is not None and total <= budget))

    brute = [c for c in candidates if feasible(c)]
    if not brute:
        assert chosen is None
        return
    assert chosen is not None and feasible(chosen)
    priced = [c.risk_adjusted_hourly_usd for c in brute if c.risk_adjusted_hourly_usd is not None]
    if priced:
        assert chosen.risk_adjusted_hourly_usd is not None
        assert math.isclose(chosen.risk_adjusted_hourly_usd, min(priced), abs_tol=1e-6)
    else:
        assert chosen.total_hourly_usd is None and budget is None


def test_quota_check_status() -> None:
    assert QuotaCheck("L-X", "n", "r", 4, 8.0, 4.0).status == "ok"
    assert QuotaCheck("L-X", "n", "r", 4, 8.0, 5.0).status == "fail"
    assert QuotaCheck("L-X", "n", "r", 4, None, 0.0).status == "unknown"


# -- spot interruption risk ----------------------------------------------------------------


def test_spot_risk_rule() -> None:
    from geusemaker.models.market import spot_risk

    assert spot_risk(9, 14.38, 55.0) == "low"
    assert spot_risk(3, 11.80, 55.0) == "high", "a score of 3 is high risk however cheap"
    assert spot_risk(9, 47.0, 55.0) == "high", "spot near on-demand means scarce capacity"
    assert spot_risk(6, 10.0, 55.0) == "medium" and spot_risk(9, 30.0, 55.0) == "medium"
    assert spot_risk(None, 10.0, 55.0) == "low" and spot_risk(None, None, None) == "medium"


def test_a_low_score_does_not_win_on_price_alone() -> None:
    def p5(zone: str, usd: float, score: int) -> Placement:
        return Placement("p5.48xlarge", "us-east-1", zone, f"us-east-1{zone}", "spot", usd, 55.0, "t",
                         placement_score=score)  # fmt: skip

    risky, safe = p5("a", 11.80, 3), p5("b", 14.38, 9)
    chosen, fallbacks = choose([risky, safe])
    assert chosen == safe and fallbacks == [risky]
    assert (risky.interruption_risk, safe.interruption_risk) == ("high", "low")
    assert risky.as_json()["interruption_risk"] == "high"
    # A much cheaper risky placement still wins: the surcharge is 30 %, not a veto.
    assert choose([p5("c", 9.0, 3), safe])[0] == p5("c", 9.0, 3)
