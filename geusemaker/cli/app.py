"""Root command: global options, sub-command registration and the one top-level error handler."""

from __future__ import annotations

import logging
import os
import re
import sys
from typing import Annotated

import typer

from geusemaker import __version__
from geusemaker.cli import (
    config_cmd,
    connect_cmd,
    deploy_cmd,
    destroy_cmd,
    gpus_cmd,
    health_cmd,
    move_cmd,
    pause_cmd,
    render_cmd,
    sandbox_cmd,
    status_cmd,
)
from geusemaker.cli.context import AppContext, RegionOpt
from geusemaker.cli.session import sigterm_as_interrupt
from geusemaker.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, UserError

app = typer.Typer(
    name="geusemaker",
    help="Deploy a self-hosted GPU AI stack (Ollama, n8n, Qdrant, Crawl4AI, PostgreSQL) onto AWS EC2.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: starts in a third of the time of rich help
    add_completion=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(config_cmd.app, name="config")
app.add_typer(sandbox_cmd.app, name="sandbox")
app.command("deploy")(deploy_cmd.deploy)
app.command("cost")(deploy_cmd.cost)
app.command("status")(status_cmd.status)
app.command("list")(status_cmd.list_deployments)
app.command("destroy")(destroy_cmd.destroy)
app.command("stop")(pause_cmd.stop)
app.command("start")(pause_cmd.start)
app.command("move")(move_cmd.move)
app.command("health")(health_cmd.health)
app.command("logs")(health_cmd.logs)
app.command("connect")(connect_cmd.connect)
app.command("gpus")(gpus_cmd.gpus)
app.command("render")(render_cmd.render)

_state = AppContext()


def _version(value: bool) -> None:
    if value:
        typer.echo(f"geusemaker {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    profile: Annotated[str | None, typer.Option(help="AWS profile to use.", envvar="AWS_PROFILE")] = None,
    region: RegionOpt = None,
    endpoint_url: Annotated[
        str | None, typer.Option(help="Send AWS calls to this endpoint (also AWS_ENDPOINT_URL).")
    ] = None,
    sandbox: Annotated[
        bool,
        typer.Option("--sandbox", help="Use the built-in local AWS sandbox.", envvar="GEUSEMAKER_SANDBOX"),
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.", envvar="GEUSEMAKER_DEBUG")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """GeuseMaker: a private LLM box on the cheapest NVIDIA GPU AWS has, in one command.

    Example: geusemaker --sandbox gpus --gpu a10g
    """
    _state.profile, _state.endpoint_url = profile, endpoint_url
    _state.region = region
    _state.sandbox, _state.debug = sandbox, debug
    ctx.obj = _state


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the app and turn every failure into a message and an exit code."""
    code = run(argv)
    if code == EXIT_INTERRUPTED and _busy_threads():
        # Interrupted while worker threads still wait on AWS: exit now instead of joining them (a read can
        # take minutes to time out). Everything the command must undo was undone before `run` returned.
        sys.stdout.flush()
        sys.stderr.flush()
        logging.shutdown()
        os._exit(code)
    sys.exit(code)


def _busy_threads() -> bool:
    import threading

    return any(t.is_alive() and not t.daemon and t is not threading.main_thread() for t in threading.enumerate())


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (no traceback unless --debug)."""
    log = _command_log(argv if argv is not None else sys.argv[1:])
    try:
        with sigterm_as_interrupt():
            result = app(args=argv, prog_name="geusemaker", standalone_mode=False)
    except UserError as error:
        from geusemaker.cli.render import render_error

        log.info("failed (exit %s): %s %s", error.exit_code, error.message, " | ".join(error.details))
        render_error(error)
        _maybe_traceback()
        return error.exit_code
    except (KeyboardInterrupt, typer.Abort):
        return _interrupted(log)
    except typer.Exit as done:
        return int(done.exit_code)
    except typer.TyperException as usage:  # bad options, unknown commands (typer's click errors)
        if isinstance(getattr(usage, "message", None), str):
            usage.message = plain_usage_message(usage.message)  # type: ignore[attr-defined]
        show = getattr(usage, "show", None)
        if callable(show):
            show()
        else:
            sys.stderr.write(f"error: {usage.format_message()}\n")
        return EXIT_USAGE
    except Exception as bug:
        log.exception("unexpected error")
        from geusemaker.redact import redact

        sys.stderr.write(f"error: unexpected {type(bug).__name__}: {redact(str(bug))}\nThis is a bug in GeuseMaker; ")
        sys.stderr.write("please report it with the output of --debug.\n")
        _maybe_traceback()
        return EXIT_FAILED
    code = result if isinstance(result, int) else 0
    return _interrupted(log) if code == EXIT_INTERRUPTED else code  # typer turns Ctrl-C into exit 130


def _interrupted(log: logging.Logger) -> int:
    log.info("interrupted")
    sys.stderr.write("\ninterrupted\n")
    return EXIT_INTERRUPTED


#: pydantic phrases (typer converts options with pydantic) and what a user reads instead
_PLAIN = (
    (re.compile(r"^Value error, "), ""),
    (re.compile(r"Input should be a valid integer.*"), "expected a whole number"),
    (re.compile(r"Input should be a valid number.*"), "expected a number"),
    (re.compile(r"Input should be a valid boolean.*"), "expected true or false"),
    (re.compile(r"Input should be greater than or equal to "), "must be at least "),
    (re.compile(r"Input should be less than or equal to "), "must be at most "),
    (re.compile(r"Input should be greater than "), "must be more than "),
    (re.compile(r"Input should be less than "), "must be less than "),
)


def plain_usage_message(text: str) -> str:
    """A usage error without the wording of the validation library underneath."""
    for pattern, replacement in _PLAIN:
        text = pattern.sub(replacement, text)
    return text


def _command_log(argv: list[str]) -> logging.Logger:
    """Log what each command did to geusemaker.log in the GeuseMaker home (never stdout)."""
    log = logging.getLogger("geusemaker")
    has_file = any(isinstance(h, logging.FileHandler) for h in log.handlers)
    if argv and argv[0] not in {"--help", "-h", "--version"} and not has_file:
        from geusemaker.errors import UserError

        try:
            from geusemaker import paths
            from geusemaker.logfile import file_handler

            handler = file_handler(paths.log_file())
        except (OSError, UserError):  # no usable home: the command itself says so
            return log
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
        log.info("geusemaker %s", " ".join(argv))
    return log


def _maybe_traceback() -> None:
    if _state.debug or os.environ.get("GEUSEMAKER_DEBUG"):
        import traceback

        from geusemaker.redact import redact

        sys.stderr.write(redact(traceback.format_exc()))
