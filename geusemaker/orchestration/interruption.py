"""`geusemaker sandbox interrupt`: take a sandbox stack's instance away as AWS would, and stand in for CloudWatch.

EC2 terminates the instance (moto's Auto Scaling group then launches a replacement by itself, as
AWS's does). With `no_spot_capacity`, the spot group's launches are suspended first (no capacity),
and since the sandbox evaluates no alarm, the fallback alarm is set to ALARM here and its actions
(the two scaling policies) are run as CloudWatch would run them.
"""

from __future__ import annotations

from dataclasses import dataclass

from geusemaker.errors import UsageError
from geusemaker.services.alarms import AlarmService
from geusemaker.services.autoscaling import AutoScalingService
from geusemaker.services.aws import AwsClients
from geusemaker.services.compute import ComputeService
from geusemaker.state.store import StateStore


@dataclass(frozen=True)
class Interruption:
    """What the stand-in did: the instance taken, and the alarm it fired (with --no-spot-capacity)."""

    instance_id: str
    group: str
    alarm: str | None = None


def interrupt(
    clients: AwsClients, store: StateStore, name: str, *, no_spot_capacity: bool = False, waiter_delay_s: int = 5
) -> Interruption:
    """Terminate the instance the stack's group holds; optionally make spot capacity gone and fire the alarm."""
    record = store.get(name)
    if record is None:
        raise UsageError(f"no deployment named {name!r}", hint="List them with: geusemaker list")
    region = str(record.facts.get("region") or record.region)
    resources = [r for r in store.resources(name) if r.region == region]
    groups = [r for r in resources if r.kind == "autoscaling-group" and r.data.get("role") != "fallback"]
    if not groups:
        raise UsageError(f"{name} has no Auto Scaling group: there is nothing to replace its instance")
    service = AutoScalingService(clients, region, delay_s=waiter_delay_s)
    group = groups[0].resource_id
    state = service.state(group)
    if state is None or not state.instance_ids:
        raise UsageError(f"{name} runs no instance in its group {group}", hint=f"Start it: geusemaker start {name}")
    alarms = [r.resource_id for r in resources if r.kind == "alarm"]
    if no_spot_capacity and (state.market != "spot" or not alarms):
        raise UsageError(
            f"{name} has no on-demand fallback (it runs {state.market}; market: spot-or-on-demand with a spot "
            "instance has one)"
        )
    if no_spot_capacity:
        service.suspend_launches(group)
    instance = state.instance_ids[0]
    ComputeService(clients, region).terminate(instance, delay_s=waiter_delay_s)
    if not no_spot_capacity:
        return Interruption(instance, group)
    cloudwatch = AlarmService(clients, region)
    alarm = cloudwatch.alarm(alarms[0]) or {}
    if alarm.get("ActionsEnabled"):
        cloudwatch.set_state(alarms[0], "ALARM", "sandbox: no spot capacity (desired - in service >= 1)")
        for action in alarm.get("AlarmActions", []) or []:  # type: ignore[attr-defined]
            target_group, policy = _policy_of(str(action))
            if target_group:
                service.execute_policy(target_group, policy)
    return Interruption(instance, group, alarms[0])


def _policy_of(arn: str) -> tuple[str, str]:
    """(group, policy) of a scaling policy ARN `...:autoScalingGroupName/G:policyName/P`; ("", "") for others."""
    if ":autoScalingGroupName/" not in arn or ":policyName/" not in arn:
        return "", ""
    rest = arn.split(":autoScalingGroupName/", 1)[1]
    group, _, policy = rest.partition(":policyName/")
    return group, policy
