"""A new user's first commands through the real CLI against the sandbox: warnings they need, refusals they give."""

from __future__ import annotations

import json
from pathlib import Path


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
