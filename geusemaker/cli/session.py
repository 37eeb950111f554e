"""What deploy/status/destroy share: the state store, locks, clients for a deployment, signal handling."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from geusemaker.state.store import StateStore


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
