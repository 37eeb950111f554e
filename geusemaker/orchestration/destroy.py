"""Delete a deployment's resources in reverse dependency order; idempotent; discovery by tags."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from geusemaker.errors import UsageError, UserError
from geusemaker.models.names import name_problem
from geusemaker.models.tags import TAG_DEPLOYMENT, owned
from geusemaker.services.aws import AwsClients, translate_errors
from geusemaker.services.compute import ComputeService
from geusemaker.services.iam import IamService
from geusemaker.services.network import NetworkService
from geusemaker.services.parameters import ParameterService
from geusemaker.services.storage import FileSystemService
from geusemaker.state.store import ResourceRecord, StateStore

#: Kinds in the order they are deleted: what uses a resource goes before it.
DELETE_ORDER = (
    "instance", "fleet", "launch-template", "mount-target", "file-system", "security-group",
    "route-table", "internet-gateway", "subnet", "vpc", "instance-profile", "iam-role", "ssm-parameter",
)  # fmt: skip
#: ARN resource types mapped to our kinds. Instances are left to DescribeInstances: terminated ones
#: linger in the tagging API for a while.
CHAINS = dict.fromkeys(DELETE_ORDER, "network") | {
    "instance-profile": "iam",
    "iam-role": "iam",
    "ssm-parameter": "ssm",
}
_ARN_KINDS = {
    "vpc": "vpc", "subnet": "subnet", "security-group": "security-group",
    "route-table": "route-table", "internet-gateway": "internet-gateway", "launch-template": "launch-template",
    "file-system": "file-system",
}  # fmt: skip


@dataclass
class DestroyReport:
    deleted: list[ResourceRecord] = field(default_factory=list)
    failed: list[tuple[ResourceRecord, str]] = field(default_factory=list)


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
    ) -> None:
        self.on_deleted = on_deleted
        self.clients = clients
        self.store = store
        self.deployment = deployment
        self.sleep = sleep
        self.on_progress = on_progress
        self.waiter_delay_s = waiter_delay_s

    def destroy(self, records: Iterable[ResourceRecord]) -> DestroyReport:
        report = DestroyReport()
        by_kind: dict[str, list[ResourceRecord]] = {}
        for record in records:
            by_kind.setdefault(record.kind, []).append(record)
        blocked: set[str] = set()
        for kind in DELETE_ORDER:
            batch = by_kind.pop(kind, [])
            if not batch:
                continue
            if CHAINS[kind] in blocked:  # what this kind depends on is still there; a re-run continues
                report.failed += [
                    (record, "not attempted: a resource it depends on is still there") for record in batch
                ]
                continue
            self.on_progress(kind, f"deleting {len(batch)} {kind}")
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
                    blocked.add(CHAINS[kind])
        return report

    def _delete_one(self, record: ResourceRecord) -> str | None:
        try:
            self._delete(record)
        except UserError as exc:
            return exc.message
        return None

    def _delete(self, record: ResourceRecord) -> None:
        kind, rid, region = record.kind, record.resource_id, record.region
        if kind == "instance":
            ComputeService(self.clients, region).terminate(rid, delay_s=self.waiter_delay_s)
        elif kind == "fleet":
            ComputeService(self.clients, region).delete_fleet(rid)
        elif kind == "launch-template":
            ComputeService(self.clients, region).delete_launch_template(rid)
        elif kind == "mount-target":
            FileSystemService(self.clients, region, self.sleep).delete_mount_target(rid)
        elif kind == "file-system":
            FileSystemService(self.clients, region, self.sleep).delete_file_system(rid)
        elif kind in {"security-group", "route-table", "internet-gateway", "subnet", "vpc"}:
            network = NetworkService(self.clients, region, self.sleep)
            getattr(network, f"delete_{kind.replace('-', '_')}")(rid)
        elif kind == "instance-profile":
            IamService(self.clients).delete_instance_profile(rid)
        elif kind == "iam-role":
            IamService(self.clients).delete_role(rid)
        elif kind == "ssm-parameter":
            ParameterService(self.clients, region).delete(rid)
        else:
            raise UserError(f"unknown resource kind {kind!r}")


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
        for kind, rid in items:
            add(kind, rid, region)
    iam = IamService(clients)
    for role in iam.find_roles(deployment, stack_id):
        add("iam-role", role, "global")
    for profile in iam.find_instance_profiles(deployment, stack_id):
        add("instance-profile", profile, "global")
    return list(found.values())


def _discover_region(clients: AwsClients, deployment: str, region: str, stack_id: str | None) -> list[tuple[str, str]]:
    items: list[tuple[str, str]] = []
    for kind, ids in ComputeService(clients, region).find(deployment, stack_id).items():
        items += [(kind, rid) for rid in ids]
    items += [("file-system", fs) for fs in FileSystemService(clients, region).find(deployment, stack_id)]
    items += [("ssm-parameter", name) for name in ParameterService(clients, region).list_names(deployment, stack_id)]
    items += _tagging_api(clients, deployment, region, stack_id)
    return items


def _tagging_api(clients: AwsClients, deployment: str, region: str, stack_id: str | None) -> list[tuple[str, str]]:
    """Resources the Resource Groups Tagging API knows by our tag, as (kind, id)."""
    client = clients.client("resourcegroupstaggingapi", region)
    items = []
    try:
        with translate_errors("tag:GetResources"):
            pages = client.get_paginator("get_resources").paginate(
                TagFilters=[{"Key": TAG_DEPLOYMENT, "Values": [deployment]}]
            )
            for page in pages:
                for mapping in page["ResourceTagMappingList"]:
                    parsed = _parse_arn(mapping["ResourceARN"])
                    if parsed and owned(mapping.get("Tags"), deployment, stack_id):
                        items.append(parsed)
    except UserError:
        return []
    return items


def _parse_arn(arn: str) -> tuple[str, str] | None:
    """arn:aws:ec2:us-east-1:123:vpc/vpc-1 -> ("vpc", "vpc-1"); unknown types -> None."""
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return None
    resource = parts[5]
    if parts[2] == "ssm" and resource.startswith("parameter/"):
        return "ssm-parameter", "/" + resource.removeprefix("parameter/")
    kind, _, rid = resource.partition("/")
    kind = _ARN_KINDS.get(kind, "")
    return (kind, rid) if kind and rid else None
