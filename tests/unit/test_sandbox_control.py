"""Telling a running sandbox process from one that has exited (even when nobody has reaped it yet)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from geusemaker.sandbox.control import _pid_alive, _zombie


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_an_exited_unreaped_process_is_not_alive() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        deadline = time.monotonic() + 120
        while not _zombie(child.pid):  # exited, not yet reaped: what an orphan looks like to us
            assert time.monotonic() < deadline, "the child did not exit"
            time.sleep(0.05)
        os.kill(child.pid, 0)  # still "exists" for the kernel
        assert not _pid_alive(child.pid)
    finally:
        child.wait(timeout=60)
    assert not _zombie(os.getpid()) and _pid_alive(os.getpid())
