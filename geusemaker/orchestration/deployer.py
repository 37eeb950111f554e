"""Apply a Plan: create every resource (recording each at once), launch with failover, roll back on failure."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from geusemaker.errors import AwsError, CapacityError, PreconditionError, UserError
from geusemaker.models.access import service_ingress
from geusemaker.models.instance_policies import DEPLOYMENT_POLICY, SSM_AGENT_POLICY, deployment_policy, ssm_agent_policy
from geusemaker.models.plan import Placement, Plan
from geusemaker.models.services import generate_secret_values
from geusemaker.models.tags import TAG_STACK_ID, stack_tags
from geusemaker.orchestration.executor import StepEvent, run_steps
from geusemaker.planning.network_check import usable_subnets
from geusemaker.services.ami import AmiResolver
from geusemaker.services.aws import AwsClients
from geusemaker.services.compute import ComputeService, LaunchSpec
from geusemaker.services.existing_network import ExistingNetworkService
from geusemaker.services.iam import IamService
from geusemaker.services.network import NetworkService
from geusemaker.services.parameters import ParameterService
from geusemaker.services.storage import FileSystemService
from geusemaker.state.store import StateStore
from geusemaker.userdata.generator import BootContext, render

IAM_PROPAGATION_S = 60.0


@dataclass
class LaunchAttempt:
    """One CreateFleet try and how it ended."""

    region: str
    zone: str
    market: str
    instance_types: tuple[str, ...]
    outcome: str

    def __str__(self) -> str:
        return f"{'/'.join(self.instance_types)} {self.market} in {self.zone}: {self.outcome}"


@dataclass
class Launched:
    """Where the instance ended up."""

    instance_id: str
    instance_type: str
    region: str
    availability_zone: str
    market: str
    public_ip: str | None
    hourly_usd: float | None
    attempts: list[LaunchAttempt] = field(default_factory=list)


class RegionExhausted(Exception):
    """Nothing in this region could be launched; the deploy may move to the next region."""

    def __init__(self, region: str, attempts: list[LaunchAttempt], quota: bool) -> None:
        super().__init__(f"no capacity in {region}")
        self.region = region
        self.attempts = attempts
        self.quota = quota


class RegionDeployment:
    """Creates one deployment's resources in one region, recording each as soon as it exists."""

    def __init__(
        self,
        clients: AwsClients,
        store: StateStore,
        plan: Plan,
        region: str,
        placements: list[Placement],
        *,
        on_event: Callable[[StepEvent], None],
        sleep: Callable[[float], None] = time.sleep,
        cancelled: threading.Event | None = None,
        waiter_delay_s: int = 5,
        run_id: str = "",
        stack_id: str = "",
    ) -> None:
        self.plan = plan
        #: Unique per apply: client tokens make retried calls idempotent without replaying an older deploy.
        self.run_id = run_id or uuid.uuid4().hex[:16]
        self.config = plan.config
        self.name = plan.config.name
        self.region = region
        self.placements = placements
        self.store = store
        self.on_event = on_event
        self.sleep = sleep
        self.cancelled = cancelled
        self.waiter_delay_s = waiter_delay_s
        self.clients = clients
        self.network = NetworkService(clients, region, sleep)
        self.iam = IamService(clients)
        self.parameters = ParameterService(clients, region)
        self.files = FileSystemService(clients, region, sleep)
        self.compute = ComputeService(clients, region)
        self.tags = stack_tags(self.config.tags, stack_id or uuid.uuid4().hex)
        self.ids: dict[str, Any] = {"subnets": {}, "mount_targets": {}}
        if self.config.network.vpc_id:
            self.ids["vpc"] = self.config.network.vpc_id  # the user's: used, never changed or recorded
        self._lock = threading.Lock()
        self.launched: Launched | None = None

    @cached_property
    def account(self) -> str:
        """The AWS account the role's policies name (asked once per region deployment)."""
        return self.clients.account_id()

    def record(self, kind: str, resource_id: str, **data: Any) -> None:
        self.store.record(self.name, kind, resource_id, self.region, **data)

    def run(self) -> Launched:
        actions: dict[str, Callable[[], None]] = {
            "vpc": self._vpc,
            "subnet": self._first_subnet,
            "internet-gateway": self._internet_gateway,
            "route-table": self._route_table,
            "security-group": self._security_group,
            "iam-role": self._role,
            "instance-profile": self._instance_profile,
            "secrets": self._secrets,
            "file-system": self._file_system,
            "mount-target": self._first_mount_target,
            "launch-template": self._launch_template,
            "instance": self._instance,
        }
        steps = [s for s in self.plan.steps if s.id in actions]
        # before anything is created: a missing boundary stops the deploy with nothing to undo
        self.ids["boundary"] = self.iam.ensure_boundary(self.account)
        run_steps(steps, actions, self.on_event, cancelled=self.cancelled)
        assert self.launched is not None
        return self.launched

    # -- network ------------------------------------------------------------------------------
    def _vpc(self) -> None:
        vpc = self.network.create_vpc(self.name, self.tags)
        self.record("vpc", vpc)
        self.ids["vpc"] = vpc
        self.network.enable_dns(vpc)

    def _first_subnet(self) -> None:
        self._subnet(self.placements[0].availability_zone)

    def _first_mount_target(self) -> None:
        self._mount_target(self.placements[0].availability_zone)

    def _subnet(self, zone: str) -> str:
        with self._lock:
            if zone in self.ids["subnets"]:
                return str(self.ids["subnets"][zone])
            if self.config.network.vpc_id:
                return self._existing_subnet(zone)
            index = len(self.ids["subnets"]) + 1
            subnet = self.network.create_subnet(self.name, self.ids["vpc"], zone, index, self.tags)
            self.record("subnet", subnet, zone=zone)
            self.ids["subnets"][zone] = subnet
            self.network.enable_public_ips(subnet)
        if "route_table" in self.ids:
            self.network.associate(self.ids["route_table"], subnet)
        return subnet

    def _existing_subnet(self, zone: str) -> str:
        """The user's subnet in `zone` (the plan only places instances where one is usable)."""
        network = ExistingNetworkService(self.clients, self.region)
        subnets = usable_subnets(self.config, network.describe(self.ids["vpc"], self.config.network.subnet_id))
        if zone not in subnets:
            raise PreconditionError(f"no usable subnet of {self.ids['vpc']} in {zone}")
        self.ids["subnets"].update({z: s.subnet_id for z, s in subnets.items()})
        return subnets[zone].subnet_id

    def _internet_gateway(self) -> None:
        igw = self.network.create_internet_gateway(self.name, self.tags)
        self.record("internet-gateway", igw, vpc=self.ids["vpc"])
        self.network.attach_internet_gateway(igw, self.ids["vpc"])
        self.ids["igw"] = igw

    def _route_table(self) -> None:
        table = self.network.create_route_table(self.name, self.ids["vpc"], self.tags)
        self.record("route-table", table)
        self.network.add_default_route(table, self.ids["igw"])
        with self._lock:
            self.ids["route_table"] = table
            subnets = list(self.ids["subnets"].values())
        for subnet in subnets:
            self.network.associate(table, subnet)

    def _security_group(self) -> None:
        ingress = service_ingress(self.config) if self.config.access.mode == "cidr" else []
        group = self.network.create_security_group(self.name, self.ids["vpc"], self.tags)
        self.record("security-group", group)
        self.ids["security_group"] = group
        self.network.allow_ingress(group, ingress)

    # -- identity and secrets -------------------------------------------------------------------
    def _role(self) -> None:
        role = self.iam.create_role(self.name, self.tags, self.ids["boundary"])
        self.store.record(self.name, "iam-role", role, "global")
        self.ids["role"] = role
        self.iam.put_policy(role, SSM_AGENT_POLICY, ssm_agent_policy(self.region, self.account))

    def _instance_profile(self) -> None:
        name, arn = self.iam.create_instance_profile(self.name, self.ids["role"], self.tags)
        self.store.record(self.name, "instance-profile", name, "global")
        self.ids["profile_arn"] = arn
        self.iam.add_role(name, self.ids["role"])

    def _secrets(self) -> None:
        for name, value in generate_secret_values(self.config.services).items():
            parameter = self.parameters.put_secret(self.name, name, value, self.tags)
            self.record("ssm-parameter", parameter)

    # -- storage --------------------------------------------------------------------------------
    def _file_system(self) -> None:
        fs_id, arn = self.files.create_file_system(self.name, f"gm-{self.run_id}-{self.region}", self.tags)
        self.record("file-system", fs_id)
        self.ids["file_system"], self.ids["file_system_arn"] = fs_id, arn
        self.files.wait_available(fs_id)

    def _mount_target(self, zone: str) -> None:
        """One mount target per zone; a zone already claimed (perhaps still being created) is left alone."""
        if "file_system" not in self.ids:
            return
        subnet = self._subnet(zone)
        with self._lock:
            if zone in self.ids["mount_targets"]:
                return
            self.ids["mount_targets"][zone] = None  # claimed
        target = self.files.create_mount_target(self.ids["file_system"], subnet, self.ids["security_group"])
        self.record("mount-target", target, file_system=self.ids["file_system"])
        with self._lock:
            self.ids["mount_targets"][zone] = target

    # -- launch ---------------------------------------------------------------------------------
    def _launch_template(self) -> None:
        policy = deployment_policy(
            self.name, self.region, self.account, self.ids.get("file_system_arn"), self.tags[TAG_STACK_ID]
        )
        self.iam.put_policy(self.ids["role"], DEPLOYMENT_POLICY, policy)
        ami = self._image()
        market = self.placements[0].market
        userdata = render(
            BootContext(
                self.config, self.region, ami.needs_driver_install, spot=market == "spot",
                file_system_id=self.ids.get("file_system", "fs-00000000000000000"), stack_id=self.tags[TAG_STACK_ID],
            )
        )  # fmt: skip
        spec = LaunchSpec(
            deployment=self.name,
            image_id=ami.image_id,
            security_group_id=self.ids["security_group"],
            instance_profile_arn=self.ids["profile_arn"],
            user_data=userdata.payload,
            root_gb=self.config.storage.root_gb,
            data_gb=self.config.storage.data_volume_gb if self.config.storage.data == "ebs" else None,
            market=market,
            user_tags=self.tags,
        )
        template = self.compute.create_launch_template(spec)
        self.record("launch-template", template)
        self.ids["launch_template"] = template

    def _image(self) -> Any:
        if self.region == self.plan.placement.region:
            return self.plan.ami
        spec_arch = self.plan.ami.architecture
        return AmiResolver(self.clients).resolve(self.region, spec_arch, self.config.tier)

    def _instance(self) -> None:
        attempts: list[LaunchAttempt] = []
        quota_hit = False
        out_of_quota: set[str] = set()  # markets whose quota is spent here; the other market may still launch
        for zone, market, group in _launch_groups(self.placements):
            if self.cancelled is not None and self.cancelled.is_set():
                raise KeyboardInterrupt
            if market in out_of_quota:
                continue
            subnet = self._subnet(zone)
            self._mount_target(zone)
            types = tuple(p.instance_type for p in group)
            attempt = LaunchAttempt(self.region, zone, market, types, "")
            attempts.append(attempt)
            try:
                result = self._create_fleet(types, subnet, market, len(attempts))
            except CapacityError as exc:
                attempt.outcome = f"no capacity ({exc.message})"
                continue
            except PreconditionError as exc:
                attempt.outcome = f"quota ({exc.message})"
                quota_hit = True
                out_of_quota.add(market)
                continue
            attempt.outcome = "launched"
            self.record("fleet", result.fleet_id)
            self.record("instance", result.instance_id, zone=zone)
            described = self.compute.wait_running(result.instance_id, delay_s=self.waiter_delay_s)
            chosen = next((p for p in group if p.instance_type == result.instance_type), group[0])
            self.launched = Launched(
                instance_id=result.instance_id,
                instance_type=result.instance_type,
                region=self.region,
                availability_zone=zone,
                market=market,
                public_ip=described.get("PublicIpAddress"),
                hourly_usd=chosen.total_hourly_usd,
                attempts=attempts,
            )
            return
        raise RegionExhausted(self.region, attempts, quota_hit)

    def _create_fleet(self, types: tuple[str, ...], subnet: str, market: str, attempt: int) -> Any:
        """CreateFleet, retrying while a fresh instance profile is not yet visible to EC2 (up to 60 s)."""
        template = self.ids["launch_template"]
        if market != self.ids.get("template_market", self.placements[0].market):
            self.compute.set_shutdown_behavior(template, market)  # type: ignore[arg-type]
            self.ids["template_market"] = market
        overrides = [(itype, subnet) for itype in types]
        deadline = time.monotonic() + IAM_PROPAGATION_S
        delay = 2.0
        for retry in range(1, 100):
            # A new token per try: a reused one would make EC2 replay the failed answer.
            token = f"gm-{self.run_id}-{self.region}-{attempt}-{retry}"  # at most 64 characters
            try:
                return self.compute.create_fleet(self.name, template, overrides, market, token, self.tags)  # type: ignore[arg-type]
            except AwsError as exc:
                propagating = exc.code == "InvalidParameterValue" and "profile" in exc.message.lower()
                if not propagating or time.monotonic() + delay > deadline:
                    raise
                self.sleep(delay)
                delay = min(delay * 2, 16.0)
        raise AssertionError("unreachable: the deadline ends the retries")


def _launch_groups(placements: list[Placement]) -> list[tuple[str, str, list[Placement]]]:
    """Fallbacks grouped by (AZ, market) in plan order: one CreateFleet per group."""
    groups: dict[tuple[str, str], list[Placement]] = {}
    for placement in placements:
        groups.setdefault((placement.availability_zone, placement.market), []).append(placement)
    return [(zone, market, group) for (zone, market), group in groups.items()]


def regions_in_order(plan: Plan) -> list[tuple[str, list[Placement]]]:
    """The plan's placements grouped by region, in the order the plan ranks them."""
    ordered: dict[str, list[Placement]] = {}
    for placement in (plan.placement, *plan.fallbacks):
        ordered.setdefault(placement.region, []).append(placement)
    return list(ordered.items())


def capacity_exhausted(attempts: list[LaunchAttempt], quota: bool) -> UserError:
    """The final error when every fallback failed: exit 3 with everything that was tried."""
    kind = "quota" if quota else "capacity"
    return CapacityError(
        f"no {kind} for any planned placement ({len(attempts)} launch attempts)",
        details=[str(a) for a in attempts],
        hint="Try another GPU, region: auto, market: spot-or-on-demand, or raise the vCPU quota.",
    )
