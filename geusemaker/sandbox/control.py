"""Start, stop and inspect the sandbox server process; its endpoint is recorded in the GeuseMaker home."""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from geusemaker import paths
from geusemaker.errors import SandboxError

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
INSTALL_HINT = "Install it with: pip install 'geusemaker[sandbox]' (or run scripts/quickstart)."


@dataclass(frozen=True)
class SandboxStatus:
    """What `sandbox status` reports."""

    running: bool
    endpoint: str | None = None
    pid: int | None = None
    quotas: dict[str, float] = field(default_factory=dict)
    started_at: float | None = None
    enabled_regions: tuple[str, ...] = ()

    def as_json(self) -> dict[str, object]:
        return {
            "running": self.running,
            "endpoint": self.endpoint,
            "pid": self.pid,
            "enabled_regions": list(self.enabled_regions),
        }


def status() -> SandboxStatus:
    """The recorded sandbox, if its process is alive and its port answers."""
    info = _read_info()
    if info is None:
        return SandboxStatus(running=False)
    if not (_pid_alive(info.pid) and info.endpoint and _port_open(info.endpoint)):
        _info_path().unlink(missing_ok=True)
        return SandboxStatus(running=False)
    return info


def sandbox_id(info: SandboxStatus) -> str | None:
    """What identifies one run of the sandbox: a deployment made in it vanishes when that run stops."""
    if not info.running or not info.endpoint:
        return None
    return f"{info.endpoint}@{info.started_at}"


def start(quotas: dict[str, float] | None = None, enable_regions: Iterable[str] = ()) -> SandboxStatus:
    """Start the sandbox unless it runs already; return its status.

    Like a new AWS account, the sandbox has its opt-in regions disabled except `enable_regions`.
    """
    quotas = quotas or {}
    enabled = tuple(sorted(set(enable_regions)))
    with _start_lock():
        current = status()
        if current.running:
            if quotas and quotas != {k: current.quotas.get(k) for k in quotas}:
                raise SandboxError(
                    "the sandbox is already running with other quotas",
                    hint="Stop it first: geusemaker sandbox stop",
                )
            if enabled and not set(enabled) <= set(current.enabled_regions):
                raise SandboxError(
                    "the sandbox is already running with other regions enabled",
                    hint="Stop it first: geusemaker sandbox stop",
                )
            return current
        if importlib.util.find_spec("moto") is None:
            raise SandboxError("the local AWS sandbox needs moto, which is not installed", hint=INSTALL_HINT)
        return _spawn(quotas, enabled)


def stop() -> bool:
    """Stop the sandbox; True when one was running."""
    info = _read_info()
    _info_path().unlink(missing_ok=True)
    if info is None or info.pid is None or not _pid_alive(info.pid):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(info.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while _pid_alive(info.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _pid_alive(info.pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(info.pid, signal.SIGKILL)
    return True


def _spawn(quotas: dict[str, float], enabled: tuple[str, ...]) -> SandboxStatus:
    """Start the server on a port the kernel picks at bind time; it writes its endpoint once it listens.

    Choosing a free port first and binding it later would race with every other process on the machine
    (another sandbox could take the port, and this one would then talk to the wrong server).
    """
    ready = paths.home() / "sandbox.ready"
    ready.unlink(missing_ok=True)
    command = [sys.executable, "-m", "geusemaker.sandbox.server", "--port", "0", "--ready-file", str(ready)]
    for code, value in sorted(quotas.items()):
        command += ["--quota", f"{code}={value:g}"]
    for region in enabled:
        command += ["--enable-region", region]
    log_path = paths.sandbox_log_file()
    with paths.open_private(log_path, "ab") as log:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    endpoint = ""
    while not (endpoint and _port_open(endpoint)):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            tail = log_path.read_text(errors="replace")[-800:]
            raise SandboxError(f"the sandbox did not start (log: {log_path})", details=tail.splitlines()[-8:])
        time.sleep(0.05)
        with contextlib.suppress(OSError):
            endpoint = ready.read_text(encoding="utf-8").strip()
    ready.unlink(missing_ok=True)
    started = SandboxStatus(True, endpoint, process.pid, dict(quotas), time.time(), enabled)
    _write_info(started)
    return started


def _info_path() -> Path:
    return paths.sandbox_info_file()


def _read_info() -> SandboxStatus | None:
    try:
        raw = json.loads(_info_path().read_text())
        return SandboxStatus(
            running=True,
            endpoint=str(raw["endpoint"]),
            pid=int(raw["pid"]),
            quotas={str(k): float(v) for k, v in raw.get("quotas", {}).items()},
            started_at=raw.get("started_at"),
            enabled_regions=tuple(str(r) for r in raw.get("enabled_regions", ())),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_info(info: SandboxStatus) -> None:
    path = _info_path()
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(asdict(info), handle)
    tmp.replace(path)


@contextlib.contextmanager
def _start_lock() -> Iterator[None]:
    lock_path = paths.home() / "sandbox.lock"
    with paths.open_private(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _port_open(endpoint: str) -> bool:
    host, _, port = endpoint.removeprefix("http://").partition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=0.5):
            return True
    except OSError:
        return False


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still "exists"; treat it as gone (our child: reap it; anyone's: its state in /proc says Z).
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """True for a process that has exited but is not reaped yet (Linux /proc; elsewhere False)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] == ["Z"]
