"""The stack's Auto Scaling group of one: created (or moved) after each launch, scaled to zero by `stop`.

The CLI launches with instant fleets (clear answers, the plan's zone/type/market failover) and then
hands the instance to the group, which replaces it whenever AWS takes it. With
`market: spot-or-on-demand` an on-demand group of the same shape and an alarm on the spot group's
missing instance (desired but not in service) take over when spot capacity stays gone.
"""

from __future__ import annotations

from geusemaker.models.launch_specs import ReplacementSpec
from geusemaker.models.replacement import (
    ON_DEMAND_ON_POLICY,
    SPOT_OFF_POLICY,
    alarm_name,
    fallback_group_name,
    group_name,
    overrides_for,
    policy_name,
)
from geusemaker.models.step_refs import Output
from geusemaker.models.tags import TAG_STACK_ID
from geusemaker.orchestration.create import RegionRun
from geusemaker.services.alarms import NO_SPOT_METRICS, AlarmService
from geusemaker.services.autoscaling import AutoScalingService, GroupShape
from geusemaker.services.aws import AwsClients
from geusemaker.services.compute import ComputeService
from geusemaker.state.store import StateStore


def create_replacement(run: RegionRun, spec: ReplacementSpec) -> Output:
    """The replacement step's handler: the group in the instance's zone (created or updated), the instance in it."""
    assert isinstance(spec.instance, str) and isinstance(spec.zone, str) and isinstance(spec.launch_template, str)
    launched = run.launched
    market = str(getattr(launched, "market", None) or next((s.market for s in spec.shapes), "on-demand"))
    described = run.compute.describe_instance(spec.instance) or {}
    subnet = str(described.get("SubnetId", ""))
    types = overrides_for(spec.shapes, spec.zone, market)
    itype = str(described.get("InstanceType") or getattr(launched, "instance_type", "") or "")
    if itype and itype not in types:
        types = (itype, *types)
    groups = AutoScalingService(run.clients, run.region, run.sleep, run.waiter_delay_s)
    stack_id = run.tags[TAG_STACK_ID]
    name = group_name(run.name, stack_id)
    _ensure_group(run, groups, name, GroupShape(subnet, spec.launch_template, types, market), "primary")
    groups.attach(name, spec.instance)
    if spec.fallback_on_demand and market == "spot":
        fallback = fallback_group_name(run.name, stack_id)
        od_types = overrides_for(spec.shapes, spec.zone, "on-demand") or types
        _ensure_group(
            run, groups, fallback, GroupShape(subnet, spec.launch_template, od_types, "on-demand"), "fallback"
        )
        groups.enable_metrics(name, NO_SPOT_METRICS)
        actions = [
            groups.put_exact_capacity_policy(name, policy_name(name, SPOT_OFF_POLICY), 0),
            groups.put_exact_capacity_policy(fallback, policy_name(fallback, ON_DEMAND_ON_POLICY), 1),
        ]
        alarm = alarm_name(run.name, stack_id)
        AlarmService(run.clients, run.region).put_no_spot_alarm(alarm, name, actions, run.name, run.tags)
        run.record("alarm", alarm, group=name)  # idempotent: a start finds it recorded
    return Output(name, zone=spec.zone)


def _ensure_group(run: RegionRun, groups: AutoScalingService, name: str, shape: GroupShape, role: str) -> None:
    """Create the group, or move the one a stopped stack kept to this launch's subnet, types and market."""
    if groups.state(name) is None:
        groups.create_group(name, shape, run.name, run.tags)
    else:
        groups.update_group(name, shape)
    run.record("autoscaling-group", name, role=role, market=shape.market)  # idempotent: a start finds it recorded


def scale_to_zero(clients: AwsClients, store: StateStore, name: str, *, waiter_delay_s: int = 5) -> list[str]:
    """Disable the fallback alarm, set every group of the stack to 0 and wait for its instances to terminate.

    Returns the instances the groups held. A stopped stack keeps its groups (they cost nothing) empty.
    """
    records = store.resources(name)
    for record in (r for r in records if r.kind == "alarm"):
        AlarmService(clients, record.region).set_actions(record.resource_id, False)
    held: list[tuple[str, str]] = []
    for record in (r for r in records if r.kind == "autoscaling-group"):
        groups = AutoScalingService(clients, record.region, delay_s=waiter_delay_s)
        state = groups.state(record.resource_id)
        if state is None:
            continue
        if state.desired:
            groups.set_desired(record.resource_id, 0)
        held += [(record.region, instance) for instance in state.instance_ids]
    for region, instance in held:
        ComputeService(clients, region).terminate(instance, delay_s=waiter_delay_s)
    return [instance for _, instance in held]
