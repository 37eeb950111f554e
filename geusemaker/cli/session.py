"""What deploy/status/destroy share: the state store, locks, clients for a deployment, signal handling."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from geusemaker.services.aws import AwsClients
    from geusemaker.state.store import DeploymentRecord, StateStore


def checked_name(value: str | None) -> str | None:
    """Typer callback for a deployment-name argument: anything outside the name rule is refused (exit 2)."""
    from geusemaker.errors import UsageError
    from geusemaker.models.names import name_problem

    problem = None if value is None else name_problem(value)
    if problem:
        raise UsageError(problem, hint="See your deployments with: geusemaker list")
    return value


def forget_vanished(store: StateStore, record: DeploymentRecord) -> bool:
    """Forget a deployment made in a sandbox run that has stopped (its resources went with it); True if so."""
    recorded = record.facts.get("sandbox_id")
    if not recorded:
        return False
    from geusemaker.cli.render import message
    from geusemaker.sandbox import control

    if control.sandbox_id(control.status()) == recorded:
        return False
    with locked(record.name):
        store.forget(record.name)
    message(
        f"[yellow]{record.name} lived in a sandbox that has stopped since[/]; its resources went with it, "
        "so it is forgotten."
    )
    return True


def same_target(record: DeploymentRecord, clients: AwsClients) -> None:
    """Refuse to act on a deployment through another endpoint or account than it was made in (all would look gone)."""
    from geusemaker.errors import UsageError

    name, target = record.name, clients.target
    if "endpoint" not in record.facts:  # recorded before endpoints were kept
        return
    if target.sandbox:
        if not record.facts.get("sandbox_id"):
            raise UsageError(
                f"{name!r} was not deployed in the local sandbox", hint="Run the command without --sandbox."
            )
        return
    if record.facts.get("sandbox_id"):
        raise UsageError(f"{name!r} was deployed in the local sandbox", hint="Run the command with --sandbox.")
    recorded = record.facts["endpoint"]
    if recorded != target.endpoint_url:
        raise UsageError(
            f"{name!r} was deployed through {recorded or 'AWS itself'}, but this command talks to "
            f"{target.endpoint_url or 'AWS itself'}",
            hint=f"Pass --endpoint-url {recorded}." if recorded else "Unset AWS_ENDPOINT_URL and --endpoint-url.",
        )
    account = record.facts.get("account_id")
    if account and account != (current := clients.account_id()):
        raise UsageError(
            f"{name!r} was deployed in AWS account {account}, but these credentials are for account {current}",
            hint="Use the profile or credentials of the account it was deployed in (--profile or AWS_PROFILE).",
        )


def open_store() -> StateStore:
    from geusemaker import paths
    from geusemaker.state.store import StateStore

    return StateStore(paths.state_file())


@contextmanager
def locked(name: str) -> Iterator[None]:
    from geusemaker import paths
    from geusemaker.state.lock import deployment_lock

    with deployment_lock(paths.locks_dir(), name):
        yield


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM behaves like Ctrl-C (exit 130): a deploy's running step finishes, then it is rolled back.

    Signal handlers belong to the main thread; elsewhere (a command run from a worker thread) this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
