"""The instance lab's scenarios (docs/lab.md): the exact UserData booted under real systemd, cloud-init and Docker.

They need root and systemd-nspawn; elsewhere they skip and say why. `scripts/test -m "not lab"` leaves them out.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from geusemaker.config_io import validate_data
from tests.lab import rootfs
from tests.lab.machine import LabMachine, lab_unavailable
from tests.lab.scenarios import FULLEST, JOURNEY, failing_step
from tests.lab.warm_start import ON_EBS, cold_boot, warm_start

pytestmark = [pytest.mark.lab, pytest.mark.skipif(lab_unavailable() is not None, reason=str(lab_unavailable()))]


@pytest.fixture(scope="session")
def pristine() -> Iterator[Path]:
    root = rootfs.pristine_root()
    with rootfs.held(root):
        yield root


@pytest.fixture
def lab_dir() -> Path:
    """A machine's folder (its root disk is ~700 MB: /var/tmp, not a possibly RAM-backed /tmp)."""
    return Path(tempfile.mkdtemp(prefix="geusemaker-lab-", dir="/var/tmp"))


def _machine(pristine: Path, workdir: Path, document: dict[str, object], *, spot: bool) -> LabMachine:
    machine = LabMachine(validate_data(document), workdir, spot=spot)
    machine.create(pristine)
    return machine


def test_a_failing_step_stops_the_boot_and_health_reports_it_at_once(pristine: Path, lab_dir: Path) -> None:
    machine = _machine(pristine, lab_dir, {**FULLEST, "name": "lab-fail"}, spot=False)
    try:
        machine.fault("nvidia-ctk")
        machine.boot()
        failing_step(machine)
    finally:
        machine.destroy()


def test_the_fullest_stack_through_boot_spot_notice_reboot_idle_and_runtime_limit(
    pristine: Path, lab_dir: Path
) -> None:
    machine = _machine(pristine, lab_dir, FULLEST, spot=True)
    try:
        machine.boot()
        for name, scenario in JOURNEY.items():
            observed = scenario(machine)
            print(f"{name}: {observed.seconds:.0f} s {observed.facts}")
    finally:
        machine.destroy()


def test_a_start_after_stop_pulls_no_image_and_no_model(pristine: Path, lab_dir: Path) -> None:
    """A cold boot on the EBS data volume pulls everything; `stop` (the instance shuts down and lets go of the
    volume), then a NEW instance on the same volume: no image pull, no model pull, and the model answers."""
    config = validate_data(ON_EBS)
    first = LabMachine(config, lab_dir / "cold")
    second: LabMachine | None = None
    try:
        first.create(pristine)
        cold = cold_boot(first)
        print(f"cold boot: {cold.facts()}")
        first.poweroff()  # what terminating the instance does to it: systemd stops the stack, unmounts the volume
        first.release_volume()
        second = LabMachine(config, lab_dir / "warm", volume=first.volume)
        second.create(pristine)
        warm = warm_start(second, cold)
        print(f"start after stop: {warm.facts()}")
    finally:
        if second is not None:
            second.destroy()
        first.destroy()
