"""`status --refresh` with the stack's Auto Scaling groups: interruptions, replacements, fallbacks, scale to zero.

AWS replaces the instance without the CLI; this compares what the groups hold with what the state
recorded and writes the difference as history events (`interrupted`, `replaced`,
`fallback-on-demand`, `scaled-to-zero`) and facts (instance id, address, type, market, price).
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Any

from geusemaker.models.history import EventKind, events_of
from geusemaker.models.replacement import ZoneTypes, planned_price
from geusemaker.orchestration.history import record_event
from geusemaker.orchestration.lifecycle import record_instance_state
from geusemaker.services.autoscaling import AutoScalingService, GroupState
from geusemaker.services.aws import AwsClients
from geusemaker.services.compute import ComputeService
from geusemaker.state.store import DeploymentRecord, StateStore

#: the detail of a stack its guard (idle or deadline) scaled to zero
SCALED_TO_ZERO_DETAIL = "stopped by the idle guard/deadline; data kept"
_GMT_TIME = re.compile(r"\((\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) GMT\)")


def refresh(clients: AwsClients, store: StateStore, record: DeploymentRecord) -> None:
    """Reconcile `record` with its groups (when it has any), then with what EC2 says of its instance."""
    region = str(record.facts.get("region") or record.region)
    groups = [r for r in store.resources(record.name) if r.kind == "autoscaling-group" and r.region == region]
    compute = ComputeService(clients, region)
    recorded = record.facts.get("instance_id")
    # a stopped stack too: its groups may have launched an instance since (harmless after a stop: they are empty)
    if groups and record.status in ("running", "degraded", "stopped", "interrupted", "terminated"):
        service = AutoScalingService(clients, region)
        states = [s for s in (service.state(g.resource_id) for g in groups) if s is not None]
        holding = next((s for s in states if s.instance_ids), None)
        if holding is not None and recorded not in holding.instance_ids:
            primary = next((g.resource_id for g in groups if g.data.get("role") != "fallback"), "")
            _replaced(store, record, compute, service, holding, primary)
            return
        settled = record.status in ("stopped", "terminated")
        if states and holding is None and not any(s.desired for s in states) and not settled:
            _scaled_to_zero(store, record, compute)
            return
    if not recorded and record.status == "stopped":
        return  # no instance to ask EC2 about
    record_instance_state(store, record, compute.describe_instance(str(recorded)) if recorded else None)


def _replaced(
    store: StateStore,
    record: DeploymentRecord,
    compute: ComputeService,
    service: AutoScalingService,
    holding: GroupState,
    primary: str,
) -> None:
    """The group runs another instance than the recorded one: AWS took the old one and replaced it."""
    name, old = record.name, record.facts.get("instance_id")
    new_id = holding.instance_ids[0]
    activity = _activity(service, holding.name, new_id)
    new = compute.describe_instance(new_id) or {}
    zone = str(new.get("Placement", {}).get("AvailabilityZone", "") or record.facts.get("availability_zone") or "")
    market = "spot" if new.get("InstanceLifecycle") == "spot" else holding.market
    itype = str(new.get("InstanceType") or record.facts.get("instance_type") or "")
    price = planned_price(_shapes(record), zone, market, itype)
    if price is None and itype == record.facts.get("instance_type") and market == record.facts.get("market"):
        price = record.facts.get("hourly_usd")
    launched = new.get("LaunchTime")
    # EC2's times have whole seconds: never before what the history already holds
    previous = max((e.at for e in events_of(record.facts)), default=0.0)
    at = max(launched.timestamp() if isinstance(launched, datetime) else time.time(), previous)
    if old:
        gone = compute.describe_instance(str(old)) or {}
        reason = gone.get("StateReason", {}).get("Message") or gone.get("StateReason", {}).get("Code") or ""
        cause = str(activity.get("Cause", "")) if activity else ""
        record_event(store, name, "interrupted", at=max(min(_ended_at(gone), at), previous), instance_id=str(old),
                     detail="; ".join(part for part in (reason, cause) if part) or "terminated by AWS")  # fmt: skip
        store.mark_deleted(name, "instance", str(old), record.region)
    event: EventKind = "replaced" if holding.name == primary or market == "spot" else "fallback-on-demand"
    record_event(store, name, event, at=at, instance_id=new_id, instance_type=itype, market=market,
                 hourly_usd=price, detail=f"by Auto Scaling group {holding.name} in {zone}")  # fmt: skip
    store.record(name, "instance", new_id, record.region, zone=zone)
    store.update_facts(name, instance_id=new_id, public_ip=new.get("PublicIpAddress"), instance_type=itype,
                       market=market, availability_zone=zone, hourly_usd=price, launched_at=at)  # fmt: skip
    when = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M UTC")
    what = "moved to on-demand" if event == "fallback-on-demand" else "replaced"
    store.set_status(name, "running", f"{what} by AWS at {when}: {new_id} ({itype} {market})")


def _scaled_to_zero(store: StateStore, record: DeploymentRecord, compute: ComputeService) -> None:
    """No instance and no desired capacity: the guard scaled the stack to zero (its data stays)."""
    old = record.facts.get("instance_id")
    gone = compute.describe_instance(str(old)) if old else None
    at = max(_ended_at(gone or {}), max((e.at for e in events_of(record.facts)), default=0.0))
    record_event(store, record.name, "scaled-to-zero", at=at, instance_id=str(old) if old else None,
                 detail=SCALED_TO_ZERO_DETAIL)  # fmt: skip
    if old:
        store.mark_deleted(record.name, "instance", str(old), record.region)
    store.update_facts(record.name, instance_id=None, public_ip=None, stopped_at=at)
    store.set_status(record.name, "stopped", f"{SCALED_TO_ZERO_DETAIL}; geusemaker start {record.name} brings it back")


def _activity(service: AutoScalingService, group: str, instance_id: str) -> dict[str, Any] | None:
    """The scaling activity that launched `instance_id` (its Cause says why: capacity, rebalance, health)."""
    return next((a for a in service.activities(group) if instance_id in str(a.get("Description", ""))), None)


def _ended_at(instance: dict[str, Any]) -> float:
    """When EC2 says the instance went (its state transition reason carries the time), else now."""
    found = _GMT_TIME.search(str(instance.get("StateTransitionReason", "")))
    if found:
        return datetime.strptime(found.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp()
    return time.time()


def _shapes(record: DeploymentRecord) -> tuple[ZoneTypes, ...]:
    """The planned (zone, market, types, prices) of the stack's group step, from the plan in its state."""
    shapes: list[ZoneTypes] = []
    for region in (record.plan or {}).get("regions", []):
        for step in region.get("steps", []) if isinstance(region, dict) else []:
            if isinstance(step, dict) and step.get("kind") == "autoscaling-group":
                for shape in step.get("spec", {}).get("shapes", []):
                    types, prices = tuple(shape.get("instance_types", ())), tuple(shape.get("hourly_usd", ()))
                    shapes.append(ZoneTypes(str(shape.get("zone")), str(shape.get("market")), types, prices))
    return tuple(shapes)
