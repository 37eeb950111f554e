"""`geusemaker stop` and `geusemaker start`: the instance goes and comes back; data, secrets and network stay."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from geusemaker.cli.render import OutputFormat
from geusemaker.cli.session import checked_name

if TYPE_CHECKING:
    from geusemaker.state.store import DeploymentRecord, StateStore

NameArg = Annotated[str, typer.Argument(help="Deployment name.", callback=checked_name)]


def stop(ctx: typer.Context, name: NameArg) -> None:
    """Terminate a stack's instance; keep its data, secrets, network and launch template (start brings it back).

    Example: geusemaker stop my-llm
    """
    from geusemaker.cli.kept_data import kept_cost
    from geusemaker.cli.render import message
    from geusemaker.cli.session import locked, open_store, same_target
    from geusemaker.orchestration.pause import stop as stop_stack

    store = open_store()
    record = _recorded(store, name)
    clients = ctx.obj.aws(record.region)
    same_target(record, clients)
    with locked(name):
        deleted = stop_stack(clients, store, name, waiter_delay_s=1 if clients.target.sandbox else 5)
    monthly = kept_cost(ctx.obj, name, record.region)
    cost = f"about ${monthly:.2f}/month" if monthly is not None else "its storage"
    gone = ", ".join(f"{r.kind} {r.resource_id}" for r in deleted) or "no instance was running"
    message(f"[green]{name} stopped[/] ({gone}); while stopped it costs {cost}. Start it: geusemaker start {name}")


def start(
    ctx: typer.Context,
    name: NameArg,
    health_timeout: Annotated[
        int, typer.Option("--health-timeout", min=1, max=120, help="Minutes to wait for the stack to be healthy.")
    ] = 20,
    output: Annotated[OutputFormat, typer.Option("--output", "-o", help="table or json.")] = OutputFormat.table,
) -> None:
    """Launch a stopped stack again, in its data's zone, with the same data and secrets; wait for its first token.

    Example: geusemaker start my-llm
    """
    from geusemaker.cli.deploy_cmd import make_plan
    from geusemaker.cli.first_token import CommandClock, finish_launch
    from geusemaker.cli.kept_data import KeptData
    from geusemaker.cli.progress import StepDisplay
    from geusemaker.cli.session import locked, open_store, same_target
    from geusemaker.models.config import DeploymentConfig
    from geusemaker.orchestration.pause import start as start_stack

    clock = CommandClock()
    store = open_store()
    record = _recorded(store, name)
    resources = store.resources(name)
    zone = next((str(r.data["zone"]) for r in resources if r.kind == "subnet" and r.data.get("zone")), None)
    data = KeptData(name, tuple(r for r in resources if r.region != "global"), zone)
    with clock.phase("plan"):
        plan, clients = make_plan(ctx.obj, DeploymentConfig.model_validate(record.config), kept=data)
    same_target(record, clients)
    with locked(name), StepDisplay([], f"Starting {name}") as display, clock.phase("launch"):
        launched = start_stack(
            clients, store, plan, on_event=display.event, waiter_delay_s=1 if clients.target.sandbox else 5
        )
    finish_launch(plan, launched, clients, clock, health_timeout, output)


def _recorded(store: StateStore, name: str) -> DeploymentRecord:
    """The deployment's local record; a name the state does not know is a usage error."""
    from geusemaker.errors import UsageError

    record = store.get(name)
    if record is None:
        raise UsageError(f"no deployment named {name!r} in the local state", hint="See them with: geusemaker list")
    return record
