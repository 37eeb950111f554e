"""Starting sandboxes on a busy machine: each one binds the port the kernel gives it and reports that port."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.awsfakes import boto_client

START_S = 120  # generous: two cores shared with other test runs


def _wait_for(path: Path, process: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + START_S
    while not path.exists():
        assert process.poll() is None, "the server exited"
        assert time.monotonic() < deadline, "the server did not report its endpoint"
        time.sleep(0.05)
    return path.read_text(encoding="utf-8")


def test_the_server_binds_any_free_port_and_reports_it(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    server = subprocess.Popen(
        [sys.executable, "-m", "geusemaker.sandbox.server", "--port", "0", "--ready-file", str(ready)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        endpoint = _wait_for(ready, server)
        assert endpoint.startswith("http://127.0.0.1:") and not endpoint.endswith(":0")
        assert boto_client(endpoint, "sts").get_caller_identity()["Account"] == "123456789012"
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)


def test_two_sandboxes_started_side_by_side_each_serve_their_own_quotas(tmp_path: Path) -> None:
    homes = {"zero": tmp_path / "zero", "default": tmp_path / "default"}
    quota = {"zero": ["--quota", "L-DB2E81BA=0"], "default": []}
    starts = {
        name: subprocess.Popen(
            [sys.executable, "-m", "geusemaker", "sandbox", "start", *quota[name], "-o", "json"],
            env=_env(home),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for name, home in homes.items()
    }
    try:
        endpoints = {}
        for name, process in starts.items():
            out, err = process.communicate(timeout=START_S)
            assert process.returncode == 0, err.decode()
            endpoints[name] = json.loads(out)["endpoint"]
        assert endpoints["zero"] != endpoints["default"]
        for name, value in (("zero", 0.0), ("default", 64.0)):
            quotas = boto_client(endpoints[name], "service-quotas")
            answer = quotas.get_service_quota(ServiceCode="ec2", QuotaCode="L-DB2E81BA")["Quota"]["Value"]
            assert answer == value, f"{name} talks to its own server"
    finally:
        for home in homes.values():
            command = [sys.executable, "-m", "geusemaker", "sandbox", "stop"]
            subprocess.run(command, env=_env(home), capture_output=True, timeout=60, check=False)


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "GEUSEMAKER_HOME": str(home)}
