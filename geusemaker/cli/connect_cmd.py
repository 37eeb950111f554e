"""`geusemaker connect`: an SSM port-forwarding session to one of the stack's services."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from typing import Annotated

import typer

from geusemaker.cli.session import checked_name

FORWARDABLE = ("ollama", "n8n", "qdrant", "crawl4ai")


def port_forward_command(
    instance: str, region: str, port: int, local_port: int, profile: str | None = None
) -> list[str]:
    """The AWS CLI command that forwards `local_port` on this machine to `port` on the instance."""
    ports = json.dumps({"portNumber": [str(port)], "localPortNumber": [str(local_port)]}, separators=(",", ":"))
    command = [
        "aws", "ssm", "start-session", "--target", instance, "--region", region,
        "--document-name", "AWS-StartPortForwardingSession", "--parameters", ports,
    ]  # fmt: skip
    return [*command, "--profile", profile] if profile else command


def connect(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Deployment name.", callback=checked_name)],
    service: Annotated[str, typer.Option("--service", help=f"One of: {', '.join(FORWARDABLE)}.")] = "n8n",
    local_port: Annotated[
        int | None, typer.Option("--local-port", help="Port on this machine (default: the same).")
    ] = None,
) -> None:
    """Forward a local port to a service on the instance over SSM (no open inbound ports needed).

    Example: geusemaker connect my-llm --service ollama
    """
    from geusemaker.cli.health_cmd import _deployment
    from geusemaker.cli.render import message, say
    from geusemaker.errors import EXIT_FAILED, UsageError, UserError
    from geusemaker.models.services import SERVICES

    if service not in FORWARDABLE:
        raise UsageError(f"--service: {service!r} is not one of {', '.join(FORWARDABLE)}")
    record, config, clients = _deployment(ctx, name)
    if service not in config.services:
        raise UsageError(f"{name} does not run {service} (it runs {', '.join(config.services)})")
    port = SERVICES[service].port or 0
    region = record.facts.get("region", record.region)
    command = port_forward_command(record.facts["instance_id"], region, port, local_port or port, ctx.obj.profile)
    if clients.target.sandbox:
        raise UsageError("the sandbox starts no real machine to connect to", hint=shlex.join(command))
    missing = [tool for tool in ("aws", "session-manager-plugin") if shutil.which(tool) is None]
    if missing:
        say(shlex.join(command))
        error = UserError(
            f"{' and '.join(missing)} not found; run the command above once it is installed",
            hint="Install the AWS CLI v2 and the Session Manager plugin: "
            "https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager-working-with-install-plugin.html",
        )
        error.exit_code = EXIT_FAILED
        raise error
    message(f"Forwarding localhost:{local_port or port} to {service} on {name}; Ctrl-C to stop.")
    raise typer.Exit(subprocess.call(command))
