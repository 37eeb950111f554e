"""Moving a stopped stack's data volume to another zone of its region, through a snapshot.

The old volume stays as it was until the new one is available; a failure before that deletes only
what the move made. `start` then plans in the new zone (the recorded volume's), and its launch
creates a subnet there when the stack has none yet (`subnet_for_zone`).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from geusemaker.errors import UsageError, UserError
from geusemaker.models.launch_specs import InstanceSpec
from geusemaker.models.market import Price
from geusemaker.models.step_refs import Output, Ref
from geusemaker.models.steps import Step, SubnetSpec
from geusemaker.models.tags import stack_tags
from geusemaker.services.aws import AwsClients
from geusemaker.services.network import NetworkService
from geusemaker.services.snapshots import SnapshotService
from geusemaker.services.volumes import VolumeService
from geusemaker.state.store import ResourceRecord, StateStore

#: the statuses in which no instance holds the data volume
MOVABLE = frozenset({"stopped", "data-kept"})
#: a rough speed of a first snapshot plus the new volume (minutes per GiB), and the fixed part
MINUTES_PER_GB = 0.1
MINUTES_FIXED = 3


@dataclass(frozen=True)
class MovePlan:
    """What a move will do, and what it costs, before anything is done."""

    name: str
    region: str
    volume: dict[str, Any]
    to_zone: str
    snapshot_rate: Price

    @property
    def volume_id(self) -> str:
        return str(self.volume["VolumeId"])

    @property
    def from_zone(self) -> str:
        return str(self.volume["AvailabilityZone"])

    @property
    def size_gb(self) -> int:
        return int(self.volume["Size"])

    @property
    def snapshot_monthly_usd(self) -> float | None:
        """The snapshot's cost per month at most (AWS bills the blocks written, up to the volume's size)."""
        rate = self.snapshot_rate.usd
        return None if rate is None else round(self.size_gb * rate, 2)

    @property
    def done(self) -> bool:
        """The data is in the zone already: only what an interrupted move left is deleted."""
        return self.from_zone == self.to_zone

    @property
    def minutes(self) -> int:
        """A rough estimate of the move's duration: the snapshot copies every written block."""
        return MINUTES_FIXED + math.ceil(self.size_gb * MINUTES_PER_GB)


@dataclass(frozen=True)
class Moved:
    volume_id: str
    zone: str
    snapshot_id: str
    snapshot_kept: bool


def plan_move(
    clients: AwsClients,
    store: StateStore,
    name: str,
    zone: str,
    snapshot_rate: Price,
    zones: Callable[[str], list[str]],
) -> MovePlan:
    """Check that `name` can move its data to `zone`, one of `zones(region)` (a usage error says what to do)."""
    record = store.get(name)
    if record is None:
        raise UsageError(f"no deployment named {name!r} in the local state", hint="See them with: geusemaker list")
    if record.status not in MOVABLE:
        raise UsageError(
            f"{name!r} cannot move its data while {record.status}: an instance may still hold the volume",
            hint=f"Stop it first: geusemaker stop {name}",
        )
    records = store.resources(name)
    data = next((r for r in records if r.kind == "data-volume" and not r.data.get("replaced_by")), None)
    if data is None:
        raise UsageError(
            f"{name!r} has no EBS data volume to move (storage.data: {record.config.get('storage', {}).get('data')})",
            hint="An EFS file system is regional: every zone of the region reaches it already.",
        )
    known = sorted(zones(data.region))
    if zone not in known:
        raise UsageError(
            f"{zone} is not an availability zone of {data.region} (a move stays within the stack's region)",
            hint=f"Zones of {data.region}: {', '.join(known)}",
        )
    volume = VolumeService(clients, data.region).describe(data.resource_id)
    if volume["AvailabilityZone"] == zone and not leftovers(records, data.resource_id):
        raise UsageError(f"{name}'s data volume {volume['VolumeId']} is in {zone} already; nothing to move")
    if volume.get("State") != "available":
        raise UsageError(
            f"{name}'s data volume {volume['VolumeId']} is {volume.get('State')} (still attached?)",
            hint="Wait a minute for the stopped instance to let go of it, then move again.",
        )
    return MovePlan(name, data.region, volume, zone, snapshot_rate)


def leftovers(records: list[ResourceRecord], data: str) -> list[ResourceRecord]:
    """What an interrupted move left: the volume it replaced, its unfinished copy of `data`, its snapshot."""
    return [
        r
        for r in records
        if (r.kind == "data-volume" and (r.data.get("replaced_by") or r.data.get("moved_from") == data))
        or (r.kind == "snapshot" and not r.data.get("kept"))
    ]


def move_data(
    clients: AwsClients,
    store: StateStore,
    plan: MovePlan,
    *,
    keep_snapshot: bool = False,
    on_progress: Callable[[str], None] = lambda _: None,
    delay_s: int = 15,
) -> Moved:
    """Snapshot, new volume in the zone, then (only then) delete the old volume and the snapshot unless kept."""
    name, region = plan.name, plan.region
    record = store.get(name)
    assert record is not None
    tags = stack_tags(record.config.get("tags") or {}, str(record.facts.get("stack_id") or ""))
    snapshots, volumes = SnapshotService(clients, region, delay_s), VolumeService(clients, region, delay_s)
    for left in leftovers(store.resources(name), plan.volume_id):
        on_progress(f"deleting {left.kind} {left.resource_id}, left by an interrupted move")
        (volumes.delete if left.kind == "data-volume" else snapshots.delete)(left.resource_id)
        store.mark_deleted(name, left.kind, left.resource_id, left.region)
    if plan.done:
        return Moved(plan.volume_id, plan.to_zone, "", False)
    on_progress(f"snapshot of {plan.volume_id} ({plan.size_gb} GiB)")
    description = f"GeuseMaker {name}: data volume {plan.volume_id} moving to {plan.to_zone}"
    snapshot = snapshots.create(name, plan.volume_id, tags, description)
    store.record(name, "snapshot", snapshot, region, size_gb=plan.size_gb, volume=plan.volume_id)
    created: str | None = None
    try:
        snapshots.wait_completed(snapshot)
        on_progress(f"new volume in {plan.to_zone}")
        copied = [t for t in plan.volume.get("Tags", []) if not str(t["Key"]).startswith("aws:")]
        created = volumes.create_from_snapshot(plan.volume, plan.to_zone, snapshot, copied, f"gm-move-{uuid.uuid4()}")
        store.record(name, "data-volume", created, region, zone=plan.to_zone, moved_from=plan.volume_id)
        volumes.wait_available(created)
    except BaseException as error:
        _undo(store, name, region, volumes, snapshots, created, snapshot, error)
        raise
    # the new volume is the stack's data now; the old one stays recorded until it is deleted
    store.record(name, "data-volume", plan.volume_id, region, zone=plan.from_zone, replaced_by=created)
    if keep_snapshot:
        store.record(name, "snapshot", snapshot, region, size_gb=plan.size_gb, volume=plan.volume_id, kept=True)
    else:
        _finish(snapshots.delete, snapshot, f"the snapshot {snapshot}", name)
        store.mark_deleted(name, "snapshot", snapshot, region)
    on_progress(f"deleting the old volume {plan.volume_id}")
    _finish(volumes.delete, plan.volume_id, f"the old data volume {plan.volume_id} ({plan.from_zone})", name)
    store.mark_deleted(name, "data-volume", plan.volume_id, region)
    return Moved(created, plan.to_zone, snapshot, keep_snapshot)


def _undo(
    store: StateStore,
    name: str,
    region: str,
    volumes: VolumeService,
    snapshots: SnapshotService,
    created: str | None,
    snapshot: str,
    error: BaseException,
) -> None:
    """Delete what the move made (the old volume is untouched); what cannot be deleted stays recorded."""
    left = []
    for kind, rid, delete in (("data-volume", created, volumes.delete), ("snapshot", snapshot, snapshots.delete)):
        if rid is None:
            continue
        try:
            delete(rid)
            store.mark_deleted(name, kind, rid, region)
        except UserError as undo_error:
            left.append(f"{kind} {rid}: {undo_error.message}")
    if left and isinstance(error, UserError):
        error.details = [*error.details, *(f"not undone: {item}" for item in left)]
        error.hint = f"`geusemaker destroy {name} --delete-data` deletes them with the data; the old volume is intact."


def _finish(delete: Callable[[str], None], resource_id: str, what: str, name: str) -> None:
    """A deletion after the data has moved: a failure says what is left and that the data is safe."""
    try:
        delete(resource_id)
    except UserError as error:
        error.message = f"the data has moved, but {what} could not be deleted: {error.message}"
        error.hint = (
            f"Run the same `geusemaker move {name}` again to delete it; `geusemaker start {name}` starts where "
            "the data is now."
        )
        raise


def subnet_for_zone(steps: list[Step], outputs: dict[str, Output], clients: AwsClients, region: str) -> list[Step]:
    """A start in a zone where the stack has no subnet yet (its data moved there): the launch makes one.

    The stack's own network only (an existing VPC's subnets are the user's); the subnet gets a free
    10.42.N.0/24 block of the stack's VPC and its route table, like a capacity fallback's.
    """
    if "subnet" in outputs or "vpc" not in outputs or "route-table" not in outputs:
        return steps
    used = NetworkService(clients, region).subnet_cidrs(outputs["vpc"].id)
    cidr = next(f"10.42.{n}.0/24" for n in range(1, 256) if f"10.42.{n}.0/24" not in used)

    def in_zone(step: Step) -> Step:
        if not isinstance(step.spec, InstanceSpec):
            return step
        new = SubnetSpec(Ref("vpc"), "", cidr, route_table=Ref("route-table"))
        groups = tuple(
            replace(g, subnet=replace(new, zone=g.zone)) if g.subnet == Ref("subnet") else g for g in step.spec.launches
        )
        return replace(step, spec=replace(step.spec, launches=groups))

    return [in_zone(step) for step in steps]
