"""What `deploy` prints once the stack is up: the summary panel, and the launch as JSON."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from geusemaker.models.plan import Plan
    from geusemaker.orchestration.launch import Launched


def launch_json(launched: Launched) -> dict[str, object]:
    return {
        "instance_id": launched.instance_id,
        "instance_type": launched.instance_type,
        "region": launched.region,
        "availability_zone": launched.availability_zone,
        "market": launched.market,
        "public_ip": launched.public_ip,
        "hourly_usd": launched.hourly_usd,
        "attempts": [str(a) for a in launched.attempts],
    }


def summary(plan: Plan, launched: Launched, sandbox: bool) -> None:
    """The final panel: where it runs, what it costs, how to connect, how to destroy."""
    from rich.markup import escape
    from rich.panel import Panel

    from geusemaker.cli.render import err
    from geusemaker.models.services import SERVICES

    hourly = "unknown" if launched.hourly_usd is None else f"${launched.hourly_usd:.4f}/h"
    lines = [
        f"instance  {launched.instance_id} ({launched.instance_type}, {launched.market})",
        f"where     {launched.region}/{launched.availability_zone}   public IP {launched.public_ip or '-'}",
        f"cost      {hourly} for the whole stack",
    ]
    if len(launched.attempts) > 1:
        lines.append(f"fallbacks {len(launched.attempts) - 1} placements had no capacity first")
    if sandbox:
        lines.append("health    skipped: the sandbox boots no real machine")
    for service in plan.config.services:
        port = SERVICES[service].port
        if port and SERVICES[service].public:
            lines.append(f"{service:<9} geusemaker connect {plan.name} --service {service}   (localhost:{port})")
    lines += [f"status    geusemaker status {plan.name}", f"destroy   geusemaker destroy {plan.name}"]
    title = f"[bold green]{plan.name} is up[/]"
    err().print(Panel(escape("\n".join(lines)), title=title, title_align="left", border_style="green", expand=False))
