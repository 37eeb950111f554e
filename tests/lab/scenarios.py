"""The lab's scenarios: each drives a LabMachine and asserts what the instance really did.

A scenario takes a machine in a known state and leaves it in one; `JOURNEY` runs the fullest stack through
first boot, a spot notice, a reboot, the idle guard and the runtime limit on one machine, as a user's would.
"""

from __future__ import annotations

import json
import re
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import yaml

from geusemaker.health.checks import script
from geusemaker.models.data_layout import DATA_DIR, efs_mount, has_volume, service_dir
from geusemaker.models.services import parameter_path
from tests.lab.machine import INSTANCE_ID, LabError, LabMachine, wait_for
from tests.lab.reading import BOOT_TIMEOUT_S, LabSsm, cloud_init_times, health

FULLEST: dict[str, Any] = {
    "name": "lab-full",
    "region": "us-east-1",
    "tier": "gpu",
    "compute": {"gpu": "h100", "market": "spot"},
    "storage": {"data": "efs"},
    "services": ["ollama", "n8n", "qdrant", "crawl4ai", "postgres"],
    "ollama": {"models": ["llama3.2:3b"]},
    "lifecycle": {"idle_stop_minutes": 10, "max_runtime_hours": 2},
}


@dataclass
class Observed:
    """What a scenario measured, for the report."""

    name: str
    seconds: float
    facts: dict[str, Any]


def compose_ports(machine: LabMachine) -> set[str]:
    """'address:port' of every port the compose file publishes."""
    doc = yaml.safe_load(machine.userdata.compose)
    found = set()
    for service in doc["services"].values():
        for port in service.get("ports", []):
            address, host, _ = str(port).rsplit(":", 2)
            found.add(f"{address}:{host}")
    return found


def listening(machine: LabMachine) -> set[str]:
    out = machine.run("ss -ltnH", check=False).stdout
    return {line.split()[3] for line in out.splitlines() if len(line.split()) > 3}


def healthy_containers(machine: LabMachine) -> dict[str, str] | None:
    containers = machine.containers()
    expected = {f"geusemaker-{name}-1" for name in machine.config.services}
    if set(containers) == expected and all("(healthy)" in status for status in containers.values()):
        return containers
    return None


def _wait_healthy(machine: LabMachine) -> dict[str, str]:
    try:
        return dict(wait_for(partial(healthy_containers, machine), 300, "every container to be healthy", 3))
    except LabError as exc:
        raise LabError(f"{exc}; docker ps: {machine.containers()}") from exc


def _unit(machine: LabMachine, unit: str, prop: str) -> str:
    return machine.run(f"systemctl show -p {prop} --value {unit}", check=False).stdout.strip()


def _guard(machine: LabMachine, **clock: str) -> None:
    """Run the guard once, as its timer does, with the lab's clock (GM_NOW, GM_UPTIME_FILE) when given."""
    assignments = " ".join(f"{key}={shlex.quote(value)}" for key, value in clock.items())
    if assignments:
        machine.run(f"systemctl set-environment {assignments}")
    machine.run("systemctl start geusemaker-guard.service", check=False)
    if assignments and machine.running:
        machine.run(f"systemctl unset-environment {' '.join(clock)}", check=False)


def _now(machine: LabMachine) -> int:
    return int(machine.run("date +%s").stdout)


# -- scenarios ---------------------------------------------------------------------------------


def first_boot(machine: LabMachine) -> Observed:
    """The fullest stack boots to complete: units active, containers healthy, ports bound, data where the
    layout says (the data volume, EFS)."""
    started = time.monotonic()
    status = machine.wait_boot(BOOT_TIMEOUT_S)
    booted = time.monotonic() - started
    assert (status["step"], status["state"], status.get("error")) == ("complete", "done", None), machine.report()
    containers = _wait_healthy(machine)
    states = machine.unit_states()
    for unit in ("docker.service", "geusemaker-stack.service", "geusemaker-guard.timer", "opt-geusemaker-data.mount"):
        assert states.get(unit) == "active", f"{unit}: {states.get(unit)}\n{machine.report()}"
    if machine.config.ollama.models:
        wait_for((machine.root / "var/lib/geusemaker/models.json").exists, 180, "the model pull")
        models = json.loads((machine.root / "var/lib/geusemaker/models.json").read_text())
        assert models == {"pulled": " ".join(machine.config.ollama.models), "present": "", "failed": ""}, models
        assert _unit(machine, "geusemaker-models.service", "Result") == "success"
    missing = compose_ports(machine) - listening(machine)
    assert not missing, f"ports not bound: {missing}"
    _data_where_the_layout_says(machine)
    report = health(machine)
    assert report.overall == "healthy", report.as_json()
    return Observed("first-boot", booted, {"cloud-init": cloud_init_times(machine), "containers": containers})


def _data_where_the_layout_says(machine: LabMachine) -> None:
    """Each service's data is on EFS (the host folder behind the NFS stand-in) or on the data volume (mounted
    inside the machine only), as the layout says; never on the root disk under a bare mount point."""
    layout = machine.data_layout
    efs = efs_mount(layout)
    for service in ("postgres", "n8n", "qdrant", "ollama"):
        if service not in machine.config.services:
            continue
        path = service_dir(layout, service)
        marker = f"{path}/lab-identity"
        assert not (machine.root / marker.lstrip("/")).exists(), f"{service} data is on the bare mount point"
        if efs and path.startswith(f"{efs}/"):
            assert (machine.efs / path.removeprefix(f"{efs}/") / "lab-identity").exists(), f"{service}: not on EFS"
            continue
        assert not (machine.efs / service).exists(), f"{service} data is on the EFS"
        assert machine.run(f"findmnt -no TARGET --target {path}").stdout.strip() == DATA_DIR, f"{service}: no volume"
        assert machine.run(f"test -s {marker}", check=False).returncode == 0, f"{service} data is not on the volume"
    if has_volume(layout):
        root = machine.run("docker info -f '{{.DockerRootDir}}'").stdout.strip()
        assert root == f"{DATA_DIR}/docker", f"Docker's images are in {root}, not on the data volume"


def failing_step(machine: LabMachine) -> Observed:
    """nvidia-ctk exits 1: the boot says failed at the docker step with the error, nothing after it runs."""
    started = time.monotonic()
    status = machine.wait_boot(BOOT_TIMEOUT_S)
    assert (status["step"], status["state"]) == ("docker", "failed"), status
    assert "nvidia-ctk runtime configure" in str(status["error"]), status
    assert "services" not in status["steps"], status
    assert "FAILED in docker" in machine.log()
    assert not machine.containers(), "a container started after the failed step"
    report = health(machine)
    boot = next(check for check in report.checks if check.name == "boot")
    assert (report.overall, boot.status) == ("unhealthy", "fail"), report.as_json()
    assert "step docker failed" in boot.detail and "nvidia-ctk" in boot.detail, boot.detail
    return Observed("failing-step", time.monotonic() - started, {"status": status, "health": boot.detail})


def spot_notice(machine: LabMachine) -> Observed:
    """The IMDS serves a spot interruption notice: the instance drains (containers stopped cleanly, Docker
    stopped) and shuts down within the two minutes; the next start finds the same data and comes back whole."""
    assert _unit(machine, "geusemaker-notice.timer", "ActiveState") == "active"
    identity = (machine.efs / "postgres/lab-identity").read_text()
    issued = time.time()
    notice = {"action": "terminate", "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(issued + 120))}
    (machine.root / "var/lib/lab/imds/spot-instance-action").write_text(json.dumps(notice))
    machine.wait_stopped(120)
    stopped = time.time() - issued
    status = machine.status()
    drain = status["drain"]
    assert status.get("instance-action") == notice, status
    assert (drain["state"], drain["error"]) == ("done", None), drain
    assert drain["finished"] - issued <= 120, f"drained {drain['finished'] - issued:.0f} s after the notice"
    log = machine.log()
    assert "notice: spot notice spot/instance-action" in log and "drain: done in" in log, log[-2000:]
    (machine.root / "var/lib/lab/imds/spot-instance-action").unlink()
    machine.boot()  # AWS would start a replacement; the lab starts the same disk
    _wait_healthy(machine)
    assert (machine.efs / "postgres/lab-identity").read_text() == identity, "the data did not survive the drain"
    return Observed(
        "spot-notice",
        stopped,
        {
            "notice-to-drained-s": round(drain["finished"] - issued, 1),
            "drain-s": drain["seconds"],
            "containers-stopped-s": drain["containers_stopped"] - drain["started"],
            "notice-to-poweroff-s": round(stopped, 1),
        },
    )


def reboot(machine: LabMachine) -> Observed:
    """Stop and start: services come back on the same data, once-only steps skipped, idle clock fresh.

    Before the stop the guard has counted two idle hours; after the start it must count from zero. Then
    a start with the EFS unreachable: no container may start on the bare mount point.
    """
    machine.run("systemctl stop geusemaker-guard.timer")
    machine.run("rm -f /run/geusemaker/idle_since")
    _guard(machine, GM_NOW=str(_now(machine) - 2 * 3600))
    identity = (machine.efs / "postgres/lab-identity").read_text()
    boot_log = machine.log()
    machine.poweroff()
    started = time.monotonic()
    machine.boot()
    _wait_healthy(machine)
    back = time.monotonic() - started
    _guard(machine)  # the timer's first run after the start
    assert machine.running, f"the guard stopped the instance right after a start: {machine.status()}"
    assert machine.status()["step"] == "complete", machine.status()
    new_lines = machine.log()[len(boot_log) :]
    assert not re.search(r"step \S+: start", new_lines), f"a once-only step ran again:\n{new_lines}"
    assert (machine.efs / "postgres/lab-identity").read_text() == identity, "postgres found an empty directory"
    after = machine.run("systemctl show -p After --value docker.service geusemaker-stack.service").stdout
    assert after.count("opt-geusemaker-data.mount") == 2, after
    # the EFS does not answer at the next start: nothing may run on the bare directory
    machine.fault("mount.nfs4")
    machine.poweroff()
    machine.boot()
    wait_for(lambda: machine.run("systemctl is-system-running", check=False).stdout.strip()
             in {"running", "degraded"}, 300, "the boot to settle")  # fmt: skip
    assert not machine.containers(), f"containers started without the data mount: {machine.containers()}"
    bare = machine.root / "opt/geusemaker/data"
    assert not any(bare.rglob("lab-identity")), "a service initialised the bare mount point"
    failed = machine.run("systemctl --failed --plain --no-legend", check=False).stdout
    assert "opt-geusemaker-data.mount" in failed, failed
    (machine.root / "var/lib/lab/faults/mount.nfs4").unlink()  # the EFS is back: the next start is whole
    machine.poweroff()
    machine.boot()
    _wait_healthy(machine)
    return Observed("reboot", back, {"units": machine.unit_states()})


def idle_guard(machine: LabMachine) -> Observed:
    """Activity on any service keeps the instance up; a health probe does not; ten idle minutes stop it."""
    started = time.monotonic()
    machine.run("systemctl stop geusemaker-guard.timer; rm -f /run/geusemaker/idle_since")
    t0 = _now(machine)
    _guard(machine, GM_NOW=str(t0))
    secrets = dict(line.split("=", 1) for line in machine.run("cat /etc/geusemaker/secrets.env").stdout.split())
    model = machine.config.ollama.models[0]
    machine.run(
        f'curl -fsS -d \'{{"model": "{model}", "prompt": "hi"}}\' http://127.0.0.1:11434/api/generate'
        " && curl -fsS -X POST http://127.0.0.1:5678/webhook/lab"
        f" && curl -fsS -H 'api-key: {secrets['QDRANT_API_KEY']}' -d '{{}}'"
        " http://127.0.0.1:6333/collections/docs/points/search"
        " && curl -fsS -d '{}' http://127.0.0.1:11235/crawl"
        " && (setsid /usr/bin/ssm-session-worker >/dev/null 2>&1 &)"
    )
    _guard(machine, GM_NOW=str(t0 + 11 * 60))
    activity = machine.run("cat /run/geusemaker/activity").stdout
    for source in ("Ollama requests", "n8n executions", "qdrant requests", "crawl4ai requests", "SSM session"):
        assert source in activity, f"{source} not seen as activity: {activity!r}"
    assert machine.running
    machine.run("pkill -f '^/bin/sh /usr/bin/ssm-session-worker'")

    def quiet() -> bool:  # wait for the activity to leave the guard's two-minute window
        _guard(machine, GM_NOW=str(t0 + 12 * 60))
        return machine.run("cat /run/geusemaker/activity").stdout.strip() == ""

    wait_for(quiet, 200, "the activity to age out of the guard's window", 10)
    report = LabSsm(machine).run(INSTANCE_ID, script(machine.config))
    assert '"done": true' not in report.stdout  # the probe's answer is discarded; it ran
    _guard(machine, GM_NOW=str(t0 + 12 * 60 + 9 * 60))
    assert machine.running, "stopped before ten idle minutes"
    _guard(machine, GM_NOW=str(t0 + 12 * 60 + 10 * 60))
    machine.wait_stopped(120)
    status = machine.status()
    assert (status["step"], status["state"]) == ("guard", "terminating"), status
    assert "idle for 10 minutes" in str(status["error"])
    return Observed("idle-guard", time.monotonic() - started, {"status": status})


def max_runtime(machine: LabMachine) -> Observed:
    """max_runtime_hours is a deadline from deploy/start (read from SSM), not this boot's uptime: a busy instance
    whose uptime has passed the limit keeps running until the deadline, and stops at it. This instance is a
    member of the stack's Auto Scaling group: the guard scales the group to zero rather than shutting down."""
    started = time.monotonic()
    deadline = int(time.time()) + 3600
    parameters = machine.root / "var/lib/lab/ssm/parameters.tsv"
    parameters.write_text(parameters.read_text() + f"{parameter_path(machine.config.name)}deadline\t{deadline}\n")
    group = machine.root / "var/lib/lab/autoscaling/group"
    group.parent.mkdir(parents=True, exist_ok=True)
    group.write_text("gm-lab-5f0c2b1e\n")
    machine.poweroff()
    machine.boot()  # a start: the deadline is read once per boot
    _wait_healthy(machine)
    machine.run("systemctl stop geusemaker-guard.timer; echo 95 > /var/lib/lab/gpu-util")
    limit = machine.config.lifecycle.max_runtime_hours * 3600
    machine.run(f"echo '{limit + 60}.00 0' > /var/lib/lab/uptime")
    _guard(machine, GM_UPTIME_FILE="/var/lib/lab/uptime", GM_NOW=str(deadline - 60))
    assert machine.running, "stopped by this boot's uptime, before the deadline"
    _guard(machine, GM_UPTIME_FILE="/var/lib/lab/uptime", GM_NOW=str(deadline))
    machine.wait_stopped(120)
    error = str(machine.status()["error"])
    assert "max_runtime_hours (2 h) reached: deadline" in error, error
    assert "guard: deadline " in machine.log()
    terminated = (machine.root / "var/lib/lab/autoscaling/terminated").read_text()
    assert "--should-decrement-desired-capacity" in terminated, "scaled the group to zero"
    assert "group gm-lab-5f0c2b1e scaled to zero" in machine.log(), machine.log()[-2000:]
    assert machine.status()["drain"]["state"] == "done", "drained before it went"
    return Observed("max-runtime", time.monotonic() - started, {"status": machine.status()})


Scenario = Callable[[LabMachine], Observed]
JOURNEY: dict[str, Scenario] = {
    "first-boot": first_boot,
    "spot-notice": spot_notice,
    "reboot": reboot,
    "idle-guard": idle_guard,
    "max-runtime": max_runtime,
}
SCENARIOS: dict[str, Scenario] = {**JOURNEY, "failing-step": failing_step}
