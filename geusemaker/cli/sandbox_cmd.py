"""`geusemaker sandbox start|stop|status`: the built-in local AWS."""

from __future__ import annotations

from typing import Annotated

import typer

from geusemaker.cli.render import OutputFormat
from geusemaker.cli.session import checked_name

app = typer.Typer(
    help="Run the built-in local AWS sandbox (moto) for trying GeuseMaker without an account.",
    rich_markup_mode=None,
)

OutputOpt = Annotated[OutputFormat, typer.Option("--output", "-o", help="table or json.")]


@app.command("start")
def start(
    quota: Annotated[
        list[str] | None,
        typer.Option("--quota", help="Set an EC2 vCPU quota, CODE=VALUE (repeatable), e.g. L-DB2E81BA=0."),
    ] = None,
    enable_region: Annotated[
        list[str] | None,
        typer.Option(
            "--enable-region",
            help="Enable an opt-in region (repeatable); like a new account, the sandbox has them disabled.",
        ),
    ] = None,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """Start the sandbox in the background (no-op when it runs).

    Example: geusemaker sandbox start --quota L-DB2E81BA=0 --enable-region af-south-1
    """
    from geusemaker.errors import UsageError
    from geusemaker.sandbox import control
    from geusemaker.sandbox.server import parse_quota, parse_region

    quotas: dict[str, float] = {}
    for text in quota or []:
        try:
            code, value = parse_quota(text)
        except ValueError as exc:
            raise UsageError(f"--quota {exc}") from None
        quotas[code] = value
    regions = []
    for text in enable_region or []:
        try:
            regions.append(parse_region(text))
        except ValueError as exc:
            raise UsageError(f"--enable-region: {exc}") from None
    _report(control.start(quotas, regions), output)


@app.command("stop")
def stop() -> None:
    """Stop the sandbox; everything created in it is forgotten.

    Example: geusemaker sandbox stop
    """
    from geusemaker.cli.render import message
    from geusemaker.sandbox import control

    message("sandbox stopped" if control.stop() else "the sandbox was not running")


@app.command("status")
def status(output: OutputOpt = OutputFormat.table) -> None:
    """Say whether the sandbox runs, and where.

    Example: geusemaker sandbox status --output json
    """
    from geusemaker.sandbox import control

    _report(control.status(), output)


def _report(info: object, output: OutputFormat) -> None:
    from geusemaker.cli.render import message, print_json
    from geusemaker.sandbox.control import SandboxStatus

    assert isinstance(info, SandboxStatus)
    if output is OutputFormat.json:
        print_json(info.as_json())
    elif info.running:
        quotas = ", ".join(f"{code}={value:g}" for code, value in sorted(info.quotas.items())) or "defaults (64 vCPUs)"
        enabled = ", ".join(info.enabled_regions) or "none"
        message(f"sandbox running at {info.endpoint} (pid {info.pid}); quotas: {quotas}; opt-in regions: {enabled}")
    else:
        message("sandbox not running; start it with: geusemaker sandbox start")


@app.command("interrupt")
def interrupt(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A deployment made in the sandbox.", callback=checked_name)],
    no_spot_capacity: Annotated[
        bool,
        typer.Option(
            "--no-spot-capacity",
            help="Spot capacity is gone too: the group cannot replace the instance, the fallback alarm fires.",
        ),
    ] = False,
) -> None:
    """Take a sandbox stack's instance away as a spot interruption would; its Auto Scaling group replaces it.

    Example: geusemaker sandbox interrupt my-llm --no-spot-capacity
    """
    from geusemaker.cli.render import message
    from geusemaker.cli.session import open_store, same_target
    from geusemaker.errors import UsageError
    from geusemaker.orchestration.interruption import interrupt as interrupt_stack

    store = open_store()
    record = store.get(name)
    if record is None or not record.facts.get("sandbox_id"):
        raise UsageError(
            f"{name!r} is not a deployment in the sandbox", hint="Only sandbox stacks can be interrupted this way."
        )
    ctx.obj.sandbox = True
    clients = ctx.obj.aws(str(record.facts.get("region") or record.region))
    same_target(record, clients)
    done = interrupt_stack(clients, store, name, no_spot_capacity=no_spot_capacity, waiter_delay_s=1)
    fired = f"; no spot capacity: alarm {done.alarm} fired its actions" if done.alarm else ""
    message(
        f"[yellow]{name}: instance {done.instance_id} terminated as AWS would[/] (group {done.group}){fired}. "
        f"See what happened: geusemaker --sandbox status {name} --refresh"
    )
