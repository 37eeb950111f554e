"""Writing the files a command produces, with a clear message (never a traceback) when the OS says no."""

from __future__ import annotations

from pathlib import Path

from geusemaker.errors import UsageError


def _shown(path: Path) -> str:
    text = str(path)
    return text if len(text) <= 200 else f"{text[:100]}...{text[-60:]}"


def _refusal(path: Path, action: str, exc: OSError) -> UsageError:
    reason = exc.strerror or str(exc)
    return UsageError(f"cannot {action} {_shown(path)}: {reason}", hint="Choose a path you can write to.")


def exists(path: Path) -> bool:
    """Whether something is at `path` (a path the OS cannot even look up is a usage error)."""
    try:
        path.lstat()
    except FileNotFoundError:
        return False
    except NotADirectoryError:
        raise UsageError(f"{_shown(path)}: a part of this path is a file, not a folder") from None
    except OSError as exc:
        raise _refusal(path, "use", exc) from None
    return True


def ensure_folder(path: Path) -> None:
    """Create the folder `path` (and its parents); a file in the way is a usage error."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise UsageError(f"{_shown(path)} is a file; give a folder to write into") from None
    except NotADirectoryError:
        raise UsageError(f"{_shown(path)}: a part of this path is a file, not a folder") from None
    except OSError as exc:
        raise _refusal(path, "create the folder", exc) from None


def write_file(path: Path, data: str | bytes) -> None:
    """Write text (UTF-8) or bytes to `path`, whose folder must exist."""
    folder = path.parent
    if not folder.is_dir() and not exists(folder):
        raise UsageError(f"the folder {_shown(folder)} does not exist", hint="Create it first, or choose another path.")
    try:
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8")
    except IsADirectoryError:
        raise UsageError(f"{_shown(path)} is a folder; give a file name") from None
    except OSError as exc:
        raise _refusal(path, "write", exc) from None
