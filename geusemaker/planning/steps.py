"""The typed steps of a deploy in one region: every create call and its parameters, in dependency order."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from geusemaker.models.access import exposed_services, service_ingress
from geusemaker.models.ami import ResolvedAmi
from geusemaker.models.config import DeploymentConfig
from geusemaker.models.data_layout import DataLayout, has_file_system, has_volume, layout_for
from geusemaker.models.instance_policies import BOUNDARY_NAME, BOUNDARY_PATH, DEPLOYMENT_POLICY, SSM_AGENT_POLICY
from geusemaker.models.launch_specs import (
    BootSpec,
    DataVolumeSpec,
    InstanceSpec,
    LaunchGroup,
    LaunchTemplateSpec,
    ReplacementSpec,
    fallback_subnet_step,
)
from geusemaker.models.plan import Placement, RegionSteps
from geusemaker.models.replacement import ZoneTypes
from geusemaker.models.services import secret_names
from geusemaker.models.step_refs import Ref, Target
from geusemaker.models.steps import (
    FileSystemSpec,
    IamRoleSpec,
    IngressRule,
    InstanceProfileSpec,
    InternetGatewaySpec,
    MountTargetSpec,
    RolePolicySpec,
    RouteTableSpec,
    SecretsSpec,
    SecurityGroupSpec,
    Step,
    SubnetSpec,
    VpcSpec,
)

VPC_CIDR = "10.42.0.0/16"
IAM_PATH = BOUNDARY_PATH


def region_steps(
    config: DeploymentConfig,
    placements: Sequence[Placement],
    image: Callable[[str], ResolvedAmi],
    account: str,
    existing_subnets: Mapping[str, str] | None,
    layout: DataLayout | None = None,
) -> tuple[RegionSteps, ...]:
    """The steps of each region of `placements` (grouped in the order the plan ranks them), with its image."""
    ordered: dict[str, list[Placement]] = {}
    for placement in placements:
        ordered.setdefault(placement.region, []).append(placement)
    return tuple(
        RegionSteps(region, plan_steps(config, group, image(region), account, existing_subnets, layout))
        for region, group in ordered.items()
    )


def resource_name(deployment: str) -> str:
    """The name of the stack's named resources (role, profile, security group, launch template)."""
    return f"geusemaker-{deployment}"


def plan_steps(
    config: DeploymentConfig,
    placements: Sequence[Placement] = (),
    ami: ResolvedAmi | None = None,
    account: str = "",
    existing_subnets: Mapping[str, str] | None = None,
    layout: DataLayout | None = None,
) -> tuple[Step, ...]:
    """The steps for `placements` (all in one region), independent ones side by side.

    `layout` is where the data lives (default: what `storage.data` gives a new stack).
    """
    layout = layout or layout_for(config.storage.data)
    region = placements[0].region if placements else str(config.region)
    zones = list(dict.fromkeys(p.availability_zone for p in placements)) or ["(planned zone)"]
    own_network = config.network.vpc_id is None
    name = config.name
    steps: list[Step] = []
    vpc: Target = str(config.network.vpc_id or "")
    first_subnet: Target = (existing_subnets or {}).get(zones[0], "")
    route_table: Target | None = None
    if own_network:
        vpc, first_subnet, route_table = Ref("vpc"), Ref("subnet"), Ref("route-table")
        steps += [
            Step("vpc", VpcSpec(VPC_CIDR)),
            Step("subnet", SubnetSpec(vpc, zones[0], "10.42.1.0/24")),
            Step("internet-gateway", InternetGatewaySpec(vpc)),
            Step("route-table", RouteTableSpec(vpc, Ref("internet-gateway"), (first_subnet,))),
        ]
    ingress = tuple(IngressRule(p, c) for p, c in service_ingress(config)) if config.access.mode == "cidr" else ()
    where = "" if own_network else f" in existing VPC {config.network.vpc_id} (left unchanged)"
    efs = has_file_system(layout)
    steps += [
        Step("security-group", SecurityGroupSpec(
            vpc, resource_name(name), f"GeuseMaker {name}: no inbound except listed CIDRs", ingress,
            exposed=tuple(exposed_services(config)) if ingress else (), note=where)),
        Step("iam-role", IamRoleSpec(resource_name(name), IAM_PATH,
                                     f"arn:aws:iam::{account}:policy{BOUNDARY_PATH}{BOUNDARY_NAME}")),
        Step("ssm-agent-policy", RolePolicySpec(Ref("iam-role"), SSM_AGENT_POLICY, name, region, account)),
        Step("instance-profile", InstanceProfileSpec(resource_name(name), Ref("iam-role"))),
        Step("secrets", SecretsSpec(name, tuple(secret_names(config.services)))),
    ]  # fmt: skip
    if efs:
        steps += [
            Step("file-system", FileSystemSpec()),
            Step("mount-target", MountTargetSpec(Ref("file-system"), first_subnet, Ref("security-group"), zones[0])),
        ]
    file_system_arn = Ref("file-system", "arn") if efs else None
    steps.append(
        Step("deployment-policy", RolePolicySpec(Ref("iam-role"), DEPLOYMENT_POLICY, name, region, account,
                                                 file_system_arn))
    )  # fmt: skip
    market = placements[0].market if placements else "on-demand"
    # a stack that may run on spot drains on a notice though this launch is on-demand: a start (or the
    # group) may later run it on spot with the same template; without a notice the timer does nothing
    boot = BootSpec(region, bool(ami and ami.needs_driver_install), config.compute.market != "on-demand",
                    Ref("file-system") if efs else None, layout)  # fmt: skip
    steps.append(
        Step("launch-template", LaunchTemplateSpec(
            resource_name(name), ami.image_id if ami else "", Ref("security-group"), Ref("instance-profile", "arn"),
            config.storage.root_gb, None, market, boot), after=("secrets", "deployment-policy"))
    )  # fmt: skip
    launches = _launch_groups(config, placements, vpc, first_subnet, route_table, existing_subnets or {}, efs)
    # The instance does not wait for the mount target (minutes on AWS): its boot waits for the mount instead.
    steps.append(Step("instance", InstanceSpec(Ref("launch-template"), launches, market)))
    if has_volume(layout):
        steps.append(
            Step("data-volume", DataVolumeSpec(Ref("instance"), Ref("instance", "zone"), config.storage.data_volume_gb))
        )
    steps.append(replacement_step(config, launches, has_volume(layout)))
    return tuple(steps)


def replacement_step(config: DeploymentConfig, launches: Sequence[LaunchGroup], volume: bool) -> Step:
    """The Auto Scaling group of one that takes the launched instance (after its data volume is attached)."""
    shapes = tuple(ZoneTypes(g.zone, g.market, g.instance_types, g.hourly_usd) for g in launches)
    fallback = config.compute.market == "spot-or-on-demand"
    spec = ReplacementSpec(Ref("instance"), Ref("instance", "zone"), Ref("launch-template"), shapes, fallback)
    return Step("autoscaling-group", spec, after=("data-volume",) if volume else ())


def _launch_groups(
    config: DeploymentConfig,
    placements: Sequence[Placement],
    vpc: Target,
    first_subnet: Target,
    route_table: Target | None,
    existing: Mapping[str, str],
    efs: bool,
) -> tuple[LaunchGroup, ...]:
    """Placements grouped by (zone, market) in plan order: one CreateFleet per group."""
    groups: dict[tuple[str, str], list[Placement]] = {}
    for placement in placements:
        groups.setdefault((placement.availability_zone, placement.market), []).append(placement)
    first_zone = placements[0].availability_zone if placements else ""
    new_zones: list[str] = []
    result = []
    for (zone, _market), group in groups.items():
        subnet: Target | SubnetSpec
        mount_target = None
        if zone == first_zone:
            subnet = first_subnet
        elif config.network.vpc_id:
            subnet = existing.get(zone, "")
        else:
            if zone not in new_zones:
                new_zones.append(zone)
            subnet = SubnetSpec(vpc, zone, f"10.42.{new_zones.index(zone) + 2}.0/24", route_table=route_table)
        if efs and zone != first_zone:
            subnet_ref: Target = subnet if not isinstance(subnet, SubnetSpec) else Ref(fallback_subnet_step(zone))
            mount_target = MountTargetSpec(Ref("file-system"), subnet_ref, Ref("security-group"), zone)
        result.append(
            LaunchGroup(zone, group[0].market, tuple(p.instance_type for p in group),
                        tuple(p.total_hourly_usd for p in group), subnet, mount_target)
        )  # fmt: skip
    return tuple(result)
