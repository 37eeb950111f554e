"""Reading what a lab machine did: GeuseMaker's own health reading through an SSM stand-in, boot timings."""

from __future__ import annotations

import re
import time
from typing import Any

from geusemaker.health.checks import HealthReport
from geusemaker.health.runner import HealthChecker
from geusemaker.services.ssm import CommandResult
from tests.lab.machine import INSTANCE_ID, LabError, LabMachine

BOOT_TIMEOUT_S = 600


class LabSsm:
    """SSM Run Command and the agent's ping, as the health reading uses them, carried out by nsenter."""

    def __init__(self, machine: LabMachine) -> None:
        self.machine = machine

    def agent_status(self, instance_id: str) -> str | None:
        return "Online" if self.machine.running and instance_id == INSTANCE_ID else None

    def run(self, instance_id: str, command: str, *, timeout_s: int = 120, comment: str = "") -> CommandResult:
        result = self.machine.run(command, check=False, timeout_s=timeout_s)
        return CommandResult("Success" if result.returncode == 0 else "Failed", result.returncode,
                             result.stdout, result.stderr)  # fmt: skip


def health(machine: LabMachine) -> HealthReport:
    """GeuseMaker's own health reading (its waiter, its script, its parsers) against the machine."""
    sleeps: list[float] = []
    checker = HealthChecker(LabSsm(machine), machine.config, sleep=sleeps.append)  # type: ignore[arg-type]
    report = checker.wait(INSTANCE_ID, timeout_s=BOOT_TIMEOUT_S, poll_s=15)
    if sleeps:
        raise LabError(f"the health reading polled {len(sleeps) + 1} times after the boot had ended")
    return report


def cloud_init_times(machine: LabMachine) -> dict[str, Any]:
    """Seconds from cloud-init's start to "complete", and the longest boot steps (from the boot log)."""
    out = machine.run("cloud-init analyze show 2>/dev/null | tail -n 3", check=False).stdout
    stamps: list[tuple[str, float]] = []
    for line in machine.log().splitlines():
        match = re.match(r"(\S+Z) step (\S+): (start|done)", line)
        if match:
            moment = time.mktime(time.strptime(match.group(1), "%Y-%m-%dT%H:%M:%SZ"))
            stamps.append((f"{match.group(2)} {match.group(3)}", moment))
    starts = {name.split()[0]: moment for name, moment in stamps if name.endswith("start")}
    steps = {name.split()[0]: moment - starts[name.split()[0]] for name, moment in stamps if name.endswith("done")}
    started = machine.run("systemctl show -p ExecMainStartTimestampMonotonic --value cloud-init-local.service")
    completed = machine.run("systemctl show -p ExecMainExitTimestampMonotonic --value cloud-final.service")
    total = (int(completed.stdout or 0) - int(started.stdout or 0)) / 1e6
    longest = dict(sorted(steps.items(), key=lambda item: -item[1])[:3])
    return {"cloud-init start to complete (s)": round(total, 1), "longest steps (s)": longest, "analyze": out}
