"""Where GeuseMaker keeps its files: `GEUSEMAKER_HOME`, or the platform's user data directory."""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    """The GeuseMaker home directory (created, private to the user)."""
    override = os.environ.get("GEUSEMAKER_HOME")
    if override:
        path = Path(override).expanduser()
    else:
        import platformdirs

        path = Path(platformdirs.user_data_dir("geusemaker", appauthor=False))
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def sandbox_info_file() -> Path:
    return home() / "sandbox.json"


def sandbox_log_file() -> Path:
    return home() / "sandbox.log"


def cache_dir() -> Path:
    path = home() / "cache"
    path.mkdir(exist_ok=True, mode=0o700)
    return path


def state_file() -> Path:
    return home() / "state.db"


def locks_dir() -> Path:
    return home() / "locks"


def log_file() -> Path:
    return home() / "geusemaker.log"
