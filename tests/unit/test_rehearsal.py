"""Dry-run through the executor (display handlers) and saved plans read back: the plan is what runs."""

from __future__ import annotations

import dataclasses
import json
import time

import pytest

from geusemaker.catalog import load_catalog
from geusemaker.config_io import validate_data
from geusemaker.errors import UserError
from geusemaker.models.launch_specs import InstanceSpec
from geusemaker.models.plan import PLAN_VALID_S, Plan, RegionSteps
from geusemaker.models.plan_file import PlanFileError, plan_from_json, saved_plan_problems
from geusemaker.models.steps import SubnetSpec, canonical
from geusemaker.orchestration.rehearsal import rehearse
from geusemaker.planning.planner import Planner
from tests.awsfakes import inprocess_aws


def _plan(document: dict) -> Plan:
    with inprocess_aws() as clients:
        return Planner.create(clients, load_catalog()).plan(validate_data(document, "test"))


def test_a_dry_run_resolves_every_input_of_every_step_in_every_region() -> None:
    plan = _plan({"name": "rehearsed", "region": "us-east-1", "compute": {"gpu": "t4"}})
    shown = rehearse(plan)
    assert len(shown) == sum(len(r.steps) for r in plan.regions)
    instance = next(r.spec for r in shown if isinstance(r.spec, InstanceSpec))
    assert isinstance(instance.launch_template, str)
    fallback = [g for g in instance.launches if isinstance(g.subnet, SubnetSpec)]
    assert fallback and all(isinstance(g.subnet, SubnetSpec) and g.subnet.vpc == "<new vpc>" for g in fallback)
    assert all(g.mount_target is None or isinstance(g.mount_target.subnet, str) for g in instance.launches)


def test_a_step_whose_input_cannot_be_known_fails_the_dry_run_by_name() -> None:
    plan = _plan({"name": "broken", "region": "us-east-1", "compute": {"gpu": "t4"}})
    steps = list(plan.regions[0].steps)
    index = next(i for i, s in enumerate(steps) if s.id == "instance")
    spec = steps[index].spec
    assert isinstance(spec, InstanceSpec)
    emptied = (dataclasses.replace(spec.launches[0], subnet=""), *spec.launches[1:])  # e.g. no subnet in the zone
    steps[index] = dataclasses.replace(steps[index], spec=dataclasses.replace(spec, launches=emptied))
    broken = dataclasses.replace(plan, regions=(RegionSteps(plan.regions[0].region, tuple(steps)),))
    with pytest.raises(UserError, match="step instance: subnet is not known"):
        rehearse(broken)


def test_a_saved_plan_reads_back_into_the_same_steps_and_placement() -> None:
    plan = _plan({"name": "saved", "region": "us-east-1", "compute": {"gpu": "t4"}, "storage": {"data": "ebs"}})
    again = plan_from_json(json.loads(json.dumps(plan.as_json())))
    assert [canonical(r.steps) for r in again.regions] == [canonical(r.steps) for r in plan.regions]
    assert again.regions == plan.regions, "typed specs, references and nested launch groups come back equal"
    placements = [dataclasses.replace(p, quota_check=None) for p in (plan.placement, *plan.fallbacks)]
    assert [again.placement, *again.fallbacks] == placements, "the quota check is for reading only"
    assert (again.ami, again.config, again.account) == (plan.ami, plan.config, plan.account)
    assert again.cost.hourly_usd == plan.cost.hourly_usd


def test_a_saved_plan_is_refused_when_account_region_config_or_age_no_longer_hold() -> None:
    plan = _plan({"name": "aged", "region": "us-east-1", "compute": {"gpu": "t4"}})
    now = plan.planned_at
    assert saved_plan_problems(plan, account=plan.account, now=now, config=plan.config, region="us-east-1") == []
    assert "account" in saved_plan_problems(plan, account="999999999999", now=now)[0]
    assert "us-west-2" in saved_plan_problems(plan, account=plan.account, now=now, region="us-west-2")[0]
    changed = plan.config.model_copy(update={"name": "other"})
    assert "name" in saved_plan_problems(plan, account=plan.account, now=now, config=changed)[0]
    assert "h old" in saved_plan_problems(plan, account=plan.account, now=now + PLAN_VALID_S + 1)[0]
    assert saved_plan_problems(plan, account=plan.account, now=time.time()) == []
    with pytest.raises(PlanFileError, match="format"):
        plan_from_json({**plan.as_json(), "format": 0})
    with pytest.raises(PlanFileError, match="unknown step kind 'nat-gateway'"):
        document = plan.as_json()
        document["regions"][0]["steps"][0]["kind"] = "nat-gateway"
        plan_from_json(document)
