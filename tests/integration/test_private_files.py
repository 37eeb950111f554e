"""The GeuseMaker home is private (0700, files 0600) and nothing in it or on screen holds a credential."""

from __future__ import annotations

import logging
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.awsfakes import Faults

KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def _loose(path: Path) -> list[str]:
    """Every entry under `path` (itself included) that group or others may use."""
    return [
        f"{entry} {stat.filemode(entry.stat().st_mode)}"
        for entry in [path, *path.rglob("*")]
        if entry.stat().st_mode & 0o077
    ]


def _drop_file_handlers() -> None:
    log = logging.getLogger("geusemaker")
    for handler in [h for h in log.handlers if isinstance(h, logging.FileHandler)]:
        log.removeHandler(handler)
        handler.close()


@pytest.fixture(autouse=True)
def _fresh_log_handler() -> Iterator[None]:
    """The command log attaches its file handler once per process: let this test's home get its own."""
    _drop_file_handlers()
    yield
    _drop_file_handlers()


def test_an_existing_loose_home_and_everything_created_in_it_become_private(
    cli, tmp_path: Path, gm_home: Path, shared_sandbox: str
) -> None:
    gm_home.chmod(0o755)
    (gm_home / "cache").mkdir(mode=0o755)
    (gm_home / "cache" / "old.json").write_text("{}")
    (gm_home / "geusemaker.log").write_text("from an older version\n")
    for entry in (gm_home / "cache" / "old.json", gm_home / "geusemaker.log"):
        entry.chmod(0o644)
    config = tmp_path / "p.yaml"
    config.write_text("name: private\nregion: us-east-1\ncompute:\n  gpu: t4\nstorage:\n  data: none\n")
    assert cli("--sandbox", "deploy", "-c", str(config), "--yes").code == 0
    assert cli("--sandbox", "destroy", "private", "--yes", "--delete-data").code == 0
    assert {p.name for p in gm_home.iterdir()} >= {"state.db", "geusemaker.log", "cache", "locks"}
    assert _loose(gm_home) == []


def test_the_sandbox_files_are_private(sandbox_home: Path, sandbox_endpoint: str) -> None:
    assert {"sandbox.log", "sandbox.lock", "sandbox.json"} <= {p.name for p in sandbox_home.iterdir()}
    assert _loose(sandbox_home) == []


def test_a_rotated_log_stays_private(tmp_path: Path) -> None:
    from geusemaker.logfile import file_handler

    handler = file_handler(tmp_path / "geusemaker.log")
    log = logging.getLogger("geusemaker.test-rotation")
    log.addHandler(handler)
    try:
        for _ in range(3):
            log.warning("x" * 600_000)
    finally:
        log.removeHandler(handler)
        handler.close()
    assert len(list(tmp_path.iterdir())) >= 3 and _loose(tmp_path) == []


def test_an_access_key_in_an_aws_answer_is_never_shown_or_logged(
    cli, tmp_path: Path, gm_home: Path, shared_sandbox: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    faults = Faults().install(monkeypatch)
    message = f"The access key {KEY_ID} (aws_secret_access_key={SECRET}) is not allowed to create a VPC"
    faults.fail[("ec2.CreateVpc", 1)] = ("UnauthorizedOperation", message)
    config = tmp_path / "k.yaml"
    config.write_text("name: leaky\nregion: us-east-1\ncompute:\n  gpu: t4\n")
    result = cli("--sandbox", "deploy", "-c", str(config), "--yes")
    assert result.code == 1 and "is not allowed to create a VPC" in result.err, result.err
    log = (gm_home / "geusemaker.log").read_text()
    assert "is not allowed to create a VPC" in log
    for secret in (KEY_ID, SECRET):
        assert secret not in result.text and secret not in log
