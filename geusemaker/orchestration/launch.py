"""The instance step: CreateFleet over the planned launch groups, next zone / size / market on no capacity."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from geusemaker.errors import AwsError, CapacityError, PreconditionError, UserError
from geusemaker.models.launch_specs import InstanceSpec, LaunchGroup, fallback_subnet_step
from geusemaker.models.step_refs import Output, resolve
from geusemaker.models.steps import SubnetSpec
from geusemaker.orchestration.create import RegionRun, create_mount_target, create_subnet
from geusemaker.services.aws import retry_codes

#: A fresh instance profile is not yet visible to EC2: retried for about a minute.
IAM_PROPAGATION_ATTEMPTS = 6


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


class InstanceLauncher:
    """Runs an `InstanceSpec`: one CreateFleet per launch group until one launches."""

    def __init__(self, run: RegionRun) -> None:
        self.run = run
        self.launched: Launched | None = None

    def __call__(self, spec: InstanceSpec) -> Output:
        assert isinstance(spec.launch_template, str)
        attempts: list[LaunchAttempt] = []
        quota_hit = False
        out_of_quota: set[str] = set()  # markets whose quota is spent here; the other market may still launch
        for group in spec.launches:
            if self.run.cancelled is not None and self.run.cancelled.is_set():
                raise KeyboardInterrupt
            if group.market in out_of_quota:
                continue
            subnet = self._zone_ready(group)
            attempt = LaunchAttempt(self.run.region, group.zone, group.market, group.instance_types, "")
            attempts.append(attempt)
            try:
                result = self._create_fleet(spec.launch_template, group, subnet, len(attempts))
            except CapacityError as exc:
                attempt.outcome = f"no capacity ({exc.message})"
                continue
            except PreconditionError as exc:
                attempt.outcome = f"quota ({exc.message})"
                quota_hit = True
                out_of_quota.add(group.market)
                continue
            attempt.outcome = "launched"
            self.run.record("fleet", result.fleet_id)
            self.run.record("instance", result.instance_id, zone=group.zone)
            described = self.run.compute.wait_running(result.instance_id, delay_s=self.run.waiter_delay_s)
            index = (
                group.instance_types.index(result.instance_type) if result.instance_type in group.instance_types else 0
            )
            self.launched = Launched(
                instance_id=result.instance_id,
                instance_type=result.instance_type,
                region=self.run.region,
                availability_zone=group.zone,
                market=group.market,
                public_ip=described.get("PublicIpAddress"),
                hourly_usd=group.hourly_usd[index],
                attempts=attempts,
            )
            return Output(result.instance_id, zone=group.zone)
        raise RegionExhausted(self.run.region, attempts, quota_hit)

    def _zone_ready(self, group: LaunchGroup) -> str:
        """The group's subnet (created now when the launch falls back to a new zone) and mount target."""
        run = self.run
        subnet = group.subnet
        if isinstance(subnet, SubnetSpec):
            step = fallback_subnet_step(group.zone)
            if step not in run.outputs:
                run.outputs[step] = create_subnet(run, resolve(subnet, run.outputs))
            subnet_id = run.outputs[step].id
        else:
            subnet_id = str(subnet)
        if not subnet_id:
            raise PreconditionError(f"no usable subnet in {group.zone}")
        mount_step = f"mount-target-{group.zone}"
        if group.mount_target is not None and mount_step not in run.outputs:
            run.outputs[mount_step] = create_mount_target(run, resolve(group.mount_target, run.outputs))
        return subnet_id

    def _create_fleet(self, template: str, group: LaunchGroup, subnet: str, attempt: int) -> Any:
        """CreateFleet, retrying while a fresh instance profile is not yet visible to EC2."""
        run = self.run
        overrides = [(itype, subnet) for itype in group.instance_types]
        tries = itertools.count(1)

        def launch() -> Any:
            # A new token per try: a reused one would make EC2 replay the failed answer.
            token = f"gm-{run.run_id}-{run.region}-{attempt}-{next(tries)}"  # at most 64 characters
            return run.compute.create_fleet(run.name, template, overrides, group.market, token, run.tags)

        return retry_codes(
            launch, frozenset({"InvalidParameterValue"}), attempts=IAM_PROPAGATION_ATTEMPTS, base_delay_s=2.0,
            max_delay_s=16.0, sleep=run.sleep, when=_profile_propagating,
        )  # fmt: skip


def launch_instance(run: RegionRun, spec: InstanceSpec) -> Output:
    """The instance step's handler: where it launched goes to `run.launched`."""
    launcher = InstanceLauncher(run)
    output = launcher(spec)
    run.launched = launcher.launched
    return output


def _profile_propagating(error: AwsError) -> bool:
    return "profile" in error.message.lower()


def capacity_exhausted(attempts: list[LaunchAttempt], quota: bool) -> UserError:
    """The final error when every fallback failed: exit 3 with everything that was tried."""
    kind = "quota" if quota else "capacity"
    return CapacityError(
        f"no {kind} for any planned placement ({len(attempts)} launch attempts)",
        details=[str(a) for a in attempts],
        hint="Try another GPU, region: auto, market: spot-or-on-demand, or raise the vCPU quota.",
    )
