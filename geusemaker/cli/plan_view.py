"""Rendering a Plan: candidates, cost, image, checks, steps."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from rich.markup import escape
from rich.padding import Padding

from geusemaker.cli.render import message, out, say, table, usd
from geusemaker.models.access import exposed_services, exposure_warnings
from geusemaker.models.config import DeploymentConfig
from geusemaker.models.plan import CostBreakdown, Plan

MAX_CANDIDATE_ROWS = 15
MAX_NOTE_REGIONS = 4
_REGION_NOTE = re.compile(r"^(?P<region>[a-z]{2}(-gov)?-[a-z]+-\d): (?P<text>.+)$")
_NUMBER = re.compile(r"\d+")
STATUS_STYLE = {"ok": "green", "warn": "yellow", "fail": "red", "unknown": "dim"}


def show_plan(plan: Plan) -> None:
    """The whole dry-run view (for a plan blocked by quotas: what would run, and what to raise first)."""
    show_candidates(plan)
    show_cost(plan.cost)
    show_quota_increases(plan)
    ami = plan.ami
    driver = " (the boot installs the NVIDIA driver)" if ami.needs_driver_install else ""
    say(f"\n[bold]Machine image[/]: {ami.image_id} {escape(ami.name)} [dim](via {ami.source})[/]{driver}")
    show_checks(plan)
    say("\n[bold]Resources, in order[/]")
    steps = []
    for number, step in enumerate(plan.steps, 1):
        after = f" [dim](after {', '.join(step.depends_on)})[/]" if step.depends_on else ""
        steps.append((f"{number:2}.", f"{escape(step.action)}{after}"))
    _hanging(steps)
    if plan.userdata:
        kind = "gzip" if plan.userdata.compressed else "plain"
        say(f"\nUserData: {plan.userdata.bytes:,} bytes ({kind}) of 16,384")
    _hanging([("[dim]note:[/]", f"[dim]{escape(note)}[/]") for note in collapse_notes(plan.notes)], indent=0)
    show_exposure(plan.config, plan.storage_warnings())


def show_exposure(config: DeploymentConfig, storage: Sequence[str] | None = None) -> None:
    """Who can reach the stack from outside, and a warning for each exposure worth a second look (stderr);
    then the storage warnings (`storage`: a plan's, which knows a kept stack's layout; else the config's)."""
    exposed = exposed_services(config)
    if not exposed:
        message("Access: no inbound ports; reach the services with `geusemaker connect` (SSM port forwarding)")
    else:
        message(f"Access: {', '.join(exposed)} reachable from {', '.join(config.access.allowed_cidrs)}")
    show_warnings([*(exposure_warnings(config) if exposed else ()),
                   *(config.storage.warnings() if storage is None else storage)])  # fmt: skip


def show_warnings(warnings: Sequence[str]) -> None:
    """Each warning on its own line (stderr)."""
    for warning in warnings:
        message(f"[bold yellow]warning:[/] {escape(warning)}")


def collapse_notes(notes: Sequence[str]) -> list[str]:
    """Per-region notes that say the same thing become one line naming the regions (their counts summed).

    `us-east-1: live spot prices missing ... for 24 type/AZ pairs; ...` repeated for twenty regions
    would push the cost off the screen before the confirmation.
    """
    groups: dict[str, list[tuple[str, int, str]]] = {}
    for note in notes:
        match = _REGION_NOTE.match(note)
        if match is None:
            groups.setdefault(note, [])
            continue
        text = match.group("text")
        number = _NUMBER.search(text)
        groups.setdefault(_NUMBER.sub("#", text, count=1), []).append(
            (match.group("region"), int(number.group()) if number else 0, note)
        )
    lines = []
    for key, regions in groups.items():
        if len(regions) < 2:
            lines.append(regions[0][2] if regions else key)
            continue
        names = [region for region, _, _ in regions]
        more = len(names) - MAX_NOTE_REGIONS
        shown = ", ".join(names[:MAX_NOTE_REGIONS]) + (f" and {more} more" if more > 0 else "")
        total = sum(count for _, count, _ in regions)
        lines.append(f"{len(names)} regions ({shown}): {key.replace('#', str(total), 1)}")
    return lines


def _hanging(rows: Sequence[tuple[str, str]], indent: int = 2) -> None:
    """Label and text in two columns, so a long text wraps under itself, not under the label."""
    from rich.table import Table

    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True, justify="right")
    grid.add_column(overflow="fold")
    for label, text in rows:
        grid.add_row(label, text)
    if rows:
        out().print(Padding(grid, (0, 0, 0, indent), expand=False))


def show_candidates(plan: Plan) -> None:
    rows = []
    fallback_rank = {id(p): n for n, p in enumerate(plan.fallbacks, 1)}
    for candidate in plan.candidates[:MAX_CANDIDATE_ROWS]:
        if candidate == plan.placement:
            verdict = "CHOSEN" if plan.extra.get("feasible", True) else "BLOCKED: quota"
        elif id(candidate) in fallback_rank:
            verdict = f"fallback {fallback_rank[id(candidate)]}"
        elif candidate.problems:
            verdict = candidate.problems[0].split(":")[0]
        else:
            verdict = ""
        rows.append(
            [
                candidate.instance_type,
                f"{candidate.region}/{candidate.availability_zone}",
                candidate.market,
                "price unknown" if candidate.instance_hourly_usd is None else usd(candidate.instance_hourly_usd),
                candidate.quota,
                candidate.placement_score,
                candidate.interruption_risk or "-",
                verdict,
            ]
        )
    table(
        f"Considered {len(plan.candidates)} candidates (best {min(len(plan.candidates), MAX_CANDIDATE_ROWS)} shown)",
        ["INSTANCE", "REGION/AZ", "MARKET", "$/h", "QUOTA", "SCORE", "RISK", ""],
        rows,
        right=["$/h", "SCORE"],
    )


def show_quota_increases(plan: Plan) -> None:
    """Every vCPU quota to raise before this plan can run, grouped by quota (nothing when none is short)."""
    increases = plan.extra.get("quota_increases") or []
    if not increases:
        return
    by_code: dict[str, list[dict[str, Any]]] = {}
    for item in increases:
        by_code.setdefault(item["code"], []).append(item)
    say("\n[bold]Blocked by vCPU quota[/]: raising one of these quotas lets this plan run")
    for code, items in by_code.items():
        first = items[0]
        regions = ", ".join(item["region"] for item in items)
        say(f"  {code} ({first['name']}): {first['needed']:g} vCPUs needed, short in {len(items)} "
            f"region{'s' if len(items) != 1 else ''}: {regions}")  # fmt: skip
        say(f"    {first['command']}")


def show_cost(cost: CostBreakdown) -> None:
    rows = [[item.name, "price unknown" if item.hourly_usd is None else usd(item.hourly_usd), item.source]
            for item in cost.items]  # fmt: skip
    rows.append(["total", usd(cost.hourly_usd), ""])
    table("\nCost", ["ITEM", "$/h", "SOURCE"], rows, right=["$/h"])
    if cost.hourly_usd is None:
        say("[yellow]The price of the instance is unknown; the total is unknown (not $0).[/]")
        return
    savings = f", spot saves {cost.spot_savings_pct:g} % vs on-demand" if cost.spot_savings_pct is not None else ""
    say(f"= {usd(cost.hourly_usd)}/h, {usd(cost.daily_usd, 2)}/day, {usd(cost.monthly_usd, 2)}/month (730 h){savings}")


def show_checks(plan: Plan) -> None:
    say("\n[bold]Checks[/]")
    _hanging([(f"[{STATUS_STYLE[c.status]}]{c.status}[/]", f"{c.name}: {escape(c.detail)}") for c in plan.checks])
