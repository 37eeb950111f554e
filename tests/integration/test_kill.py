"""A deploy killed at random moments (kill -9) leaves nothing `destroy` cannot find; SIGTERM rolls back."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.awsfakes import Faults, count_resources, tagged_resources
from tests.conftest import run_cli

KILLS = 20
SEED = 20261123


def _deploy(config: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "geusemaker", "--sandbox", "deploy", "-c", str(config), "--yes"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
    )  # fmt: skip


def _kill_moments() -> list[float]:
    rng = random.Random(SEED)
    return [round(rng.uniform(0.2, 4.0), 2) for _ in range(KILLS)]


@pytest.mark.parametrize(("index", "moment"), list(enumerate(_kill_moments())))
def test_kill_9_at_a_random_moment_then_destroy_leaves_nothing(
    index: int, moment: float, tmp_path: Path, shared_sandbox: str, gm_home: Path
) -> None:
    name = f"killed{index}"
    config = tmp_path / "stack.yaml"
    config.write_text(f"name: {name}\nregion: us-east-1\ncompute:\n  gpu: t4\n")
    before = count_resources(shared_sandbox)
    process = _deploy(config)
    time.sleep(moment)
    process.kill()
    process.wait(timeout=30)
    with_state = index % 2 == 0
    if with_state:
        result = run_cli("--sandbox", "destroy", name, "--yes", "--delete-data")
        assert result.code in (0, 2), result.err  # 2: killed before anything was recorded
        if result.code == 2:
            assert "no deployment named" in result.err
    else:
        for path in gm_home.glob("state.db*"):
            path.unlink()
        result = run_cli("--sandbox", "--region", "us-east-1", "destroy", name, "--discover", "--yes", "--delete-data")
        assert result.code == 0, result.err
    assert tagged_resources(shared_sandbox, name) == []
    assert count_resources(shared_sandbox) == before, (
        f"killed after {moment}s ({'state' if with_state else 'discover'})"
    )


def test_sigterm_rolls_back_and_exits_130(
    cli, tmp_path: Path, shared_sandbox: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM arrives while the deploy is creating resources (sent from inside it, so no race with the clock)."""
    config = tmp_path / "stack.yaml"
    config.write_text("name: termed\nregion: us-east-1\ncompute:\n  gpu: t4\n")
    faults = Faults().install(monkeypatch)
    sent: list[str] = []

    def terminate(request: object) -> bool:
        if not sent:
            sent.append("SIGTERM")
            os.kill(os.getpid(), signal.SIGTERM)
        return False

    faults.respond_if.append(("ec2.CreateLaunchTemplate", terminate, (500, {}, b"")))
    before = count_resources(shared_sandbox)
    result = cli("--sandbox", "deploy", "-c", str(config), "--yes")
    assert sent and result.code == 130, result.err
    assert "rolling back" in result.err
    assert count_resources(shared_sandbox) == before
    assert tagged_resources(shared_sandbox, "termed") == []
