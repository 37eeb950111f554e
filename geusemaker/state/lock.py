"""A per-deployment lock (flock): one deploy/destroy per name at a time; released if the process dies."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from geusemaker.errors import LockedError
from geusemaker.paths import inside


@contextmanager
def deployment_lock(locks_dir: Path, name: str) -> Iterator[None]:
    """Hold the lock of `name`; raise `LockedError` at once when another process holds it."""
    path = inside(locks_dir, f"{name}.lock")
    locks_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "another process"
            raise LockedError(
                f"deployment {name!r} is busy: pid {holder} is deploying or destroying it",
                hint="Wait for it to finish (or stop it with Ctrl-C there), then try again.",
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)
