"""GPU tests run only where `nvidia-smi -L` lists a GPU; everywhere else they skip."""

from __future__ import annotations

import shutil
import subprocess

import pytest


def _gpu_present() -> bool:
    if shutil.which("nvidia-smi") is None:
        return False
    try:
        result = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0 and "GPU 0" in result.stdout


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if _gpu_present():
        return
    skip = pytest.mark.skip(reason="no NVIDIA GPU on this machine (nvidia-smi -L lists none)")
    for item in items:
        if "tests/gpu/" in str(item.fspath):
            item.add_marker(skip)
