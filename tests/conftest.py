"""Shared fixtures: an isolated GeuseMaker home per test, the CLI in-process and as a subprocess."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


class TerminalInput(io.StringIO):
    """Typed answers on a standard input that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


@pytest.fixture(autouse=True)
def gm_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own GeuseMaker home and no ambient AWS settings or terminal size."""
    home = tmp_path / "gm-home"
    monkeypatch.setenv("GEUSEMAKER_HOME", str(home))
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "GEUSEMAKER_SANDBOX", "GEUSEMAKER_DEBUG", "COLUMNS", "LINES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return home


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """Run the CLI in-process: cli("gpus", "--output", "json") -> CliResult."""
    from geusemaker.cli.app import run

    def invoke(*args: str) -> CliResult:
        capsys.readouterr()
        code = run(list(args))
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return invoke


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120, stdin: str | None = None) -> CliResult:
    """Run the real `geusemaker` in a subprocess."""
    proc = subprocess.run(
        [sys.executable, "-m", "geusemaker", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        input=stdin,
        check=False,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture(scope="session")
def sandbox_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The GeuseMaker home of the shared sandbox (pass it as GEUSEMAKER_HOME to use that sandbox)."""
    return tmp_path_factory.mktemp("sandbox-home")


@pytest.fixture(scope="session")
def sandbox_endpoint(sandbox_home: Path) -> Iterator[str]:
    """A real sandbox server process (one per test worker), with default quotas."""
    from geusemaker.sandbox import control

    home = sandbox_home
    previous = os.environ.get("GEUSEMAKER_HOME")
    os.environ["GEUSEMAKER_HOME"] = str(home)
    try:
        info = control.start()
    finally:
        if previous is not None:
            os.environ["GEUSEMAKER_HOME"] = previous
    assert info.endpoint
    yield info.endpoint
    os.environ["GEUSEMAKER_HOME"] = str(home)
    try:
        control.stop()
    finally:
        if previous is not None:
            os.environ["GEUSEMAKER_HOME"] = previous


@pytest.fixture
def shared_sandbox(gm_home: Path, sandbox_home: Path, sandbox_endpoint: str) -> str:
    """Point this test's GeuseMaker home at the worker's running sandbox (no new server process)."""
    import shutil

    gm_home.mkdir(parents=True, exist_ok=True)
    shutil.copy(sandbox_home / "sandbox.json", gm_home / "sandbox.json")
    return sandbox_endpoint
