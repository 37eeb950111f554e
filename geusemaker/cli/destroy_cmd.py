"""`geusemaker destroy`: delete everything a deployment created, even without local state."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from geusemaker.cli.context import RegionOpt
from geusemaker.cli.session import checked_name, same_target

if TYPE_CHECKING:
    from geusemaker.state.store import ResourceRecord


def destroy(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Deployment name.", callback=checked_name)],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask to type the name.")] = False,
    discover: Annotated[
        bool,
        typer.Option(
            "--discover", help="Also find resources by tag where no local state knows them (--region or all)."
        ),
    ] = False,
    delete_data: Annotated[
        bool,
        typer.Option(
            "--delete-data", help="Also delete the stack's data (data volume or file system, and its secrets)."
        ),
    ] = False,
    region: RegionOpt = None,
    stack_id: Annotated[
        str | None,
        typer.Option("--stack-id", help="With --discover and no local state: which stack of that name to delete."),
    ] = None,
) -> None:
    """Delete a deployment's resources in reverse dependency order; a re-run finishes a partial destroy.

    Example: geusemaker destroy my-llm --yes
    """
    from geusemaker.catalog import load_catalog
    from geusemaker.cli.discovered import choose_stack
    from geusemaker.cli.kept_data import ask_delete_data
    from geusemaker.cli.progress import StepDisplay
    from geusemaker.cli.render import message
    from geusemaker.cli.session import forget_vanished, locked, open_store
    from geusemaker.errors import EXIT_FAILED, UsageError, UserError
    from geusemaker.orchestration.destroy import stacks
    from geusemaker.orchestration.orchestrator import Orchestrator
    from geusemaker.planning.regions import discovery_regions

    state = ctx.obj
    store = open_store()
    record = store.get(name)
    if record is None and not discover:
        raise UsageError(
            f"no deployment named {name!r} in the local state", hint=f"geusemaker destroy {name} --discover"
        )
    if record is not None and record.facts.get("sandbox_id") and not state.sandbox:
        raise UsageError(f"{name!r} was deployed in the local sandbox", hint=f"geusemaker --sandbox destroy {name}")
    one_region = state.region if state.region not in (None, "all", "auto") else None
    if record is None:  # what the tags say, by stack id, before anything is deleted
        clients = state.aws(one_region)
        regions = discovery_regions(clients, load_catalog(), one_region)
        stack_id = choose_stack(name, stacks(clients, name, regions), stack_id)
    if not yes:
        if not sys.stdin.isatty():
            raise UsageError("not a terminal: pass --yes to destroy without typing the name")
        if typer.prompt(f"Type the name ({name}) to destroy it", err=True) != name:
            raise UsageError("the typed name does not match; nothing was deleted")
    if record is not None and forget_vanished(store, record):
        return
    if record is not None and not yes and not delete_data:
        from geusemaker.orchestration.kinds import kind

        kept = [f"{r.kind} {r.resource_id}" for r in store.resources(name) if kind(r.kind).keep]
        delete_data = bool(kept) and ask_delete_data(name, kept)
    if record is not None:
        clients = state.aws(record.region)
        same_target(record, clients)
        regions = discovery_regions(clients, load_catalog(), one_region) if discover else []
    with locked(name), StepDisplay([], f"Destroying {name}") as display:
        orchestrator = Orchestrator(
            clients, store, on_progress=display.progress, waiter_delay_s=1 if clients.target.sandbox else 5
        )
        report = orchestrator.destroy(name, regions, delete_data=delete_data, stack_id=stack_id)
    if report.failed:
        error = UserError(
            f"{len(report.failed)} resources of {name} could not be deleted yet",
            details=[f"{r.kind} {r.resource_id} ({r.region}): {why}" for r, why in report.failed[:10]],
            hint=f"Run `geusemaker destroy {name}` again to finish.",
        )
        error.exit_code = EXIT_FAILED
        raise error
    if record is None and not report.deleted:
        where = state.region if one_region else "every region"
        message(f"[yellow]nothing tagged {name} was found in {where}[/]; nothing was deleted.")
        return
    if report.kept:
        _say_kept(state, name, report.kept, len(report.deleted), local=record is not None)
        return
    message(f"[green]{name} destroyed[/]: {len(report.deleted)} resources deleted, nothing left.")


def _say_kept(state: Any, name: str, kept: list[ResourceRecord], deleted: int, *, local: bool) -> None:
    """What was kept, what it costs per month, and how to reuse or delete it."""
    from geusemaker.cli.kept_data import kept_cost
    from geusemaker.cli.render import message

    names = ", ".join(f"{r.kind} {r.resource_id} ({r.region})" for r in kept)
    monthly = kept_cost(state, name, kept[0].region) if local else None
    cost = f"about ${monthly:.2f}/month" if monthly is not None else "a monthly storage charge"
    again = f"geusemaker destroy {name}{'' if local else ' --discover'} --delete-data"
    message(
        f"[green]{name} destroyed[/]: {deleted} resources deleted; its data is kept: {names}; "
        f"it costs {cost} until deleted.\n"
        f"  reuse it: geusemaker deploy (same name)    delete it: {again}"
    )
