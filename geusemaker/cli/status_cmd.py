"""`geusemaker status` and `geusemaker list`: what is deployed, what it costs, and what AWS says."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from geusemaker.cli.render import OutputFormat
from geusemaker.cli.session import checked_name, same_target

if TYPE_CHECKING:
    from geusemaker.state.store import DeploymentRecord

#: statuses in which no instance runs and the stack's kept data (volume, snapshots, file system) is what it costs
KEEPING = frozenset({"data-kept", "stopped", "interrupted", "terminated"})
OutputOpt = Annotated[OutputFormat, typer.Option("--output", "-o", help="table or json.")]
#: From this width on, `status` shows every column; below it, a compact table and one line per instance.
WIDE_STATUS_COLUMNS = 120


def deployment_json(record: DeploymentRecord, now: float | None = None) -> dict[str, Any]:
    """The status document of one deployment (the keys `status --output json` promises)."""
    facts = record.facts
    hourly = facts.get("hourly_usd")
    launched = facts.get("launched_at")
    from geusemaker.models.history import events_of, running_cost
    from geusemaker.models.status import BILLED

    running_until = (now or time.time()) if record.status in BILLED else record.updated_at
    hours = max(0.0, running_until - launched) / 3600 if launched else 0.0
    cost_so_far = round(hourly * hours, 4) if hourly is not None else None
    events = events_of(facts)
    if events:  # the running time of every instance the stack had, not the time since the last launch
        hours, total = running_cost(events, running_until)
        cost_so_far = round(total, 4) if total is not None else None
    deadline = facts.get("deadline_at")
    return {
        "name": record.name,
        "status": record.status,
        "region": facts.get("region", record.region),
        "instance_id": facts.get("instance_id"),
        "instance_type": facts.get("instance_type"),
        "market": facts.get("market"),
        "public_ip": facts.get("public_ip"),
        "hourly_usd": hourly,
        "cost_so_far_usd": cost_so_far,
        "running_hours": round(hours, 2),
        "stopped_monthly_usd": facts.get("kept_monthly_usd"),
        "deadline_at": _iso(deadline) if isinstance(deadline, int | float) and record.status in BILLED else None,
        "uptime_s": round(running_until - launched) if launched and record.status in BILLED else None,
        "health": facts.get("health"),
        "detail": record.detail,
        "events": [event.as_fact() for event in events],
    }


def status(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="One deployment (default: all).", callback=checked_name)] = None,
    refresh: Annotated[
        bool, typer.Option("--refresh", help="Reconcile with AWS (terminated, interrupted, stopped).")
    ] = False,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """Show every deployment (or one): state, instance, market, $/h, cost so far, last health.

    Example: geusemaker status my-llm --refresh
    """
    from geusemaker.cli.render import out, print_json, say, table
    from geusemaker.cli.session import open_store
    from geusemaker.errors import UsageError

    store = open_store()
    records = store.deployments() if name is None else [r for r in [store.get(name)] if r is not None]
    if name is not None and not records:
        raise UsageError(f"no deployment named {name!r}", hint="List them with: geusemaker list")
    if refresh:
        for record in records:
            _refresh(ctx.obj, store, record)
        records = [r for r in (store.get(rec.name) for rec in records) if r is not None]
    documents = [_mark_vanished(deployment_json(r), r) for r in records]
    if output is OutputFormat.json:
        print_json(documents)
        return
    if not documents:
        say("No deployments. Create one with: geusemaker deploy --config stack.yaml")
        return
    wide = out().width >= WIDE_STATUS_COLUMNS
    columns = (
        ["NAME", "STATUS", "REGION", "INSTANCE", "TYPE", "MARKET", "PUBLIC IP", "UPTIME", "COST", "SO FAR", "HEALTH"]
        if wide
        else ["NAME", "STATUS", "TYPE", "COST", "SO FAR", "HEALTH"]
    )
    table(None, columns, [_row(d) if wide else _narrow_row(d) for d in documents], right=["COST", "SO FAR", "UPTIME"])
    for d in documents:
        if d["instance_id"] and not wide:
            where = f"{d['instance_id']} in {d['region']}, public IP {d['public_ip'] or '-'}"
            say(f"[dim]{d['name']}: {where}, up {_uptime(d['uptime_s'])}[/]")
        if d["deadline_at"]:
            say(f"[dim]{d['name']}: stops at its deadline, {d['deadline_at']} (lifecycle.max_runtime_hours)[/]")
    if name is not None:
        from geusemaker.cli.history_view import show_history

        show_history(documents[0])


def _mark_vanished(document: dict[str, Any], record: DeploymentRecord) -> dict[str, Any]:
    """A deployment whose sandbox has stopped is `vanished`: its resources went with the sandbox."""
    recorded = record.facts.get("sandbox_id")
    if not recorded:
        return document
    from geusemaker.sandbox import control

    if control.sandbox_id(control.status()) == recorded:
        return document
    detail = f"its sandbox has stopped, and its resources with it; `geusemaker --sandbox destroy {record.name}`"
    return document | {"status": "vanished", "detail": detail + " forgets it"}


def _row(d: dict[str, Any]) -> list[Any]:
    return [
        d["name"], d["status"], d["region"], d["instance_id"], d["instance_type"], d["market"], d["public_ip"],
        _uptime(d["uptime_s"]), cost_now(d), cost_so_far(d, "h running"), d["health"] or "-",
    ]  # fmt: skip


def _narrow_row(d: dict[str, Any]) -> list[Any]:
    """Below 120 columns: the same facts in fewer columns (where it runs goes on a line of its own)."""
    kind = f"{d['instance_type']} {d['market']}" if d["instance_type"] else None
    return [
        d["name"], d["status"], kind, cost_now(d), cost_so_far(d, "h"), d["health"] or "-",
    ]  # fmt: skip


def cost_now(d: dict[str, Any]) -> str:
    """What the stack costs now: $/h while an instance runs, else $/month of what it keeps (data, snapshots)."""
    from geusemaker.cli.render import usd
    from geusemaker.models.status import BILLED

    if d["status"] in BILLED:
        return f"{usd(d['hourly_usd'])}/h"
    monthly = d["stopped_monthly_usd"]
    return "-" if monthly is None else f"{usd(monthly, 2)}/mo"


def cost_so_far(d: dict[str, Any], unit: str) -> str:
    """The instances' cost from their actual running time, with the hours: "$12.40 (31.0 h running)"."""
    from geusemaker.cli.render import usd

    return f"{usd(d['cost_so_far_usd'], 2)} ({d['running_hours']:.1f} {unit})"


def _iso(epoch_s: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_s))


def _uptime(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60:02d}m"


def _refresh(state: Any, store: Any, record: DeploymentRecord) -> None:
    """Ask EC2 what became of the instance; record terminated / interrupted / stopped."""
    from rich.markup import escape

    from geusemaker.cli.render import message
    from geusemaker.errors import UsageError
    from geusemaker.models.status import REFRESHABLE
    from geusemaker.orchestration.reconcile import refresh

    instance_id = record.facts.get("instance_id")
    grouped = any(r.kind == "autoscaling-group" for r in store.resources(record.name))
    if not (instance_id or grouped) or record.status not in REFRESHABLE:
        return  # a stack with groups is looked at without an instance: they may have launched one
    region = record.facts.get("region", record.region)
    clients = state.aws(region)
    try:
        same_target(record, clients)
    except UsageError as elsewhere:  # another endpoint would report the instance gone: leave the status alone
        message(f"[yellow]{record.name} not refreshed:[/] {escape(elsewhere.message)}")
        return
    refresh(clients, store, record)


def list_deployments(
    ctx: typer.Context,
    discover: Annotated[bool, typer.Option("--discover", help="Also find deployments by their tags in AWS.")] = False,
    region: Annotated[str | None, typer.Option("--region", help="Region to search with --discover, or 'all'.")] = None,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """List deployments from the local state (and, with --discover, from AWS tags).

    Example: geusemaker list --discover --region all
    """
    from geusemaker.cli.render import print_json, table

    rows: dict[str, dict[str, Any]] = {}
    for record in _local_records(discover):
        kept = record.facts.get("kept_monthly_usd") if record.status in KEEPING else None
        rows[record.name] = {"name": record.name, "status": record.status, "region": record.region,
                             "resources": None, "in_state": True, "kept_monthly_usd": kept}  # fmt: skip
    if discover:
        for name, (found_region, count) in _discovered(ctx.obj, region).items():
            new = {"name": name, "status": "unknown", "region": found_region, "in_state": False}
            row = rows.setdefault(name, {**new, "kept_monthly_usd": None})
            row["resources"] = count
    documents = sorted(rows.values(), key=lambda d: d["name"])
    if output is OutputFormat.json:
        print_json(documents)
        return
    table(
        None,
        ["NAME", "STATUS", "REGION", "TAGGED RESOURCES", "LOCAL STATE", "KEPT DATA $/MONTH"],
        [
            [*(d[k] for k in ("name", "status", "region", "resources")), "yes" if d["in_state"] else "no", _kept(d)]
            for d in documents
        ],
    )


def _kept(document: dict[str, Any]) -> str:
    """The monthly cost of a deployment's kept data, for the table."""
    monthly = document["kept_monthly_usd"]
    return "-" if monthly is None else f"{monthly:.2f}"


def _local_records(discover: bool) -> list[DeploymentRecord]:
    """The local deployments; with --discover a damaged state is a warning, so that AWS can still be listed."""
    from rich.markup import escape

    from geusemaker.cli.render import message
    from geusemaker.cli.session import open_store
    from geusemaker.errors import StateError

    try:
        return open_store().deployments()
    except StateError as error:
        if not discover:
            raise
        message(f"[yellow]warning:[/] {escape(error.message)}; listing what AWS knows only")
        return []


def _discovered(state: Any, region: str | None) -> dict[str, tuple[str, int]]:
    """deployment name -> (region, number of live tagged resources), IAM-only leftovers included."""
    from geusemaker.catalog import load_catalog
    from geusemaker.cli.context import check_discovery_region
    from geusemaker.orchestration.kinds import from_tags
    from geusemaker.planning.regions import discovery_regions
    from geusemaker.services.inventory import InventoryService

    region = check_discovery_region(region or state.region)
    clients = state.aws(None if region in (None, "all") else region)
    regions = discovery_regions(clients, load_catalog(), region)
    found: dict[str, tuple[str, int]] = {}
    managed = [
        m
        for name in regions
        for m in InventoryService(clients, name).regional()
        if from_tags(m.arn, m.tags, lingering=True)  # the kinds GeuseMaker creates (root volumes go with instances)
    ]
    managed += InventoryService(clients, regions[0]).identities()
    for item in managed:
        where, count = found.get(item.deployment, (item.region, 0))
        found[item.deployment] = (item.region if where == "global" else where, count + 1)
    return found
