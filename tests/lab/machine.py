"""One lab instance: a copy of the cached root, seeded like EC2 would be, booted with systemd-nspawn.

The UserData is the generator's exact payload, given to cloud-init's NoCloud datasource; the instance id is
in its meta-data. Commands run inside with nsenter; files of the root are read from the host directly.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from geusemaker.models.config import DeploymentConfig
from geusemaker.models.services import generate_secret_values, parameter_path
from geusemaker.userdata.generator import BootContext, RenderedUserData, render

FILE_SYSTEM_ID = "fs-0123456789abcdef0"
INSTANCE_ID = "i-0123456789abcdef0"
EFS_ADDRESS = "10.0.0.2"
STATUS = "var/lib/geusemaker/status.json"
BOOT_LOG = "var/log/geusemaker/boot.log"


class LabError(RuntimeError):
    """The lab machine did not do what was expected (the message says what it did instead)."""


def lab_unavailable() -> str | None:
    """Why this machine cannot run the lab, or None when it can."""
    if os.geteuid() != 0:
        return "the instance lab needs root (systemd-nspawn, debootstrap)"
    missing = [tool for tool in ("systemd-nspawn", "debootstrap", "nsenter") if shutil.which(tool) is None]
    if missing:
        return f"the instance lab needs {', '.join(missing)} (apt-get install debootstrap systemd-container)"
    return None


def wait_for(condition: Callable[[], Any], timeout_s: float, what: str, interval_s: float = 1.0) -> Any:
    """Poll `condition` until it returns something truthy; raise LabError naming `what` after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise LabError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(interval_s)


@dataclass
class LabMachine:
    """An instance of `config` in `workdir` (its root disk, its EFS directory, its console log)."""

    config: DeploymentConfig
    workdir: Path
    spot: bool = False
    #: the EBS data volume's disk image: another machine's, for a new instance on kept data (None: a new one)
    volume: Path | None = None
    userdata: RenderedUserData = field(init=False)
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)
    loop: str = field(default="", init=False)
    boots: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        region = self.region
        context = BootContext(self.config, region, spot=self.spot, file_system_id=FILE_SYSTEM_ID)
        self.userdata = render(context)

    @property
    def region(self) -> str:
        return "us-east-1" if self.config.region == "auto" else self.config.region

    @property
    def root(self) -> Path:
        return self.workdir / "root"

    @property
    def efs(self) -> Path:
        return self.workdir / "efs"

    def create(self, pristine: Path) -> None:
        """Copy the pristine root and seed it as EC2 would: user-data, meta-data, SSM parameters, DNS."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        subprocess.run(["cp", "-a", "--reflink=auto", str(pristine), str(self.root)], check=True)
        self.efs.mkdir(exist_ok=True)
        if self.config.storage.data == "ebs" and self.volume is None:  # a sparse file (4 GiB, not ebs_gb)
            self.volume = self.workdir / "ebs.img"
            with self.volume.open("wb") as disk:
                disk.truncate(4 * 2**30)
        seed = self.root / "var/lib/cloud/seed/nocloud"
        seed.mkdir(parents=True, exist_ok=True)
        (seed / "user-data").write_bytes(self.userdata.payload)
        (seed / "meta-data").write_text(f"instance-id: {INSTANCE_ID}\nlocal-hostname: ip-10-0-0-10\n")
        imds = {"instance-id": INSTANCE_ID, "region": self.region, "availability-zone": f"{self.region}a",
                "instance-type": self.config.compute.instance_type or "g5.xlarge"}  # fmt: skip
        (self.root / "etc/lab/imds.json").write_text(json.dumps(imds))
        prefix = parameter_path(self.config.name)
        secrets = generate_secret_values(self.config.services)
        lines = [f"{prefix}{name}\t{value}\n" for name, value in secrets.items()]
        (self.root / "var/lib/lab/ssm/parameters.tsv").write_text("".join(lines))
        with (self.root / "etc/hosts").open("a") as hosts:
            hosts.write(f"{EFS_ADDRESS} {FILE_SYSTEM_ID}.efs.{self.region}.amazonaws.com\n")

    def fault(self, command: str) -> None:
        """Make a stand-in (nvidia-ctk, nvidia-smi) fail from now on."""
        (self.root / "var/lib/lab/faults" / command).write_text("")

    # -- power -------------------------------------------------------------------------------

    def boot(self) -> None:
        """Power on: systemd-nspawn boots the root with real systemd (cloud-init runs at first boot)."""
        if self.running:
            raise LabError("the machine is already running")
        self.boots += 1
        console = (self.workdir / f"console-{self.boots}.log").open("wb")
        command = [
            "systemd-nspawn", "--boot", "--register=no", "--keep-unit", "--capability=all", "--private-network",
            "--console=passive", "--system-call-filter=@keyring",  # runc gives each container a session keyring
            f"--machine=lab-{re.sub('[^a-z0-9]', '', self.workdir.name.lower())[-20:]}",
            f"--bind={self.efs}:/srv/lab-efs",
            "-D", str(self.root),
        ]  # fmt: skip
        if self.config.storage.data == "ebs":
            if not self.loop:
                self.loop = subprocess.run(["losetup", "--find", "--show", str(self.volume)],
                                           capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
            command.insert(-2, f"--bind={self.loop}:/dev/nvme1n1")
        # Docker inside needs writable cgroup controllers on a host with the legacy (v1) hierarchy.
        env = {**os.environ, "SYSTEMD_NSPAWN_API_VFS_WRITABLE": "1"}
        self.process = subprocess.Popen(
            command, stdout=console, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
        )
        console.close()
        wait_for(self._started, 120, "systemd to start")

    def _started(self) -> bool:
        if not self.running:
            log = (self.workdir / f"console-{self.boots}.log").read_text(errors="replace")
            raise LabError(f"systemd-nspawn exited at boot:\n{log[-2000:]}")
        return bool(self._leader()) and self.run("true", check=False).returncode == 0

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _leader(self) -> int | None:
        """The machine's PID 1 as the host sees it (the child of systemd-nspawn)."""
        if not self.running or self.process is None:
            return None
        for children in Path(f"/proc/{self.process.pid}/task").glob("*/children"):
            for pid in children.read_text().split():
                if Path(f"/proc/{pid}/comm").read_text().strip() == "systemd":
                    return int(pid)
        return None

    def run(self, command: str, *, check: bool = True, timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
        """Run a shell command inside the machine, as root (what SSM Run Command would do)."""
        leader = self._leader()
        if leader is None:
            raise LabError("the machine is not running")
        result = subprocess.run(
            ["nsenter", "-t", str(leader), "-m", "-u", "-i", "-n", "-p", "-r", "-w", "--",
             "/usr/bin/env", "-i", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
             "/bin/bash", "-c", command],
            capture_output=True, text=True, timeout=timeout_s, check=False,
        )  # fmt: skip
        if check and result.returncode:
            raise LabError(f"{command!r} exited with {result.returncode}: {result.stdout[-2000:]}{result.stderr}")
        return result

    def wait_stopped(self, timeout_s: float) -> int:
        """Wait for the machine to power off by itself; its exit status."""
        assert self.process is not None
        try:
            return self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired as exc:
            raise LabError(f"the machine did not power off within {timeout_s:.0f} s") from exc

    def poweroff(self, timeout_s: float = 180) -> None:
        """A clean stop, as `aws ec2 stop-instances` does (ACPI shutdown: systemd stops every unit)."""
        if not self.running:
            return
        self.run("systemctl poweroff", check=False)
        try:
            self.wait_stopped(timeout_s)
        except LabError:
            self.kill()
            raise

    def kill(self) -> None:
        """Pull the plug: kill the machine's PID 1 (which ends its PID namespace), then systemd-nspawn.

        Killing systemd-nspawn alone would leave the machine running, orphaned.
        """
        leader = self._leader()
        if leader is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(leader, signal.SIGKILL)
        if self.process is not None and self.process.poll() is None:
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=60)

    def release_volume(self) -> None:
        """Detach the data volume (the machine is off): another machine may attach it."""
        self.kill()
        if self.loop:
            subprocess.run(["losetup", "--detach", self.loop], check=False)
            self.loop = ""

    def destroy(self) -> None:
        """Stop the machine and delete its disk (never while anything is still mounted under it)."""
        self.release_volume()
        mounts = Path("/proc/mounts").read_text()
        if f" {self.workdir}/" in mounts:
            raise LabError(f"something is still mounted under {self.workdir}; not deleting it")
        shutil.rmtree(self.workdir, ignore_errors=True)

    # -- what the instance did ----------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        path = self.root / STATUS
        try:
            return dict(json.loads(path.read_text()))
        except (OSError, ValueError):
            return {}

    def log(self) -> str:
        path = self.root / BOOT_LOG
        return path.read_text(errors="replace") if path.exists() else ""

    def wait_boot(self, timeout_s: float = 600) -> dict[str, Any]:
        """Wait for the boot to end (complete or failed); the status file."""

        def ended() -> dict[str, Any] | None:
            status = self.status()
            if status.get("state") == "failed" or status.get("step") == "complete":
                return status
            if not self.running:
                raise LabError(f"the machine stopped during boot; status {status}")
            return None

        return dict(wait_for(ended, timeout_s, "the boot to complete or fail", interval_s=2))

    def unit_states(self) -> dict[str, str]:
        out = self.run("systemctl list-units --all --plain --no-legend 'geusemaker*' docker.service "
                       "opt-geusemaker-data.mount cloud-final.service", check=False).stdout  # fmt: skip
        return {line.split()[0]: line.split()[2] for line in out.splitlines() if len(line.split()) >= 3}

    def containers(self) -> dict[str, str]:
        """Running containers: name -> status (e.g. 'Up 2 minutes (healthy)')."""
        out = self.run("docker ps --format '{{.Names}}\t{{.Status}}'", check=False).stdout
        return dict(line.split("\t", 1) for line in out.splitlines() if "\t" in line)

    def report(self) -> str:
        """What the instance did: status.json, the boot log's tail, unit states, docker ps."""
        parts = [f"== status.json\n{json.dumps(self.status(), indent=2, sort_keys=True)}"]
        parts.append("== boot log (tail)\n" + "\n".join(self.log().splitlines()[-25:]))
        if self.running:
            units = self.run("systemctl list-units --all --no-pager 'geusemaker*' docker.service lab-imds.service "
                             "opt-geusemaker-data.mount cloud-final.service", check=False).stdout  # fmt: skip
            parts.append("== units\n" + units.strip())
            parts.append("== docker ps\n" + self.run("docker ps -a", check=False).stdout.strip())
        else:
            parts.append("== the machine is powered off")
        return "\n\n".join(parts) + "\n"
