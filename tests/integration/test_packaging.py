"""A clean install: the package builds without setuptools warnings and ships every data folder."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

SHIPPED = ("pyproject.toml", "README.md", "geusemaker", "runtime_assets")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """Build the wheel from a copy of the sources (nothing is written into the checkout)."""
    source = tmp_path_factory.mktemp("source")
    for name in SHIPPED:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy(path, source / name)
    wheels = tmp_path_factory.mktemp("wheels")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--no-build-isolation", "--no-cache-dir",
         "--disable-pip-version-check", "-w", str(wheels), str(source)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr, next(wheels.glob("geusemaker-*.whl"))


def test_the_build_prints_no_setuptools_warning(built: tuple[str, Path]) -> None:
    output, _ = built
    warnings = [line for line in output.splitlines() if "Warning" in line or "deprecated" in line.lower()]
    assert warnings == []


def test_the_wheel_ships_every_data_file_and_an_spdx_licence(built: tuple[str, Path]) -> None:
    _, wheel = built
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = next(archive.read(n).decode() for n in names if n.endswith(".dist-info/METADATA"))
    expected = {
        "geusemaker/py.typed",
        "geusemaker/catalog/data/gpu_catalog.json",
        "geusemaker/assets/stack.example.yaml",
        "geusemaker/runtime_assets/docker-compose.yml.j2",
    } | {f"geusemaker/userdata/templates/{p.name}" for p in (ROOT / "geusemaker/userdata/templates").iterdir()}
    assert expected <= names, expected - names
    assert "License-Expression: Apache-2.0" in metadata


def test_the_install_is_quiet_and_its_log_shown_only_on_failure(tmp_path: Path) -> None:
    script = 'source scripts/_venv.sh; VENV="$1"; _quietly "$2" -c "$3"'
    quiet = subprocess.run(
        ["bash", "-c", script, "bash", str(tmp_path), sys.executable, "print('setuptools noise')"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")
    assert "setuptools noise" in (tmp_path / "install.log").read_text()
    failed = subprocess.run(
        ["bash", "-c", script, "bash", str(tmp_path), sys.executable, "import sys; sys.exit('the real error')"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert failed.returncode != 0 and "the real error" in failed.stderr
