"""Health checks 3 and 4 run for real on an NVIDIA host (skips elsewhere): the exact shell the SSM command sends."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from geusemaker.config_io import validate_data
from geusemaker.health.checks import _gpu, _gpu_in_container, sections

pytestmark = pytest.mark.gpu
CONFIG = validate_data({"name": "gpu-host", "services": ["ollama"]})


def _run(command: str) -> tuple[str, int]:
    result = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=120, check=False)
    return result.stdout + result.stderr, result.returncode


def test_gpu_check_parses_the_real_query() -> None:
    check, readings = _gpu(_run(sections(CONFIG)["gpu"]))
    print(check)
    for reading in readings:
        print(reading.as_json())
    assert check.status in {"ok", "warn"}, check.detail
    assert readings and all(r.name and r.memory_total_mib and r.driver_version for r in readings)


def test_gpu_visible_inside_a_container() -> None:
    if shutil.which("docker") is None or _run("docker info")[1] != 0:
        pytest.skip("no Docker engine on this GPU host")
    image = "ubuntu:24.04"
    host = _run(sections(CONFIG)["gpu-host-list"])
    inside = _run(f"docker run --rm --gpus all {image} nvidia-smi -L")
    check = _gpu_in_container(host, inside)
    print(check)
    assert check.status == "ok", check.detail
