"""Delete a deployment's resources in reverse dependency order; idempotent; discovery by tags."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from geusemaker.errors import UsageError, UserError
from geusemaker.models.names import name_problem
from geusemaker.models.tags import TAG_DEPLOYMENT, TAG_STACK_ID, as_dict, owned
from geusemaker.orchestration.kinds import KINDS, DeleteContext, delete_order, from_tags, kind, needed_by
from geusemaker.services.aws import AwsClients
from geusemaker.services.tagging import tagged_resources
from geusemaker.state.store import ResourceRecord, StateStore


@dataclass
class DestroyReport:
    deleted: list[ResourceRecord] = field(default_factory=list)
    failed: list[tuple[ResourceRecord, str]] = field(default_factory=list)
    #: the stack's data, left in place because its deletion was not asked for
    kept: list[ResourceRecord] = field(default_factory=list)


class Destroyer:
    """Deletes resources kind by kind; a resource that is already gone counts as deleted."""

    def __init__(
        self,
        clients: AwsClients,
        store: StateStore | None,
        deployment: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        on_progress: Callable[[str, str], None] = lambda kind, text: None,
        waiter_delay_s: int = 5,
        on_deleted: Callable[[ResourceRecord], None] = lambda _: None,
        delete_data: Callable[[ResourceRecord], bool] = lambda _: False,
    ) -> None:
        self.on_deleted = on_deleted
        self.delete_data = delete_data
        self.clients = clients
        self.store = store
        self.deployment = deployment
        self.sleep = sleep
        self.on_progress = on_progress
        self.waiter_delay_s = waiter_delay_s

    def destroy(self, records: Iterable[ResourceRecord]) -> DestroyReport:
        """Delete `records` kind by kind in the registry's order; what a failed deletion still needs stays."""
        report = DestroyReport()
        by_kind: dict[str, list[ResourceRecord]] = {}
        for record in records:
            registered = kind(record.kind)  # an unknown kind stops the destroy before anything is deleted
            if registered.keep and not self.delete_data(record):
                report.kept.append(record)
                continue
            by_kind.setdefault(record.kind, []).append(record)
        blocked: set[str] = set()
        for name in delete_order():
            batch = by_kind.pop(name, [])
            if not batch:
                continue
            if name in blocked:  # something that uses this kind is still there; a re-run continues
                report.failed += [
                    (record, "not attempted: a resource it depends on is still there") for record in batch
                ]
                continue
            self.on_progress(name, f"deleting {len(batch)} {name}")
            with ThreadPoolExecutor(max_workers=8, thread_name_prefix="destroy") as pool:
                outcomes = list(pool.map(self._delete_one, batch))
            for record, error in zip(batch, outcomes, strict=True):
                if error is None:
                    report.deleted.append(record)
                    if self.store is not None:
                        self.store.mark_deleted(self.deployment, record.kind, record.resource_id, record.region)
                    self.on_deleted(record)
                else:
                    report.failed.append((record, error))
                    blocked |= needed_by(name)
        return report

    def _delete_one(self, record: ResourceRecord) -> str | None:
        deleter = kind(record.kind).delete
        assert deleter is not None  # delete_order() holds only kinds that can be deleted
        try:
            deleter(DeleteContext(self.clients, record.region, self.sleep, self.waiter_delay_s), record.resource_id)
        except UserError as exc:
            return exc.message
        return None


def discover(
    clients: AwsClients, deployment: str, regions: Iterable[str], stack_id: str | None = None
) -> list[ResourceRecord]:
    """Every resource tagged with `deployment` in `regions` (direct describes plus the tagging API).

    With `stack_id`, only the resources of that one stack: another stack (or another install's)
    of the same name is never found.
    """
    problem = name_problem(deployment)
    if problem:  # a name is a tag value (with wildcards) and an SSM path: only the name rule is safe
        raise UsageError(problem)
    found: dict[tuple[str, str, str], ResourceRecord] = {}

    def add(kind: str, rid: str, region: str) -> None:
        found.setdefault((kind, rid, region), ResourceRecord(kind, rid, region))

    regions = sorted(set(regions))
    with ThreadPoolExecutor(max_workers=16, thread_name_prefix="discover") as pool:
        per_region = list(pool.map(lambda r: (r, _discover_region(clients, deployment, r, stack_id)), regions))
    for region, items in per_region:
        for found_kind, rid in items:
            add(found_kind, rid, region)
    for registered in KINDS.values():
        if registered.global_ and registered.find is not None:
            for rid in registered.find(clients, "global", deployment, stack_id):
                add(registered.name, rid, "global")
    return list(found.values())


def foreign(clients: AwsClients, deployment: str, regions: Iterable[str], stack_id: str | None) -> list[ResourceRecord]:
    """Resources tagged with `deployment` in `regions` (or IAM) that do not carry `stack_id`: another stack's."""
    regions = sorted(set(regions))
    everything = discover(clients, deployment, regions)
    if stack_id is None:
        return everything
    ours = {(r.kind, r.resource_id, r.region) for r in discover(clients, deployment, regions, stack_id)}
    return [r for r in everything if (r.kind, r.resource_id, r.region) not in ours]


def stacks(clients: AwsClients, deployment: str, regions: Iterable[str]) -> dict[str, list[ResourceRecord]]:
    """What carries `deployment`'s name in `regions`, by stack id ("" for resources without one).

    The stack ids come from the tagging API; each stack's resources from `discover` with its id.
    """
    regions = sorted(set(regions))
    ids: set[str] = set()
    for region in regions:
        try:
            for mapping in tagged_resources(clients, region, TAG_DEPLOYMENT, deployment):
                ids.add(as_dict(mapping.get("Tags")).get(TAG_STACK_ID, ""))
        except UserError:
            continue
    groups = {sid: discover(clients, deployment, regions, sid) for sid in sorted(ids - {""})}
    groups = {sid: found for sid, found in groups.items() if found}  # lingering ids of stacks already gone
    claimed = {(r.kind, r.resource_id, r.region) for found in groups.values() for r in found}
    rest = [r for r in discover(clients, deployment, regions) if (r.kind, r.resource_id, r.region) not in claimed]
    return groups | ({"": rest} if rest else {})


def _discover_region(clients: AwsClients, deployment: str, region: str, stack_id: str | None) -> list[tuple[str, str]]:
    """Regional kinds found by their own describe calls, plus what the tagging API knows by our tags."""
    items: list[tuple[str, str]] = []
    for registered in KINDS.values():
        if not registered.global_ and registered.find is not None:
            items += [(registered.name, rid) for rid in registered.find(clients, region, deployment, stack_id)]
    try:
        for mapping in tagged_resources(clients, region, TAG_DEPLOYMENT, deployment):
            tags = as_dict(mapping.get("Tags"))
            parsed = from_tags(str(mapping["ResourceARN"]), tags)
            if parsed and owned(tags, deployment, stack_id):
                items.append(parsed)
    except UserError:
        pass  # the tagging API is a second look; the describes above are the first
    return items
