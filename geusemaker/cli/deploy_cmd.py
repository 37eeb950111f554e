"""`geusemaker deploy` and `geusemaker cost`: plan (and, later, apply) a stack."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from geusemaker.cli.render import OutputFormat

if TYPE_CHECKING:
    from geusemaker.cli.context import AppContext
    from geusemaker.models.plan import Plan

ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="Stack configuration file (YAML or JSON).")]
OutputOpt = Annotated[OutputFormat, typer.Option("--output", "-o", help="table or json.")]


def make_plan(state: AppContext, config_path: Path) -> Plan:
    """Load the config and plan it against AWS (or the sandbox); writes nothing."""
    from geusemaker import paths
    from geusemaker.catalog import load_catalog
    from geusemaker.cli.render import err
    from geusemaker.config_io import load_config
    from geusemaker.planning.planner import Planner

    config = load_config(config_path)
    if state.region:
        config = config.model_copy(update={"region": state.region})
    region = None if config.region == "auto" else config.region
    clients = state.aws(region)
    planner = Planner.create(clients, load_catalog(), paths.cache_dir())
    where = "every region" if config.region == "auto" else config.region
    with err().status(f"Planning {config.name}: checking types, quotas and prices in {where}..."):
        return planner.plan(config, default_region=clients.default_region)


def deploy(
    ctx: typer.Context,
    config: ConfigOpt,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan and its cost; create nothing.")] = False,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """Plan a stack and show what it would create and cost.

    Example: geusemaker deploy --config stack.yaml --dry-run
    """
    from geusemaker.cli.plan_view import show_plan
    from geusemaker.cli.render import print_json
    from geusemaker.errors import UsageError

    if not dry_run:
        raise UsageError("deploy needs --dry-run in this version", hint="geusemaker deploy --config FILE --dry-run")
    plan = make_plan(ctx.obj, config)
    if output is OutputFormat.json:
        print_json(plan.as_json())
    else:
        show_plan(plan)


def cost(ctx: typer.Context, config: ConfigOpt, output: OutputOpt = OutputFormat.table) -> None:
    """Show what a stack costs per hour, day and month at the cheapest feasible placement.

    Example: geusemaker cost --config stack.yaml --output json
    """
    from geusemaker.cli.plan_view import show_cost
    from geusemaker.cli.render import print_json, say

    plan = make_plan(ctx.obj, config)
    if output is OutputFormat.json:
        print_json({"name": plan.name, "placement": plan.placement.as_json(), "cost": plan.cost.as_json()})
        return
    p = plan.placement
    say(f"{plan.name}: {p.instance_type} ({p.market}) in {p.region}/{p.availability_zone}")
    show_cost(plan.cost)
