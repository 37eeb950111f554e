"""Run the generated boot scripts with bash in a temporary root, with stub binaries on PATH.

Each stub logs its arguments to `calls.log`; its behaviour comes from files in the stub folder,
so a test can make `nvidia-smi` fail N times, or `aws` return given parameters.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from geusemaker.userdata.generator import RenderedUserData
from tests.conftest import FIXTURES

SMI = FIXTURES / "nvidia-smi" / "h100"
#: MemTotal of a 16 GiB instance (what a g4dn.xlarge reports).
DEFAULT_MEMTOTAL_KIB = 16_078_240
NVIDIA_DRIVER_ERROR = (
    "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. "
    "Make sure that the latest NVIDIA driver is installed and running."
)

_GENERIC = """#!/usr/bin/env bash
printf '%s %s\\n' "$(basename "$0")" "$*" >> "$STUB_DIR/calls.log"
if [ -e "$STUB_DIR/fail-$(basename "$0")" ]; then exit 1; fi
"""

_NVIDIA_SMI = (
    _GENERIC
    + r"""
count_file="$STUB_DIR/nvidia-smi.failures"
if [ -f "$count_file" ]; then
  left=$(cat "$count_file")
  if [ "$left" = "always" ] || [ "$left" -gt 0 ]; then
    [ "$left" = "always" ] || echo $((left - 1)) > "$count_file"
    echo "$NVIDIA_DRIVER_ERROR"
    exit 9
  fi
fi
case "$*" in
  "-L") cat "$SMI_DIR/list.txt" ;;
  "-pm 1") echo "Enabled persistence mode for GPU 00000000:00:00.0." ;;
  *utilization.gpu*) cat "$STUB_DIR/gpu-util" 2>/dev/null || echo 0 ;;
  *name,driver_version,memory.total*)
    cut -d, -f2,5,6 "$SMI_DIR/query_csv_noheader_nounits.csv" ;;
  *) cat "$SMI_DIR/plain.txt" ;;
esac
"""
)

_DOCKER = (
    _GENERIC
    + r"""
case "$1" in
  logs) cat "$STUB_DIR/logs-$4" 2>/dev/null || true ;;
  exec)
    [ "$3" != psql ] || cat "$STUB_DIR/psql-out" 2>/dev/null || true
    [ "$3 $4" != "ollama pull" ] || touch "$STUB_DIR/model-pull-began"
    if [ "$3 $4" = "ollama show" ]; then [ -e "$STUB_DIR/model-$5" ]; exit; fi ;;
  compose)
    # with a model puller running (systemctl below), a pull of other images than Ollama's lasts until a model
    # pull has begun (at most 30 s): the order in calls.log shows whether the two downloads overlapped
    if [ -e "$STUB_DIR/run-models" ] && [[ " $* " == *" pull "* ]] && [[ " $* " != *" ollama "* ]]; then
      for _ in $(seq 300); do [ -e "$STUB_DIR/model-pull-began" ] && break; command -p sleep 0.1; done
      args="$*"
      printf 'docker pull-ended %s\n' "${args##* pull --quiet }" >> "$STUB_DIR/calls.log"
    fi ;;
  image) [ ! -e "$STUB_DIR/no-images" ]; exit ;;
  run) cat "$SMI_DIR/list.txt" ;;
esac
exit 0
"""
)

_AWS = (
    _GENERIC
    + r"""
case "$1 $2" in
  "ssm get-parameters-by-path") cat "$STUB_DIR/ssm-parameters.txt" ;;
  "ssm get-parameter")
    name=$(sed -n 's/.*--name \([^ ]*\).*/\1/p' <<<"$*")
    grep -F "$name"$'\t' "$STUB_DIR/ssm-parameters.txt" | cut -f 2 | grep . || exit 254 ;;
  "ec2 describe-volumes")
    case "$*" in
      *--volume-ids*) cat "$STUB_DIR/ec2-volume-state.txt" 2>/dev/null || printf 'available\tNone\n' ;;
      *) cat "$STUB_DIR/ec2-volumes.txt" 2>/dev/null || true ;;
    esac ;;
  "autoscaling describe-auto-scaling-instances") cat "$STUB_DIR/asg-group" 2>/dev/null || echo None ;;
  "autoscaling terminate-instance-in-auto-scaling-group") [ ! -e "$STUB_DIR/fail-asg-terminate" ] || exit 1 ;;
esac
"""
)

#: IMDS answers come from files named after the path (slashes as dashes); none: curl fails as on a 404.
_CURL = (
    _GENERIC
    + r"""
url="${*: -1}"
case "$url" in
  */api/token) echo token ;;
  */meta-data/*) path="${url#*/meta-data/}"; cat "$STUB_DIR/imds-${path//\//-}" 2>/dev/null || exit 22 ;;
  */api/generate) cat "$STUB_DIR/generate" 2>/dev/null || printf '%s\n' '{"response":"Hi"}' '{"done":true}' ;;
esac
"""
)

_SLEEP = _GENERIC + "exit 0\n"
#: `systemctl start --no-block geusemaker-models.service` runs the model puller in the background, as systemd
#: would, when the stub folder has `run-models`; `is-active --quiet UNIT` is true when it has `active-UNIT`.
_SYSTEMCTL = (
    _GENERIC
    + r"""
if [ "$1 $2" = "is-active --quiet" ]; then  # active when the stub folder has `active-UNIT`
  [ -e "$STUB_DIR/active-$3" ]
  exit
fi
if [ "$*" = "start --no-block geusemaker-models.service" ] && [ -e "$STUB_DIR/run-models" ]; then
  "$GM_ROOT/opt/geusemaker/pull-models.sh" >/dev/null 2>&1 &
fi
exit 0
"""
)
_PGREP = _GENERIC + '[ -e "$STUB_DIR/ssm-session" ]\n'
_MOUNTPOINT = _GENERIC + '[ -e "$STUB_DIR/mounted" ]\n'
STUBS = {
    "nvidia-smi": _NVIDIA_SMI,
    "docker": _DOCKER,
    "aws": _AWS,
    "sleep": _SLEEP,
    "blkid": _GENERIC + 'exit "$(cat "$STUB_DIR/blkid-exit" 2>/dev/null || echo 2)"\n',  # 2: no file system
    "curl": _CURL,
    "pgrep": _PGREP,
    "mountpoint": _MOUNTPOINT,
    "systemctl": _SYSTEMCTL,
}
GENERIC_STUBS = (
    "nvidia-ctk", "mount", "umount", "sync", "shutdown", "chown", "getent", "apt-get", "snap",
    "mkfs.ext4", "modprobe", "ubuntu-drivers", "gpg", "lsblk", "findmnt",
)  # fmt: skip


@dataclass
class BootSim:
    """A temporary root with the rendered files, stubs, and the results of running scripts in it."""

    base: Path
    #: environment every run gets (a run's own keywords win)
    env: dict[str, str] = field(default_factory=dict)

    @property
    def root(self) -> Path:
        return self.base / "root"

    @property
    def stubs(self) -> Path:
        return self.base / "stubs"

    def install(self, userdata: RenderedUserData) -> None:
        for path, text in userdata.files.items():
            target = self.root / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
            target.chmod(0o755 if path.endswith(".sh") else 0o644)
        (self.root / "etc").mkdir(parents=True, exist_ok=True)
        self.set_memory(DEFAULT_MEMTOTAL_KIB)
        (self.base / "boot.sh").write_text(userdata.parts["boot.sh"])
        self.stubs.mkdir(parents=True, exist_ok=True)
        bin_dir = self.stubs / "bin"
        bin_dir.mkdir(exist_ok=True)
        for name, body in {**dict.fromkeys(GENERIC_STUBS, _GENERIC + "exit 0\n"), **STUBS}.items():
            path = bin_dir / name
            path.write_text(body)
            path.chmod(path.stat().st_mode | stat.S_IEXEC)

    def set_secrets(self, values: dict[str, str], path: str) -> None:
        lines = [f"{path}{name}\t{value}" for name, value in values.items()]
        (self.stubs / "ssm-parameters.txt").write_text("\n".join(lines) + "\n")

    def set_memory(self, total_kib: int) -> None:
        """The instance's memory as the kernel reports it (the boot reads $GM_ROOT/proc/meminfo)."""
        (self.root / "proc").mkdir(parents=True, exist_ok=True)
        (self.root / "proc/meminfo").write_text(f"MemTotal: {total_kib} kB\nMemFree: {total_kib // 2} kB\n")

    def fail_nvidia_smi(self, times: int | str) -> None:
        (self.stubs / "nvidia-smi.failures").write_text(str(times))

    def run(self, script: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
        script = script or self.base / "boot.sh"
        environment = {
            "PATH": f"{self.stubs / 'bin'}:{os.environ['PATH']}",
            "GM_ROOT": str(self.root),
            "STUB_DIR": str(self.stubs),
            "SMI_DIR": str(SMI),
            "NVIDIA_DRIVER_ERROR": NVIDIA_DRIVER_ERROR,
            "HOME": str(self.base),
            **self.env,
            **env,
        }
        return subprocess.run(
            ["bash", str(script)], env=environment, capture_output=True, text=True, timeout=60, check=False
        )

    def attach_data_disk(self) -> Path:
        """An empty disk the boot takes for the attached data volume (GM_DATA_DEVICE)."""
        disk = self.base / "data-disk"
        disk.write_text("")
        self.env["GM_DATA_DEVICE"] = str(disk)
        return disk

    def fail(self, command: str) -> None:
        """Make the stub `command` exit 1 from now on."""
        (self.stubs / f"fail-{command}").write_text("")

    def reboot(self) -> None:
        """What a reboot does to the root: /run is a fresh tmpfs."""
        shutil.rmtree(self.root / "run", ignore_errors=True)

    def container_log(self, service: str, text: str) -> None:
        (self.stubs / f"logs-geusemaker-{service}-1").write_text(text)

    def calls(self) -> list[str]:
        path = self.stubs / "calls.log"
        return path.read_text().splitlines() if path.exists() else []

    def status(self) -> dict[str, object]:
        return json.loads((self.root / "var/lib/geusemaker/status.json").read_text())

    def log(self) -> str:
        path = self.root / "var/log/geusemaker/boot.log"
        return path.read_text() if path.exists() else ""
