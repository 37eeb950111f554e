"""A new user's first commands through the real CLI against the sandbox: warnings they need, refusals they give."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from tests.awsfakes import Faults, count_resources
from tests.conftest import run_cli


def _config(tmp_path: Path, name: str, models: str) -> str:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"name: {name}\nregion: us-east-1\ncompute:\n  gpu: t4\nollama:\n  models: [{models}]\n")
    return str(path)


def test_the_plan_warns_when_a_model_cannot_fit_the_gpu(cli, tmp_path: Path, shared_sandbox: str) -> None:
    big = cli("--sandbox", "deploy", "-c", _config(tmp_path, "big", "llama3.1:70b"), "--dry-run", "-o", "json")
    checks = {c["name"]: c for c in json.loads(big.out)["checks"]}
    assert checks["model memory"]["status"] == "warn" and "llama3.1:70b needs about" in checks["model memory"]["detail"]
    shown = cli("--sandbox", "deploy", "-c", _config(tmp_path, "big", "llama3.1:70b"), "--dry-run")
    assert "llama3.1:70b needs about" in " ".join(shown.out.split())
    small = cli("--sandbox", "deploy", "-c", _config(tmp_path, "small", "llama3.2:3b"), "--dry-run", "-o", "json")
    assert "model memory" not in {c["name"] for c in json.loads(small.out)["checks"]}


def _stack(tmp_path: Path, name: str) -> str:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"name: {name}\nregion: us-east-1\ncompute:\n  gpu: t4\nstorage:\n  data: none\n")
    return str(path)


def test_status_and_cost_are_readable_at_80_columns(tmp_path: Path, shared_sandbox: str, gm_home: Path) -> None:
    env = {"GEUSEMAKER_HOME": str(gm_home), "COLUMNS": "80"}
    assert run_cli("--sandbox", "deploy", "-c", _stack(tmp_path, "narrow-status"), "--yes", env=env).code == 0
    try:
        narrow = run_cli("--sandbox", "status", env=env)
        assert narrow.code == 0, narrow.err
        lines = narrow.out.splitlines()
        assert max(len(line.rstrip()) for line in lines) <= 80, narrow.out
        document = json.loads(run_cli("--sandbox", "status", "-o", "json", env=env).out)[0]
        assert document["instance_id"] in narrow.out and f"${document['hourly_usd']:.4f}" in narrow.out
        wide = run_cli("--sandbox", "status", env={**env, "COLUMNS": "160"})
        assert "PUBLIC IP" in wide.out and document["instance_id"] in wide.out
        cost = run_cli("--sandbox", "cost", "-c", _stack(tmp_path, "narrow-status"), env=env)
        assert cost.code == 0 and max(len(line.rstrip()) for line in cost.out.splitlines()) <= 80
        assert "/month" in cost.out and "total" in cost.out
    finally:
        assert run_cli("--sandbox", "destroy", "narrow-status", "--yes", "--delete-data", env=env).code == 0


def test_ctrl_c_during_a_deploy_shows_the_rollback(
    cli, tmp_path: Path, shared_sandbox: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    faults = Faults().install(monkeypatch)
    pressed: list[bool] = []

    def ctrl_c(request: Any) -> bool:
        if not pressed:
            pressed.append(True)
            os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C in the terminal sends
        return False

    faults.respond_if.append(("ec2.CreateLaunchTemplate", ctrl_c, (500, {}, b"")))
    before = count_resources(shared_sandbox)
    result = cli("--sandbox", "deploy", "-c", _stack(tmp_path, "ctrlc"), "--yes")
    assert pressed and result.code == 130, result.err
    text = " ".join(result.err.split())
    assert "rolling back: interrupted: deleting everything created so far" in text
    assert "rolled back:" in text and "nothing left" in text
    assert count_resources(shared_sandbox) == before
