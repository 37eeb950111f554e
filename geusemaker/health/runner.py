"""Run the health checks on a deployment's instance over SSM, and wait for a fresh boot to finish."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from geusemaker.health.checks import STATUS_FILE, HealthReport, evaluate, script
from geusemaker.models.config import DeploymentConfig
from geusemaker.models.market import Check
from geusemaker.services.ssm import SsmRunner


class HealthChecker:
    """Checks one instance; `wait` polls boot progress until the stack is up or time runs out."""

    def __init__(
        self,
        runner: SsmRunner,
        config: DeploymentConfig,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._runner = runner
        self._config = config
        self._sleep = sleep
        self._clock = clock
        #: the last status.json `wait` read (None: none was readable)
        self.last_boot_status: dict[str, Any] | None = None

    def check(self, instance_id: str) -> HealthReport:
        agent = self._runner.agent_status(instance_id)
        output = self._runner.run(instance_id, script(self._config), timeout_s=180).stdout if agent == "Online" else ""
        return evaluate(self._config, agent, output)

    def boot_status(self, instance_id: str) -> dict[str, Any] | None:
        """The instance's status.json, or None while the agent or the file is not there yet."""
        if self._runner.agent_status(instance_id) != "Online":
            return None
        result = self._runner.run(instance_id, f"cat {STATUS_FILE}", timeout_s=30)
        try:
            status = json.loads(result.stdout) if result.exit_code == 0 else None
        except ValueError:
            return None
        return status if isinstance(status, dict) else None

    def wait(
        self,
        instance_id: str,
        timeout_s: float,
        on_progress: Callable[[str], None] = lambda _: None,
        poll_s: float = 15.0,
    ) -> HealthReport:
        """Poll the boot until it fails, or completes and the first model has answered (or cannot), then run
        every check; time out into a report."""
        deadline = self._clock() + timeout_s
        last = ""
        while self._clock() < deadline:
            status = self.boot_status(instance_id)
            self.last_boot_status = status if status is not None else self.last_boot_status
            if status is None:
                text = "waiting for the SSM agent"
            elif status.get("step") == "complete" and not boot_ended(status, self._config):
                text = f"boot complete; waiting for the first token from {self._config.ollama.models[0]}"
            else:
                text = f"boot step {status.get('step')}: {status.get('state')}"
            if text != last:
                on_progress(text)
                last = text
            if status is not None and boot_ended(status, self._config):
                break
            self._sleep(poll_s)
        report = self.check(instance_id)
        if self._clock() >= deadline and report.overall != "healthy":
            timed_out = Check("timeout", "warn", f"not healthy after {timeout_s / 60:.0f} minutes")
            return HealthReport(report.name, report.overall, (*report.checks, timed_out), report.gpus)
        return report


def boot_ended(status: dict[str, Any], config: DeploymentConfig) -> bool:
    """Whether a boot is over: failed, or complete with the first model answered (or known not to)."""
    if status.get("state") == "failed":
        return True
    if status.get("step") != "complete":
        return False
    if "ollama" not in config.services or not config.ollama.models:
        return True
    return "first_token_at" in status or "first_token_error" in status


def sandbox_report(config: DeploymentConfig) -> HealthReport:
    """What health says in the sandbox, where no real instance boots."""
    detail = "the sandbox starts no real machine; GPU and service checks need a real AWS deployment"
    return HealthReport(config.name, "unknown", (Check("sandbox", "unknown", detail),))
