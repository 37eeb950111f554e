"""The end of `deploy` and `start`: wait for the stack to be healthy, then say how long its first token took.

`CommandClock` times the command's own phases (plan, create resources, launch, wait); the instance's
status.json gives the first token's moment and the boot's phases (geusemaker.health.ttft computes the report).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from geusemaker.cli.render import OutputFormat

if TYPE_CHECKING:
    from geusemaker.models.plan import Plan
    from geusemaker.orchestration.executor import StepEvent
    from geusemaker.orchestration.launch import Launched
    from geusemaker.services.aws import AwsClients

#: The plan step that launches the instance: what runs before it creates resources, the rest launches.
LAUNCH_STEP = "instance"


class CommandClock:
    """When the command began (epoch seconds) and how long each of its phases took, in order."""

    def __init__(self, wall: Callable[[], float] = time.time, clock: Callable[[], float] = time.monotonic) -> None:
        self.started_at = wall()
        self.phases: dict[str, float] = {}
        self._clock = clock
        self._launch_began: float | None = None

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        begun = self._clock()
        try:
            yield
        finally:
            self.phases[name] = self.phases.get(name, 0.0) + self._clock() - begun

    @contextmanager
    def questions(self) -> Iterator[None]:
        """Time spent waiting for the user's answers: not part of the time to first token."""
        begun = self._clock()
        try:
            yield
        finally:
            self.started_at += self._clock() - begun

    @contextmanager
    def apply(self) -> Iterator[None]:
        """The executor's run: 'create resources' until the instance step starts, 'launch' from then on."""
        begun = self._clock()
        self._launch_began = None
        try:
            yield
        finally:
            ended = self._clock()
            split = self._launch_began if self._launch_began is not None else ended
            if split > begun:
                self.phases["create resources"] = split - begun
            if ended > split:
                self.phases["launch"] = ended - split

    def steps(self, inner: Callable[[StepEvent], None]) -> Callable[[StepEvent], None]:
        """`inner` (the live display), also noting when the launch step starts."""

        def on_event(event: StepEvent) -> None:
            if event.step == LAUNCH_STEP and event.state == "running" and self._launch_began is None:
                self._launch_began = self._clock()
            inner(event)

        return on_event


def finish_launch(
    plan: Plan, launched: Launched, clients: AwsClients, clock: CommandClock, health_timeout_min: int,
    output: OutputFormat,
) -> None:  # fmt: skip
    """Wait for health (none in the sandbox), show the summary and the time to first token; JSON on request."""
    from geusemaker.cli.deploy_summary import launch_json, summary
    from geusemaker.cli.render import message, print_json
    from geusemaker.health.ttft import first_token

    sandbox = clients.target.sandbox
    health: str | None = None
    boot: dict[str, Any] | None = None
    if not sandbox:
        with clock.phase("wait"):
            health, boot = wait_for_health(plan, launched, clients, health_timeout_min)
    summary(plan, launched, sandbox)
    config = plan.config
    model = config.ollama.models[0] if "ollama" in config.services and config.ollama.models else None
    report = first_token(clock.started_at, clock.phases, boot, sandbox=sandbox, model=model)
    status = "running" if health in (None, "healthy") else "degraded"
    if output is OutputFormat.json:
        print_json({"name": plan.name, "status": status, "health": health, **launch_json(launched),
                    **report.as_json()})  # fmt: skip
    else:
        message(report.text())


def wait_for_health(
    plan: Plan, launched: Launched, clients: AwsClients, timeout_min: int
) -> tuple[str, dict[str, Any] | None]:
    """Follow the boot to the first token; a stack up but not healthy in time is `degraded` (kept, not rolled back).

    Returns the health verdict and the last status.json read.
    """
    from rich.markup import escape

    from geusemaker.cli.render import err, message
    from geusemaker.cli.session import open_store
    from geusemaker.health.runner import HealthChecker
    from geusemaker.orchestration.lifecycle import record_health
    from geusemaker.services.ssm import SsmRunner

    checker = HealthChecker(SsmRunner(clients, launched.region), plan.config)
    with err().status(f"Waiting for {plan.name} to boot (up to {timeout_min} min)...") as spinner:
        report = checker.wait(launched.instance_id, timeout_min * 60, on_progress=spinner.update)
    failures = [f"{c.name}: {c.detail}" for c in report.checks if c.status != "ok"]
    record_health(open_store(), plan.name, report.overall, failures)
    if report.overall != "healthy":
        message(f"[yellow]{plan.name} is up but {report.overall}[/]; its resources are kept. What failed:")
        for check in report.checks:  # on stderr: stdout is the result alone (one JSON document with --output json)
            if check.status != "ok":
                message(f"  {check.status:>7}  {check.name}: {escape(check.detail)}")
        message(f"  look closer: geusemaker logs {plan.name} --service boot   (or --service ollama)")
    return report.overall, checker.last_boot_status
