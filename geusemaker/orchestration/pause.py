"""Stop and start a stack: the instance goes and comes back; its data, secrets, network and template stay."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict

from geusemaker.errors import UsageError, UserError
from geusemaker.models.data_layout import LAYOUT_FACT
from geusemaker.models.plan import Plan
from geusemaker.models.status import REFRESHABLE
from geusemaker.models.step_refs import Output
from geusemaker.models.tags import stack_tags
from geusemaker.orchestration.create import RegionRun
from geusemaker.orchestration.deadline import clear_deadline, write_deadline
from geusemaker.orchestration.deployer import create_handlers
from geusemaker.orchestration.destroy import Destroyer
from geusemaker.orchestration.executor import StepEvent, StepFailed, run_steps
from geusemaker.orchestration.history import record_event, record_launch
from geusemaker.orchestration.kinds import kind
from geusemaker.orchestration.launch import Launched, RegionExhausted, capacity_exhausted
from geusemaker.orchestration.move import subnet_for_zone
from geusemaker.orchestration.reconcile import refresh
from geusemaker.orchestration.replacement import scale_to_zero
from geusemaker.services.aws import AwsClients
from geusemaker.state.store import ResourceRecord, StateStore

#: what `stop` deletes (and `start` creates again): everything else of the stack stays
INSTANCE_KINDS = ("instance", "fleet")
#: the steps that depend on nothing a stopped stack lacks, by the step id the plan gives them
KEPT_STEPS = ("vpc", "subnet", "route-table", "security-group", "launch-template", "file-system")
STARTABLE = frozenset({"stopped", "interrupted", "terminated"})


def stop(clients: AwsClients, store: StateStore, name: str, *, waiter_delay_s: int = 5) -> list[ResourceRecord]:
    """Terminate the stack's instance (its data volume detaches and stays); returns what was deleted."""
    record = store.get(name)
    if record is None or record.status not in ("running", "degraded", "interrupted", "terminated"):
        status = record.status if record else "not deployed"
        raise UsageError(
            f"{name!r} cannot be stopped (status {status})", hint=f"See it with `geusemaker status {name}`."
        )
    refresh(clients, store, record)  # a replacement the CLI has not seen yet: the events name the right instance
    record = store.get(name) or record
    clear_deadline(clients, store, name, str(record.facts.get("region") or record.region))
    scale_to_zero(clients, store, name, waiter_delay_s=waiter_delay_s)  # the group must not replace it
    instances = [r for r in store.resources(name) if r.kind in INSTANCE_KINDS]
    report = Destroyer(clients, store, name, waiter_delay_s=waiter_delay_s).destroy(instances)
    if report.failed:
        raise UsageError(
            f"{name}: {len(report.failed)} resources could not be stopped",
            details=[f"{r.kind} {r.resource_id}: {why}" for r, why in report.failed],
            hint=f"Run `geusemaker stop {name}` again.",
        )
    stopped_at = time.time()
    store.update_facts(name, instance_id=None, public_ip=None, stopped_at=stopped_at)
    record_event(store, name, "stopped", at=stopped_at, instance_id=record.facts.get("instance_id"))
    store.set_status(name, "stopped", f"stopped by geusemaker stop; geusemaker start {name} brings it back")
    return report.deleted


def start(
    clients: AwsClients,
    store: StateStore,
    plan: Plan,
    *,
    on_event: Callable[[StepEvent], None] = lambda _: None,
    waiter_delay_s: int = 5,
) -> Launched:
    """Launch the planned instance with the stack's kept network, template, data and secrets.

    A failure terminates what this start launched and leaves the stack stopped.
    """
    name, region = plan.name, plan.placement.region
    record = store.get(name)
    if record is not None and record.status in REFRESHABLE:
        refresh(clients, store, record)  # the guard may have scaled it to zero since the CLI last looked
        record = store.get(name) or record
    if record is None or record.status not in STARTABLE:
        status = record.status if record else "not deployed"
        raise UsageError(
            f"{name!r} cannot be started (status {status})", hint=f"See it with `geusemaker status {name}`."
        )
    records = store.resources(name)
    outputs = _kept_outputs(records, region, plan.placement.availability_zone)
    kept = tuple(r for r in records if kind(r.kind).keep)
    tags = stack_tags(plan.config.tags, str(record.facts.get("stack_id") or uuid.uuid4().hex))
    run = RegionRun(clients, store, plan.config, region, tags, uuid.uuid4().hex[:16], waiter_delay_s=waiter_delay_s,
                    kept=kept, outputs=outputs)  # fmt: skip
    steps = [step for step in plan.steps if step.kind in ("instance", "data-volume", "autoscaling-group")]
    steps = subnet_for_zone(steps, outputs, clients, region)  # the data moved to a zone without a subnet yet
    scale_to_zero(clients, store, name, waiter_delay_s=waiter_delay_s)  # a group still trying to replace stops
    begun = time.time()
    write_deadline(clients, store, name, region, plan.config.lifecycle.max_runtime_hours, tags)
    try:
        run_steps(steps, create_handlers(run), on_event, outputs=run.outputs)
    except (StepFailed, KeyboardInterrupt) as error:
        with contextlib.suppress(UserError):  # the start's own error comes first
            scale_to_zero(clients, store, name, waiter_delay_s=waiter_delay_s)  # nothing may come back by itself
        with contextlib.suppress(UserError):  # the launch's failure comes first; a later start, stop or destroy retries
            clear_deadline(clients, store, name, region)
        launched = [r for r in store.resources(name) if r.created_at >= begun and not kind(r.kind).keep]
        Destroyer(clients, store, name, waiter_delay_s=waiter_delay_s).destroy(launched)
        cause = error.cause if isinstance(error, StepFailed) else error
        if isinstance(cause, RegionExhausted):
            raise capacity_exhausted(cause.attempts, cause.quota) from cause
        if isinstance(cause, UserError):
            raise cause from None
        raise
    launched = run.launched
    assert isinstance(launched, Launched)
    facts = asdict(launched) | {"attempts": [str(a) for a in launched.attempts], "launched_at": time.time(),
                                LAYOUT_FACT: plan.data_layout}  # fmt: skip
    store.update_facts(name, **facts)
    store.save_plan(name, plan.as_json())  # a replacement of a type only this start planned is priced
    store.set_status(name, "running")
    record_launch(store, name, launched, facts["launched_at"])
    return launched


def _kept_outputs(records: list[ResourceRecord], region: str, zone: str) -> dict[str, Output]:
    """The outputs of the steps a stopped stack keeps (its subnet: the one in the planned zone)."""
    outputs: dict[str, Output] = {}
    for record in records:
        if record.region != region or record.kind not in KEPT_STEPS:
            continue
        if record.kind == "subnet" and record.data.get("zone") not in (None, zone):
            continue
        outputs.setdefault(record.kind, Output(record.resource_id, zone=str(record.data.get("zone") or "")))
    return outputs
