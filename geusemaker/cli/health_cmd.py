"""`geusemaker health` and `geusemaker logs`: look at the running instance over SSM."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from geusemaker.cli.render import OutputFormat
from geusemaker.cli.session import checked_name

if TYPE_CHECKING:
    from geusemaker.health.checks import HealthReport

LOG_SOURCES = ("boot", "ollama", "n8n", "qdrant", "crawl4ai", "postgres")


def _deployment(ctx: typer.Context, name: str) -> tuple[Any, Any, Any]:
    """(record, config, clients) of a deployed stack with an instance."""
    from geusemaker.cli.session import open_store
    from geusemaker.config_io import validate_stored
    from geusemaker.errors import UsageError

    store = open_store()
    record = store.get(name)
    if record is None:
        raise UsageError(f"no deployment named {name!r}", hint="List them with: geusemaker list")
    if not record.facts.get("instance_id"):
        raise UsageError(f"{name} has no instance (status {record.status})")
    region = record.facts.get("region", record.region)
    return record, validate_stored(record.config, name), ctx.obj.aws(region)


def health(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Deployment name.", callback=checked_name)],
    output: Annotated[OutputFormat, typer.Option("--output", "-o", help="table or json.")] = OutputFormat.table,
    watch: Annotated[bool, typer.Option("--watch", help="Check again every 30 seconds until Ctrl-C.")] = False,
) -> None:
    """Check the instance: SSM agent, boot, GPU, GPU inside Ollama's container, Ollama on the GPU, services.

    Example: geusemaker health my-llm --output json
    """
    from geusemaker.cli.render import print_json
    from geusemaker.cli.session import open_store
    from geusemaker.health.runner import HealthChecker, sandbox_report
    from geusemaker.services.ssm import SsmRunner

    record, config, clients = _deployment(ctx, name)
    instance = record.facts["instance_id"]
    while True:
        if clients.target.sandbox:
            report = sandbox_report(config)
        else:
            report = HealthChecker(SsmRunner(clients, record.facts.get("region", record.region)), config).check(
                instance
            )
        open_store().update_facts(name, health=report.overall)
        if output is OutputFormat.json:
            print_json(report.as_json())
        else:
            show_report(report)
        if not watch:
            return
        time.sleep(30)


def show_report(report: HealthReport) -> None:
    from rich.markup import escape

    from geusemaker.cli.plan_view import STATUS_STYLE
    from geusemaker.cli.render import say, table

    style = {"healthy": "green", "degraded": "yellow", "unhealthy": "red"}.get(report.overall, "dim")
    say(f"[bold]{report.name}[/]: [{style}]{report.overall}[/]")
    for check in report.checks:
        say(f"  [{STATUS_STYLE[check.status]}]{check.status:>7}[/]  {check.name}: {escape(check.detail)}")
    if report.gpus:
        table(
            "\nGPUs",
            ["#", "MODEL", "MEMORY USED/TOTAL", "UTIL", "TEMP", "POWER"],
            [
                [
                    g.index,
                    g.name,
                    f"{g.memory_used_mib or 0:,.0f} / {g.memory_total_mib or 0:,.0f} MiB",
                    _unit(g.utilization_gpu_pct, "%"),
                    _unit(g.temperature_c, " C"),
                    _unit(g.power_draw_w, " W"),
                ]
                for g in report.gpus
            ],
            right=["UTIL", "TEMP", "POWER"],
        )


def _unit(value: float | None, unit: str) -> str:
    return "-" if value is None else f"{value:g}{unit}"


def logs(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Deployment name.", callback=checked_name)],
    service: Annotated[str, typer.Option("--service", help=f"One of: {', '.join(LOG_SOURCES)}.")] = "boot",
    tail: Annotated[int, typer.Option("--tail", min=1, max=5000, help="Lines to show.")] = 100,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new lines until Ctrl-C.")] = False,
) -> None:
    """Show the boot log or a service's log from the instance (over SSM).

    Example: geusemaker logs my-llm --service ollama --tail 50 --follow
    """
    import sys

    from geusemaker.errors import UsageError
    from geusemaker.services.ssm import SsmRunner

    if service not in LOG_SOURCES:
        raise UsageError(f"--service: {service!r} is not one of {', '.join(LOG_SOURCES)}")
    record, _, clients = _deployment(ctx, name)
    if clients.target.sandbox:
        raise UsageError("the sandbox starts no real machine, so there are no logs to read")
    runner = SsmRunner(clients, record.facts.get("region", record.region))
    instance = record.facts["instance_id"]
    cursor: str | None = None
    while True:
        text, cursor = _read_logs(runner, instance, service, tail, cursor)
        sys.stdout.write(text)
        sys.stdout.flush()
        if not follow:
            return
        time.sleep(3)


def _read_logs(runner: Any, instance: str, service: str, tail: int, cursor: str | None) -> tuple[str, str]:
    """New log text since `cursor` (a byte offset for the boot log, a timestamp for containers)."""
    marker = "@@GEUSEMAKER-CURSOR="
    if service == "boot":
        log = "/var/log/geusemaker/boot.log"
        read = f"tail -n {tail} {log}" if cursor is None else f"tail -c +{int(cursor) + 1} {log}"
        command = f"{read}; echo; echo {marker}$(stat -c %s {log})"
    else:
        since = f"--since {cursor}" if cursor else f"--tail {tail}"
        command = f"docker logs {since} geusemaker-{service}-1 2>&1; echo; echo {marker}$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    result = runner.run_long(instance, command, timeout_s=60)
    text, _, new_cursor = result.stdout.rpartition(marker)
    return text.rstrip("\n") + ("\n" if text.strip() else ""), new_cursor.strip() or (cursor or "")
