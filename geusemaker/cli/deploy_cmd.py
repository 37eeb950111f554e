"""`geusemaker deploy` and `geusemaker cost`: plan a stack, then (after confirmation) create it."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from geusemaker.cli.context import RegionOpt
from geusemaker.cli.render import OutputFormat

if TYPE_CHECKING:
    from geusemaker.cli.context import AppContext
    from geusemaker.cli.first_token import CommandClock
    from geusemaker.cli.kept_data import KeptData
    from geusemaker.models.config import DeploymentConfig
    from geusemaker.models.plan import Plan
    from geusemaker.orchestration.launch import Launched
    from geusemaker.services.aws import AwsClients

#: Extra options for every wizard prompt (tests give prompt_toolkit pipe input and a dummy output).
WIZARD_PROMPT_OPTIONS: dict[str, object] = {}

ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="Stack configuration file (YAML or JSON).")]
OutputOpt = Annotated[OutputFormat, typer.Option("--output", "-o", help="table or json.")]


def make_plan(
    state: AppContext,
    config: DeploymentConfig,
    show_blocked: Callable[[Plan], None] | None = None,
    kept: KeptData | None = None,
) -> tuple[Plan, AwsClients]:
    """Plan `config` against AWS (or the sandbox); writes nothing.

    When only vCPU quotas stand in the way, `show_blocked` gets the plan that would run once they are
    raised, before the quota error (exit 3) propagates.
    """
    from geusemaker.errors import QuotaError

    try:
        return _plan(state, config, kept)
    except QuotaError as error:
        if show_blocked is not None and error.plan is not None:
            show_blocked(error.plan)  # type: ignore[arg-type]
        raise


def _plan(state: AppContext, config: DeploymentConfig, kept: KeptData | None) -> tuple[Plan, AwsClients]:
    from geusemaker import paths
    from geusemaker.catalog import load_catalog
    from geusemaker.cli.render import err
    from geusemaker.models.regions import AUTO
    from geusemaker.planning.planner import Planner

    config = config.model_copy(update={"region": state.stack_region(config.region)})
    if kept is not None:  # the kept data stays where it is: the placement goes to it
        from geusemaker.cli.kept_data import pinned_region

        config = config.model_copy(update={"region": pinned_region(kept, str(config.region))})
    region = None if config.region == AUTO else config.region
    clients = state.aws(region)
    planner = Planner.create(clients, load_catalog(), paths.cache_dir())
    where = "every enabled region" if config.region == AUTO else config.region
    with err().status(f"Planning {config.name}: checking types, quotas and prices in {where}..."):
        zone = kept.zone if kept is not None else None
        return planner.plan(config, default_region=clients.default_region, zone=zone), clients


def deploy(
    ctx: typer.Context,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Stack configuration file; without it a wizard asks.")
    ] = None,
    save_config: Annotated[
        Path | None, typer.Option("--save-config", help="Write the wizard's answers to this config file.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Let --save-config overwrite an existing file.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan and its cost; create nothing.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    keep_on_failure: Annotated[
        bool, typer.Option("--keep-on-failure", help="On failure keep (and record) what was created, for debugging.")
    ] = False,
    health_timeout: Annotated[
        int, typer.Option("--health-timeout", min=1, max=120, help="Minutes to wait for the stack to be healthy.")
    ] = 20,
    output: OutputOpt = OutputFormat.table,
    region: RegionOpt = None,
    plan_file: Annotated[
        Path | None,
        typer.Option("--plan", help="Apply a plan saved by `deploy --dry-run --output json` (refused once stale)."),
    ] = None,
    fresh_data: Annotated[
        bool,
        typer.Option("--fresh-data", help="Refuse to reuse a kept data volume or secrets of the same name."),
    ] = False,
) -> None:
    """Plan a stack, show its cost, and create it on AWS (a wizard asks when there is no --config).

    Example: geusemaker deploy --config stack.yaml --yes
    """
    from geusemaker.cli.first_token import CommandClock, finish_launch
    from geusemaker.cli.kept_data import check_name, check_plan
    from geusemaker.cli.plan_view import show_exposure, show_plan
    from geusemaker.cli.render import message, print_json
    from geusemaker.errors import UsageError
    from geusemaker.orchestration.rehearsal import rehearse

    clock = CommandClock()
    stack, answers = _stack(ctx.obj, config, plan_file, save_config, force, clock)
    with _answers_kept(answers):
        if not dry_run and not yes and not sys.stdin.isatty():
            raise UsageError("not a terminal: pass --yes to deploy without confirmation")

        def show(plan: Plan) -> None:
            print_json(plan.as_json()) if output is OutputFormat.json else show_plan(plan)

        if plan_file is not None:
            from geusemaker.cli.saved_plan import load_saved_plan

            with clock.phase("plan"):
                plan, clients = load_saved_plan(ctx.obj, plan_file, stack)
            with clock.questions():
                kept = None if dry_run else check_name(plan.name, yes=yes, fresh_data=fresh_data)
            if kept is not None:
                check_plan(kept, [(p.region, p.availability_zone) for p in (plan.placement, *plan.fallbacks)])
        else:
            assert stack is not None
            with clock.questions():
                kept = check_name(stack.name, yes=yes, fresh_data=fresh_data, dry_run=dry_run)
            with clock.phase("plan"):
                plan, clients = make_plan(ctx.obj, stack, show_blocked=show, kept=kept)
        rehearse(plan)  # the executor in display mode: every step's inputs resolve, or nothing runs
        if dry_run:
            show(plan)
            return
        if output is OutputFormat.json:  # stdout carries exactly one JSON document
            p = plan.placement
            where = f"{p.region}/{p.availability_zone}"
            message(f"Plan: {p.instance_type} {p.market} in {where}, ${plan.cost.hourly_usd}/h")
            show_exposure(plan.config)
        else:
            show_plan(plan)
        if not _confirmed(plan, yes, clock):
            message(f"Not deployed: nothing was created.{_answers_note(answers)}")
            raise typer.Exit(1)
        launched = _apply(plan, clients, keep_on_failure, clock)
    finish_launch(plan, launched, clients, clock, health_timeout, output)


def _stack(
    state: AppContext, config: Path | None, plan_file: Path | None, save_config: Path | None, force: bool,
    clock: CommandClock,
) -> tuple[DeploymentConfig | None, Path | None]:  # fmt: skip
    """The stack to deploy and the file keeping the wizard's answers: from the config, the saved plan, or the wizard."""
    from geusemaker.config_io import load_config

    if config is not None:
        return load_config(config), None
    if plan_file is not None:
        return None, None  # the saved plan carries its configuration
    with clock.questions():
        return _from_wizard(state, save_config, force)


def _confirmed(plan: Plan, yes: bool, clock: CommandClock) -> bool:
    """The user's go-ahead (asked unless `--yes`); the time at the prompt is not the stack's."""
    with clock.questions():
        return yes or typer.confirm(f"Create {plan.name} at about ${plan.cost.hourly_usd or 0:.4f}/h?", err=True)


def _from_wizard(state: AppContext, save_config: Path | None, force: bool) -> tuple[DeploymentConfig, Path]:
    """Ask for the stack interactively, after checking what would make the answers useless; never without a terminal.

    Returns the stack and the file its answers were written to (`save_config`, else one in the GeuseMaker home).
    """
    from rich.markup import escape

    from geusemaker import paths
    from geusemaker.catalog import load_catalog
    from geusemaker.cli.files import exists, write_file
    from geusemaker.cli.render import message
    from geusemaker.cli.session import open_store
    from geusemaker.cli.wizard import Wizard, public_ip
    from geusemaker.config_io import dump_config
    from geusemaker.errors import UsageError

    if not sys.stdin.isatty():
        raise UsageError(
            "no --config and no terminal to ask in",
            hint="Pass --config FILE (and --yes), e.g. geusemaker deploy --config stack.yaml --yes",
        )
    state.aws(None if state.region in (None, "auto") else state.region).account_id()  # credentials before questions
    existing = {record.name for record in open_store().deployments()}
    wizard = Wizard(load_catalog(), existing, public_ip, **WIZARD_PROMPT_OPTIONS)
    try:
        overwrite = f"{escape(str(save_config))} exists. Overwrite it with your answers?"
        if save_config is not None and exists(save_config) and not force and not wizard.confirm(overwrite, False):
            raise UsageError(
                f"--save-config: {save_config} exists and was not overwritten",
                hint="Choose another file, or pass --force to overwrite it.",
            )
        stack = wizard.run()
    except KeyboardInterrupt:
        message("\ncancelled: nothing was created")
        raise typer.Exit(130) from None
    target = save_config or paths.inside(paths.answers_dir(), f"{stack.name}.yaml")
    if save_config is not None:
        write_file(save_config, dump_config(stack))
    else:
        with paths.open_private(target, "w", encoding="utf-8") as answers:
            answers.write(dump_config(stack))
    shown = escape(str(target))
    message(f"Saved the answers to {shown} (use it with: geusemaker deploy --config {shown})")
    return stack, target


def _answers_note(answers: Path | None) -> str:
    return f" Your answers are kept in {answers}: geusemaker deploy --config {answers}" if answers else ""


@contextmanager
def _answers_kept(answers: Path | None) -> Iterator[None]:
    """A failure after the wizard says where its answers are, so nothing has to be typed twice."""
    from geusemaker.errors import UserError

    try:
        yield
    except UserError as error:
        if answers is not None:
            note = _answers_note(answers).strip()
            error.hint = f"{error.hint}\n{note}" if error.hint else note
        raise


def _apply(plan: Plan, clients: AwsClients, keep_on_failure: bool, clock: CommandClock) -> Launched:
    from geusemaker.cli.progress import StepDisplay
    from geusemaker.cli.session import locked, open_store, sigterm_as_interrupt
    from geusemaker.orchestration.orchestrator import Orchestrator

    store = open_store()
    title = f"Deploying {plan.name}"
    with locked(plan.name), sigterm_as_interrupt(), StepDisplay(list(plan.steps), title) as display, clock.apply():
        orchestrator = Orchestrator(
            clients, store, on_event=clock.steps(display.event), on_progress=display.progress,
            waiter_delay_s=1 if clients.target.sandbox else 5,
        )  # fmt: skip
        return orchestrator.apply(plan, keep_on_failure=keep_on_failure)


def cost(
    ctx: typer.Context, config: ConfigOpt, output: OutputOpt = OutputFormat.table, region: RegionOpt = None
) -> None:
    """Show what a stack costs per hour, day and month at the cheapest feasible placement.

    Example: geusemaker cost --config stack.yaml --output json
    """
    from geusemaker.cli.plan_view import show_cost, show_exposure, show_quota_increases
    from geusemaker.cli.render import print_json, say
    from geusemaker.config_io import load_config

    def show(plan: Plan) -> None:
        if output is OutputFormat.json:
            keys = ("feasible", "quota_increases")
            print_json({"name": plan.name, "placement": plan.placement.as_json(), "cost": plan.cost.as_json(),
                        **{key: plan.extra[key] for key in keys if key in plan.extra}})  # fmt: skip
            return
        p = plan.placement
        say(f"{plan.name}: {p.instance_type} ({p.market}) in {p.region}/{p.availability_zone}")
        show_cost(plan.cost)
        show_quota_increases(plan)
        show_exposure(plan.config)

    plan, _ = make_plan(ctx.obj, load_config(config), show_blocked=show)
    show(plan)
