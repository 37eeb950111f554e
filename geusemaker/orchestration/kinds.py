"""The registry of resource kinds: how each is created from its spec, found by tags, deleted, and ordered.

Rollback, destroy, discovery (`destroy --discover`, `list --discover`) and the executor all read
this one table; a kind that is not registered is an error, never skipped.
"""

from __future__ import annotations

import graphlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from geusemaker.errors import UserError
from geusemaker.models import launch_specs
from geusemaker.models import steps as specs
from geusemaker.models.step_refs import Output
from geusemaker.models.steps import Spec
from geusemaker.orchestration import create
from geusemaker.orchestration.launch import launch_instance
from geusemaker.orchestration.replacement import create_replacement
from geusemaker.services.alarms import AlarmService
from geusemaker.services.autoscaling import AutoScalingService
from geusemaker.services.aws import AwsClients
from geusemaker.services.compute import ComputeService
from geusemaker.services.iam import IamService
from geusemaker.services.network import NetworkService
from geusemaker.services.parameters import DEADLINE_KIND, ParameterService
from geusemaker.services.snapshots import SNAPSHOT_KIND, SnapshotService
from geusemaker.services.storage import FileSystemService
from geusemaker.services.volumes import VolumeService


@dataclass(frozen=True)
class DeleteContext:
    """What a delete needs besides the resource id."""

    clients: AwsClients
    region: str
    sleep: Callable[[float], None] = time.sleep
    waiter_delay_s: int = 5


Creator = Callable[[create.RegionRun, Any], Output]
Finder = Callable[[AwsClients, str, str, "str | None"], list[str]]
Deleter = Callable[[DeleteContext, str], None]


@dataclass(frozen=True)
class ResourceKind:
    """One kind of resource (or, without `delete`, a change that goes with its parent, like an inline policy)."""

    name: str
    #: the steps that create it: their spec class and the handler (None: made by another kind's step)
    spec: type[Spec] | None = None
    create: Creator | None = None
    #: None: found only through the tagging API (`arn_type`) or not at all
    find: Finder | None = None
    delete: Deleter | None = None
    #: kinds this one needs: they are deleted after it (and not while it is still there)
    depends_on: tuple[str, ...] = ()
    #: the resource type in its ARN (for the tagging API) and the value of its geusemaker:kind tag
    arn_type: str | None = None
    tag_kind: str = ""
    #: IAM is global: its resources are recorded with region "global"
    global_: bool = False
    #: the stack's data: deleted only when the user asks for it (or by the rollback of the run that made it)
    keep: bool = False
    #: deleted ones stay in the tagging API for a while: discovery asks `find` (DescribeInstances) instead
    tags_linger: bool = False


def _ec2_finder(describe: str, items: str, key: str) -> Finder:
    return lambda clients, region, name, stack: ComputeService(clients, region).find_tagged(
        describe, items, key, name, stack
    )


def _network_delete(kind: str) -> Deleter:
    method = f"delete_{kind.replace('-', '_')}"
    return lambda ctx, rid: getattr(NetworkService(ctx.clients, ctx.region, ctx.sleep), method)(rid)


_KINDS = (
    ResourceKind("vpc", specs.VpcSpec, create.create_vpc, _ec2_finder("describe_vpcs", "Vpcs", "VpcId"),
                 _network_delete("vpc"), arn_type="vpc"),
    ResourceKind("subnet", specs.SubnetSpec, create.create_subnet,
                 _ec2_finder("describe_subnets", "Subnets", "SubnetId"), _network_delete("subnet"), ("vpc",),
                 arn_type="subnet"),
    ResourceKind("internet-gateway", specs.InternetGatewaySpec, create.create_internet_gateway,
                 _ec2_finder("describe_internet_gateways", "InternetGateways", "InternetGatewayId"),
                 _network_delete("internet-gateway"), ("vpc",), arn_type="internet-gateway"),
    ResourceKind("route-table", specs.RouteTableSpec, create.create_route_table,
                 _ec2_finder("describe_route_tables", "RouteTables", "RouteTableId"), _network_delete("route-table"),
                 ("vpc", "internet-gateway", "subnet"), arn_type="route-table"),
    ResourceKind("security-group", specs.SecurityGroupSpec, create.create_security_group,
                 _ec2_finder("describe_security_groups", "SecurityGroups", "GroupId"),
                 _network_delete("security-group"), ("vpc",), arn_type="security-group"),
    ResourceKind("iam-role", specs.IamRoleSpec, create.create_role,
                 lambda clients, region, name, stack: IamService(clients).find_roles(name, stack),
                 lambda ctx, rid: IamService(ctx.clients).delete_role(rid), global_=True),
    ResourceKind("role-policy", specs.RolePolicySpec, create.put_role_policy, depends_on=("iam-role",)),
    ResourceKind("instance-profile", specs.InstanceProfileSpec, create.create_instance_profile,
                 lambda clients, region, name, stack: IamService(clients).find_instance_profiles(name, stack),
                 lambda ctx, rid: IamService(ctx.clients).delete_instance_profile(rid), ("iam-role",), global_=True),
    ResourceKind("ssm-parameter", specs.SecretsSpec, create.create_secrets,
                 lambda clients, region, name, stack: ParameterService(clients, region).list_names(name, stack),
                 lambda ctx, rid: ParameterService(ctx.clients, ctx.region).delete(rid), tag_kind="secret", keep=True),
    # The max_runtime_hours deadline: written by deploy and start, removed by stop; never data.
    ResourceKind("deadline", None, None,
                 lambda clients, region, name, stack: ParameterService(clients, region).find_deadline(name, stack),
                 lambda ctx, rid: ParameterService(ctx.clients, ctx.region).delete(rid), tag_kind=DEADLINE_KIND),
    ResourceKind("file-system", specs.FileSystemSpec, create.create_file_system,
                 lambda clients, region, name, stack: FileSystemService(clients, region).find(name, stack),
                 lambda ctx, rid: FileSystemService(ctx.clients, ctx.region, ctx.sleep).delete_file_system(rid),
                 ("subnet", "security-group"), arn_type="file-system", keep=True),  # its mount targets go with it
    ResourceKind("mount-target", specs.MountTargetSpec, create.create_mount_target, None,
                 lambda ctx, rid: FileSystemService(ctx.clients, ctx.region, ctx.sleep).delete_mount_target(rid),
                 ("file-system", "subnet", "security-group")),
    ResourceKind("launch-template", launch_specs.LaunchTemplateSpec, create.create_launch_template,
                 _ec2_finder("describe_launch_templates", "LaunchTemplates", "LaunchTemplateId"),
                 lambda ctx, rid: ComputeService(ctx.clients, ctx.region).delete_launch_template(rid),
                 ("security-group", "file-system", "mount-target"), arn_type="launch-template"),
    ResourceKind("fleet", None, None,
                 lambda clients, region, name, stack: ComputeService(clients, region).find_fleets(name, stack),
                 lambda ctx, rid: ComputeService(ctx.clients, ctx.region).delete_fleet(rid), ("launch-template",),
                 arn_type="fleet", tags_linger=True),
    # Instances are found with DescribeInstances only: terminated ones linger in the tagging API.
    ResourceKind("instance", launch_specs.InstanceSpec, launch_instance,
                 lambda clients, region, name, stack: ComputeService(clients, region).find_instances(name, stack),
                 lambda ctx, rid: ComputeService(ctx.clients, ctx.region).terminate(rid, delay_s=ctx.waiter_delay_s),
                 ("fleet", "launch-template", "subnet", "security-group", "data-volume"), arn_type="instance",
                 tags_linger=True),
    ResourceKind("data-volume", launch_specs.DataVolumeSpec, create.create_data_volume,
                 lambda clients, region, name, stack: VolumeService(clients, region).find(name, stack),
                 lambda ctx, rid: VolumeService(ctx.clients, ctx.region, ctx.waiter_delay_s).delete(rid),
                 arn_type="volume", keep=True),
    # A snapshot of the data volume, made by `geusemaker move` (deleted after the move unless kept): data.
    ResourceKind("snapshot", None, None,
                 lambda clients, region, name, stack: SnapshotService(clients, region).find(name, stack),
                 lambda ctx, rid: SnapshotService(ctx.clients, ctx.region).delete(rid), arn_type="snapshot",
                 tag_kind=SNAPSHOT_KIND, keep=True),
    # The group goes first: deleting it (forced) terminates what it launched, which then lets go of the data.
    ResourceKind("autoscaling-group", launch_specs.ReplacementSpec, create_replacement,
                 lambda clients, region, name, stack: AutoScalingService(clients, region).find_groups(name, stack),
                 lambda ctx, rid: AutoScalingService(ctx.clients, ctx.region, ctx.sleep, ctx.waiter_delay_s)
                 .delete_group(rid), ("instance", "launch-template", "subnet", "security-group")),
    ResourceKind("alarm", None, None,
                 lambda clients, region, name, stack: AlarmService(clients, region).find(name, stack),
                 lambda ctx, rid: AlarmService(ctx.clients, ctx.region).delete(rid), ("autoscaling-group",)),
)  # fmt: skip

KINDS: dict[str, ResourceKind] = {kind.name: kind for kind in _KINDS}


def kind(name: str) -> ResourceKind:
    """The registered kind `name`; an unknown kind is an error (never skipped)."""
    try:
        return KINDS[name]
    except KeyError:
        raise UserError(f"unknown resource kind {name!r}: this version of GeuseMaker cannot handle it") from None


def delete_order() -> tuple[str, ...]:
    """Kinds that are deleted, users before what they use (reverse of `depends_on`)."""
    graph = graphlib.TopologicalSorter({k.name: set(k.depends_on) for k in _KINDS})
    return tuple(name for name in reversed(tuple(graph.static_order())) if KINDS[name].delete is not None)


def needed_by(name: str) -> set[str]:
    """Every kind `name` depends on, transitively: what must stay while `name` is still there."""
    seen: set[str] = set()
    todo = list(KINDS[name].depends_on)
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo += KINDS[current].depends_on
    return seen


def from_tags(arn: str, tags: dict[str, str], *, lingering: bool = False) -> tuple[str, str] | None:
    """(kind, id) of a tagging-API resource we know by its ARN type and kind tag; None for others.

    Kinds whose deleted resources linger in the tagging API count only with `lingering` (for a
    listing that checks them against live resources itself).
    """
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return None
    resource = parts[5]
    if parts[2] == "ssm" and resource.startswith("parameter/"):
        found = "deadline" if tags.get("geusemaker:kind") == DEADLINE_KIND else "ssm-parameter"
        return found, "/" + resource.removeprefix("parameter/")
    arn_type, _, rid = resource.partition("/")
    tag_kind = tags.get("geusemaker:kind")
    for candidate in _KINDS:
        if candidate.tags_linger and not lingering:
            continue
        if candidate.arn_type == arn_type and rid and tag_kind in (None, candidate.tag_kind or candidate.name):
            return candidate.name, rid
    return None
