"""Writing the files a command produces, with a clear message (never a traceback) when the OS says no."""

from __future__ import annotations

from pathlib import Path

from geusemaker.config_io import short_path
from geusemaker.errors import UsageError


def _refusal(path: Path, action: str, exc: OSError) -> UsageError:
    reason = exc.strerror or str(exc)
    return UsageError(f"cannot {action} {short_path(path)}: {reason}", hint="Choose a path you can write to.")


def exists(path: Path) -> bool:
    """Whether something is at `path` (a path the OS cannot even look up is a usage error)."""
    try:
        path.lstat()
    except FileNotFoundError:
        return False
    except NotADirectoryError:
        raise UsageError(f"{short_path(path)}: a part of this path is a file, not a folder") from None
    except OSError as exc:
        raise _refusal(path, "use", exc) from None
    return True


def ensure_folder(path: Path) -> None:
    """Create the folder `path` (and its parents); a file in the way is a usage error."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise UsageError(f"{short_path(path)} is a file; give a folder to write into") from None
    except NotADirectoryError:
        raise UsageError(f"{short_path(path)}: a part of this path is a file, not a folder") from None
    except OSError as exc:
        raise _refusal(path, "create the folder", exc) from None


def write_file(path: Path, data: str | bytes) -> None:
    """Write text (UTF-8) or bytes to `path`, whose folder must exist."""
    folder = path.parent
    if not folder.is_dir() and not exists(folder):
        hint = "Create it first, or choose another path."
        raise UsageError(f"the folder {short_path(folder)} does not exist", hint=hint)
    try:
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8")
    except IsADirectoryError:
        raise UsageError(f"{short_path(path)} is a folder; give a file name") from None
    except OSError as exc:
        raise _refusal(path, "write", exc) from None
