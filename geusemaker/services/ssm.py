"""Run shell on the instance over SSM (AWS-RunShellScript): agent readiness, commands, bounded output."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from geusemaker.errors import AwsError
from geusemaker.services.aws import AwsClients, translate_errors

#: SSM cuts StandardOutputContent at 24,000 characters.
OUTPUT_LIMIT = 24_000
OUTPUT_DIR = "/var/lib/geusemaker/ssm"


@dataclass(frozen=True)
class CommandResult:
    status: str  # Success, Failed, TimedOut, Cancelled, ...
    exit_code: int
    stdout: str
    stderr: str


class SsmRunner:
    """Sends AWS-RunShellScript commands to one region's instances and waits for them."""

    def __init__(
        self, clients: AwsClients, region: str, *, delay_s: int = 2, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._ssm = clients.client("ssm", region)
        self._delay_s = delay_s
        self._sleep = sleep

    def agent_status(self, instance_id: str) -> str | None:
        """The SSM agent's PingStatus (Online, ConnectionLost, Inactive), or None when it never registered."""
        with translate_errors("ssm:DescribeInstanceInformation"):
            answer = self._ssm.describe_instance_information(Filters=[{"Key": "InstanceIds", "Values": [instance_id]}])
        found = answer.get("InstanceInformationList", [])
        return str(found[0].get("PingStatus")) if found else None

    def run(self, instance_id: str, script: str, *, timeout_s: int = 120, comment: str = "geusemaker") -> CommandResult:
        """Run `script` as root and return its result (a failing script is a result, not an exception)."""
        with translate_errors("ssm:SendCommand"):
            command = self._ssm.send_command(
                InstanceIds=[instance_id],
                DocumentName="AWS-RunShellScript",
                Parameters={"commands": [script], "executionTimeout": [str(timeout_s)]},
                TimeoutSeconds=max(30, timeout_s),
                Comment=comment[:100],
            )["Command"]["CommandId"]
        attempts = max(1, (timeout_s + 30) // self._delay_s)
        waiter = self._ssm.get_waiter("command_executed")
        try:
            with translate_errors("ssm:waiter command_executed"):
                waiter.wait(
                    CommandId=command,
                    InstanceId=instance_id,
                    WaiterConfig={"Delay": self._delay_s, "MaxAttempts": attempts},
                )
        except AwsError:
            pass  # a failed script ends the waiter too; its output says why
        with translate_errors("ssm:GetCommandInvocation"):
            result = self._ssm.get_command_invocation(CommandId=command, InstanceId=instance_id)
        return CommandResult(
            status=str(result.get("Status", "")),
            exit_code=int(result.get("ResponseCode", -1)),
            stdout=str(result.get("StandardOutputContent", "")),
            stderr=str(result.get("StandardErrorContent", "")),
        )

    def run_long(
        self, instance_id: str, script: str, *, tail_bytes: int = 20_000, timeout_s: int = 300
    ) -> CommandResult:
        """Run `script` with its output kept in a file on the instance; read back only its last `tail_bytes`."""
        tail_bytes = min(tail_bytes, OUTPUT_LIMIT - 1000)
        wrapped = (
            f"mkdir -p {OUTPUT_DIR}; out=$(mktemp {OUTPUT_DIR}/run.XXXXXX); "
            f'( {script} ) >"$out" 2>&1; rc=$?; tail -c {tail_bytes} "$out"; rm -f "$out"; exit $rc'
        )
        return self.run(instance_id, wrapped, timeout_s=timeout_s)
