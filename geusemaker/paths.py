"""Where GeuseMaker keeps its files: `GEUSEMAKER_HOME`, or the platform's user data directory."""

from __future__ import annotations

import functools
import os
import stat
from pathlib import Path
from typing import IO, Any


def home() -> Path:
    """The GeuseMaker home directory (created, private to the user: 0700, its files 0600)."""
    override = os.environ.get("GEUSEMAKER_HOME")
    if override:
        path = Path(override).expanduser()
    else:
        import platformdirs

        path = Path(platformdirs.user_data_dir("geusemaker", appauthor=False))
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        from geusemaker.errors import StateError

        raise StateError(
            f"the GeuseMaker home {path} cannot be used: {exc.strerror or exc}",
            hint="Set GEUSEMAKER_HOME to a folder of yours (it is created, private, when missing).",
        ) from None
    _tighten(path.resolve())
    return path


@functools.cache
def _tighten(folder: Path) -> None:
    """Take group and other permissions away from the home and everything in it (once per process)."""
    for entry in [folder, *folder.rglob("*")]:
        try:
            info = entry.lstat()
            if stat.S_ISLNK(info.st_mode) or info.st_uid != os.getuid() or not info.st_mode & 0o077:
                continue
            entry.chmod(stat.S_IMODE(info.st_mode) & 0o700)
        except OSError:  # vanished meanwhile, or not ours to change
            continue


def open_private(path: Path, mode: str = "a", **kwargs: Any) -> IO[Any]:
    """Open a file in the home as only its owner may read it (0600, also when it exists already)."""
    flags = {"a": os.O_APPEND, "w": os.O_TRUNC}[mode.strip("b")] | os.O_CREAT | os.O_WRONLY
    fd = os.open(path, flags, 0o600)
    try:
        os.fchmod(fd, 0o600)
        return os.fdopen(fd, mode, **kwargs)
    except BaseException:
        os.close(fd)
        raise


def inside(folder: Path, leaf: str) -> Path:
    """`folder / leaf`, refused unless it stays directly inside `folder` (no separators, no `..`)."""
    from geusemaker.errors import UsageError

    path = folder / leaf
    if not leaf or "/" in leaf or "\\" in leaf or "\0" in leaf or leaf in {".", ".."} or path.parent != folder:
        raise UsageError(f"{leaf!r} cannot be used as a file name in {folder}")
    return path


def sandbox_info_file() -> Path:
    return home() / "sandbox.json"


def sandbox_log_file() -> Path:
    return home() / "sandbox.log"


def cache_dir() -> Path:
    path = home() / "cache"
    path.mkdir(exist_ok=True, mode=0o700)
    return path


def answers_dir() -> Path:
    """Where the wizard keeps its answers when no --save-config was given."""
    path = home() / "answers"
    path.mkdir(exist_ok=True, mode=0o700)
    return path


def state_file() -> Path:
    return home() / "state.db"


def locks_dir() -> Path:
    return home() / "locks"


def log_file() -> Path:
    return home() / "geusemaker.log"
