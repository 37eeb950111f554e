"""How each kind of step is created from its resolved spec; every id is recorded the moment AWS returns it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from geusemaker.errors import PreconditionError
from geusemaker.models.config import DeploymentConfig
from geusemaker.models.launch_specs import DataVolumeSpec, LaunchTemplateSpec
from geusemaker.models.services import generate_secret_values, parameter_path
from geusemaker.models.step_refs import Output
from geusemaker.models.steps import (
    FileSystemSpec,
    IamRoleSpec,
    InstanceProfileSpec,
    InternetGatewaySpec,
    MountTargetSpec,
    RolePolicySpec,
    RouteTableSpec,
    SecretsSpec,
    SecurityGroupSpec,
    SubnetSpec,
    VpcSpec,
)
from geusemaker.models.tags import TAG_STACK_ID
from geusemaker.services.aws import AwsClients
from geusemaker.services.compute import ComputeService, LaunchSpec
from geusemaker.services.iam import IamService
from geusemaker.services.network import NetworkService
from geusemaker.services.parameters import ParameterService
from geusemaker.services.storage import FileSystemService
from geusemaker.services.volumes import VolumeService
from geusemaker.state.store import ResourceRecord, StateStore
from geusemaker.userdata.generator import BootContext, render


@dataclass
class RegionRun:
    """What every create handler of one region's steps shares: clients, tags, the state store, the outputs."""

    clients: AwsClients
    store: StateStore
    config: DeploymentConfig
    region: str
    tags: dict[str, str]
    run_id: str
    sleep: Callable[[float], None] = time.sleep
    waiter_delay_s: int = 5
    cancelled: threading.Event | None = None
    outputs: dict[str, Output] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: where the instance step launched (a `launch.Launched`)
    launched: Any = None
    #: the stack's kept data (data volume, file system, secrets) that this run reuses instead of creating
    kept: tuple[ResourceRecord, ...] = ()

    @property
    def name(self) -> str:
        return self.config.name

    def kept_ids(self, kind: str) -> list[str]:
        """Ids of the kept resources of `kind` in this run's region (in the order they were recorded)."""
        return [r.resource_id for r in self.kept if r.kind == kind and r.region == self.region]

    def record(self, kind: str, resource_id: str, region: str | None = None, **data: Any) -> None:
        self.store.record(self.name, kind, resource_id, region or self.region, **data)

    @cached_property
    def network(self) -> NetworkService:
        return NetworkService(self.clients, self.region, self.sleep)

    @cached_property
    def iam(self) -> IamService:
        return IamService(self.clients)

    @cached_property
    def files(self) -> FileSystemService:
        return FileSystemService(self.clients, self.region, self.sleep)

    @cached_property
    def compute(self) -> ComputeService:
        return ComputeService(self.clients, self.region)


def create_vpc(run: RegionRun, spec: VpcSpec) -> Output:
    vpc = run.network.create_vpc(run.name, run.tags, spec.cidr)
    run.record("vpc", vpc)
    if spec.enable_dns:
        run.network.enable_dns(vpc)
    return Output(vpc)


def create_subnet(run: RegionRun, spec: SubnetSpec) -> Output:
    assert isinstance(spec.vpc, str)
    subnet = run.network.create_subnet(run.name, spec.vpc, spec.zone, spec.cidr, run.tags)
    run.record("subnet", subnet, zone=spec.zone)
    if spec.public_ips:
        run.network.enable_public_ips(subnet)
    if isinstance(spec.route_table, str):
        run.network.associate(spec.route_table, subnet)
    return Output(subnet, zone=spec.zone)


def create_internet_gateway(run: RegionRun, spec: InternetGatewaySpec) -> Output:
    assert isinstance(spec.vpc, str)
    igw = run.network.create_internet_gateway(run.name, run.tags)
    run.record("internet-gateway", igw, vpc=spec.vpc)
    run.network.attach_internet_gateway(igw, spec.vpc)
    return Output(igw)


def create_route_table(run: RegionRun, spec: RouteTableSpec) -> Output:
    assert isinstance(spec.vpc, str) and isinstance(spec.gateway, str)
    table = run.network.create_route_table(run.name, spec.vpc, run.tags)
    run.record("route-table", table)
    run.network.add_default_route(table, spec.gateway, spec.destination)
    for subnet in spec.subnets:
        run.network.associate(table, str(subnet))
    return Output(table)


def create_security_group(run: RegionRun, spec: SecurityGroupSpec) -> Output:
    assert isinstance(spec.vpc, str)
    group = run.network.create_security_group(spec.group_name, spec.description, spec.vpc, run.name, run.tags)
    run.record("security-group", group)
    run.network.allow_ingress(group, [(rule.port, rule.cidr) for rule in spec.ingress], spec.nfs_from_self)
    return Output(group)


def create_role(run: RegionRun, spec: IamRoleSpec) -> Output:
    role = run.iam.create_role(run.name, run.tags, spec.permissions_boundary)
    run.record("iam-role", role, region="global")
    return Output(role)


def put_role_policy(run: RegionRun, spec: RolePolicySpec) -> Output:
    assert isinstance(spec.role, str)
    arn = spec.file_system_arn if isinstance(spec.file_system_arn, str) else None
    run.iam.put_policy(spec.role, spec.policy_name, spec.document(arn, stack_id=run.tags[TAG_STACK_ID]))
    return Output(f"{spec.role}/{spec.policy_name}")


def create_instance_profile(run: RegionRun, spec: InstanceProfileSpec) -> Output:
    assert isinstance(spec.role, str)
    name, arn = run.iam.create_instance_profile(run.name, spec.profile_name, run.tags)
    run.record("instance-profile", name, region="global")
    run.iam.add_role(name, spec.role)
    return Output(name, arn=arn)


def create_secrets(run: RegionRun, spec: SecretsSpec) -> Output:
    """Generate the stack's secrets once: a redeploy on kept data keeps their values (only missing ones are added)."""
    kept = set(run.kept_ids("ssm-parameter"))
    missing = [name for name in spec.names if parameter_path(spec.deployment) + name not in kept]
    values = generate_secret_values(run.config.services)
    for name in missing:
        parameter = ParameterService(run.clients, run.region).put_secret(spec.deployment, name, values[name], run.tags)
        run.record("ssm-parameter", parameter)
    return Output(spec.deployment)


def create_file_system(run: RegionRun, spec: FileSystemSpec) -> Output:
    """The stack's file system: the kept one when the stack has one in this region, else a new one."""
    for fs_id in run.kept_ids("file-system"):
        return Output(fs_id, arn=run.files.arn(fs_id))
    fs_id, arn = run.files.create_file_system(
        run.name, f"gm-{run.run_id}-{run.region}", run.tags, spec.performance_mode, spec.throughput_mode
    )
    run.record("file-system", fs_id)
    run.files.wait_available(fs_id)
    return Output(fs_id, arn=arn)


def create_mount_target(run: RegionRun, spec: MountTargetSpec) -> Output:
    assert isinstance(spec.file_system, str) and isinstance(spec.subnet, str) and isinstance(spec.security_group, str)
    target = run.files.create_mount_target(spec.file_system, spec.subnet, spec.security_group)
    run.record("mount-target", target, file_system=spec.file_system)
    return Output(target, zone=spec.zone)


def create_launch_template(run: RegionRun, spec: LaunchTemplateSpec) -> Output:
    assert isinstance(spec.security_group, str) and isinstance(spec.instance_profile_arn, str)
    boot = spec.boot
    userdata = render(
        BootContext(
            run.config, boot.region, boot.needs_driver_install, spot=boot.spot,
            file_system_id=str(boot.file_system) if boot.file_system else "fs-00000000000000000",
            stack_id=run.tags[TAG_STACK_ID],
        )
    )  # fmt: skip
    launch = LaunchSpec(
        deployment=run.name,
        template_name=spec.template_name,
        image_id=spec.image_id,
        security_group_id=spec.security_group,
        instance_profile_arn=spec.instance_profile_arn,
        user_data=userdata.payload,
        root_gb=spec.root_gb,
        data_gb=spec.data_gb,
        market=spec.market,
        user_tags=run.tags,
        metadata_hop_limit=spec.metadata_hop_limit,
    )
    template = run.compute.create_launch_template(launch)
    run.record("launch-template", template)
    return Output(template)


def create_data_volume(run: RegionRun, spec: DataVolumeSpec) -> Output:
    """Created in the zone the instance landed in, attached to it; kept by destroy unless deletion is asked for."""
    assert isinstance(spec.instance, str) and isinstance(spec.zone, str)
    volumes = VolumeService(run.clients, run.region, run.waiter_delay_s)
    data = (r for r in run.kept if r.kind == "data-volume" and r.region == run.region and not r.data.get("replaced_by"))
    for kept in data:
        if kept.data.get("zone") not in (None, spec.zone):
            raise PreconditionError(
                f"the kept data volume {kept.resource_id} is in {kept.data.get('zone')}, "
                f"but the instance launched in {spec.zone}",
                hint="A volume attaches only in its own zone; deploy again (placement stays in the data's zone).",
            )
        volumes.attach(kept.resource_id, spec.instance, spec.device)
        return Output(kept.resource_id, zone=spec.zone)
    token = f"gm-{run.run_id}-{run.region}-data"
    volume = volumes.create(run.name, spec.zone, spec.size_gb, spec.volume_type, run.tags, token)
    run.record("data-volume", volume, zone=spec.zone, run=run.run_id)
    volumes.attach(volume, spec.instance, spec.device)
    return Output(volume, zone=spec.zone)
