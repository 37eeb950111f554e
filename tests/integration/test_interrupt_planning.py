"""SIGTERM or Ctrl-C while planning (AWS calls in flight) ends the command at once with exit 130."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def silent_endpoint() -> Iterator[tuple[str, threading.Event]]:
    """An HTTP endpoint that accepts connections and never answers; the event is set at the first one."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    connected, stop = threading.Event(), threading.Event()
    held: list[socket.socket] = []

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            held.append(conn)
            connected.set()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}", connected
    stop.set()
    thread.join(timeout=10)
    for conn in held:
        conn.close()
    server.close()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
def test_a_signal_during_planning_exits_130_without_waiting_for_aws(
    tmp_path: Path, silent_endpoint: tuple[str, threading.Event], signum: int
) -> None:
    endpoint, connected = silent_endpoint
    config = tmp_path / "stack.yaml"
    config.write_text("name: waiting\nregion: us-east-1\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "geusemaker", "--endpoint-url", endpoint, "cost", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "AWS_MAX_ATTEMPTS": "1"},
    )
    try:
        assert connected.wait(timeout=120), "the planner never called AWS"
        process.send_signal(signum)
        # AWS reads time out only after a minute: anything near that means the command waited for them.
        _, err = process.communicate(timeout=45)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, err
    assert "interrupted" in err
    assert "Traceback" not in err and "bug" not in err
