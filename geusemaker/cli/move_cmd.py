"""`geusemaker move`: a stopped stack's data volume to another zone of its region, through a snapshot."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from geusemaker.cli.pause_cmd import NameArg

if TYPE_CHECKING:
    from geusemaker.orchestration.move import MovePlan


def move(
    ctx: typer.Context,
    name: NameArg,
    zone: Annotated[
        str, typer.Option("--zone", help="Availability zone to move the data to, in the stack's own region.")
    ],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before moving.")] = False,
    keep_snapshot: Annotated[
        bool, typer.Option("--keep-snapshot", help="Keep the snapshot after the move (billed per GB-month).")
    ] = False,
) -> None:
    """Move a stopped stack's data volume to another availability zone of its region (not to another region).

    The volume is copied through an EBS snapshot into a new encrypted volume in ZONE with the same size,
    performance and tags; only once that volume is available are the old volume and (unless
    --keep-snapshot) the snapshot deleted. `start` then launches in ZONE.

    Example: geusemaker move my-llm --zone us-east-1b
    """
    import sys

    from geusemaker import paths
    from geusemaker.catalog import load_catalog
    from geusemaker.cli.kept_data import kept_cost
    from geusemaker.cli.pause_cmd import _recorded
    from geusemaker.cli.render import message
    from geusemaker.cli.session import locked, open_store, same_target
    from geusemaker.errors import UsageError
    from geusemaker.orchestration.move import move_data, plan_move
    from geusemaker.services.cache import JsonCache
    from geusemaker.services.ec2 import Ec2Service
    from geusemaker.services.pricing import PricingService

    store = open_store()
    record = _recorded(store, name)
    clients = ctx.obj.aws(record.region)
    same_target(record, clients)
    catalog = load_catalog()
    with locked(name):
        rates = PricingService(clients, catalog, JsonCache(paths.cache_dir() / "aws-answers.json"))
        rate = rates.resource_rates(record.region).ebs_snapshot_gb_month
        zones = Ec2Service(clients, catalog).zone_names
        plan = plan_move(clients, store, name, zone, rate, lambda region: list(zones(region).values()))
        _show(plan, keep_snapshot)
        if not yes:
            if not sys.stdin.isatty():
                raise UsageError("not a terminal: pass --yes to move the data")
            if not typer.confirm(f"Move {name}'s data to {zone}?", default=False, err=True):
                message("Not moved: nothing was changed.")
                raise typer.Exit(1)
        delay = 1 if clients.target.sandbox else 15
        moved = move_data(
            clients, store, plan, keep_snapshot=keep_snapshot, on_progress=lambda text: message(f"  {text}"),
            delay_s=delay,
        )  # fmt: skip
    monthly = kept_cost(ctx.obj, name, record.region)
    cost = f"; while stopped it costs about ${monthly:.2f}/month" if monthly is not None else ""
    kept = f", snapshot {moved.snapshot_id} kept" if moved.snapshot_kept else ""
    if plan.done:
        message(f"[green]{name}'s interrupted move is finished[/]: its data is volume {moved.volume_id}{cost}.")
        return
    message(
        f"[green]{name}'s data moved[/] to {moved.zone}: volume {moved.volume_id}{kept}{cost}. "
        f"Start it there: geusemaker start {name}"
    )


def _show(plan: MovePlan, keep_snapshot: bool) -> None:
    """What the move does, what it costs and how long it takes, before it is asked for."""
    from geusemaker.cli.render import message, usd

    if plan.done:
        message(f"{plan.name}'s data volume {plan.volume_id} is in {plan.to_zone} already: finishing the interrupted "
                "move (deleting the volume it replaced, its unfinished copy or its snapshot)")  # fmt: skip
        return
    monthly = plan.snapshot_monthly_usd
    rate = plan.snapshot_rate
    per_hour = None if monthly is None else monthly / 730
    during = "unknown" if per_hour is None else f"about {usd(per_hour * plan.minutes / 60, 4)} for the move"
    kept = f"{usd(monthly, 2)}/month while kept" if monthly is not None else "unknown per month"
    after = f"kept (--keep-snapshot): {kept}" if keep_snapshot else "deleted after the move"
    message(
        f"Moving {plan.name}'s data volume {plan.volume_id} ({plan.size_gb} GiB) "
        f"from {plan.from_zone} to {plan.to_zone} through a snapshot:\n"
        f"  snapshot: up to {plan.size_gb} GiB at {usd(rate.usd, 3)}/GB-month ({rate.source}); {during}; {after}\n"
        f"  estimated time: about {plan.minutes} minutes (a first snapshot copies every written block)\n"
        f"  the new volume loads its blocks from the snapshot on first read: the first start reads slower"
    )
