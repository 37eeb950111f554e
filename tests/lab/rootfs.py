"""Build the lab's instance root once per recipe and cache it outside the repository.

The root is Debian 12 from Debian's archive (debootstrap) with real systemd, cloud-init and Docker, plus the
stand-ins in tests/lab/standins for what cannot be had here (GPU, NVIDIA toolkit, IMDS, EFS, SSM, compose
v2, Docker Hub: a local registry holding the service images). Its cache key is a hash of everything that goes into it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from geusemaker.models.services import SERVICES

STANDINS = Path(__file__).parent / "standins"
CACHE = Path(os.environ.get("GEUSEMAKER_LAB_CACHE", "/var/cache/geusemaker-lab"))
SUITE = "bookworm"
PACKAGES = (
    "systemd", "systemd-sysv", "dbus", "locales", "cloud-init", "python3-cffi-backend", "docker.io",
    "docker-compose", "python3", "curl", "ca-certificates", "iproute2", "procps", "kmod", "netbase",
    "busybox-static", "bash", "gawk", "docker-registry",
)  # fmt: skip
#: Another recipe's root built this recently is kept (a sibling checkout may be using it).
KEEP_RECENT_S = 3 * 3600
HOST_PACKAGES = ("debootstrap", "systemd-container")
#: where each stand-in goes in the instance root
PLACES = {
    "nvidia-smi": "usr/bin/nvidia-smi",
    "nvidia-ctk": "usr/bin/nvidia-ctk",
    "nvidia-container-runtime": "usr/bin/nvidia-container-runtime",
    "nvidia-container-runtime-hook": "usr/bin/nvidia-container-runtime-hook",
    "ssm-session-worker": "usr/bin/ssm-session-worker",
    "mount.nfs4": "usr/sbin/mount.nfs4",
    "aws": "usr/local/bin/aws",
    "docker-compose": "usr/libexec/docker/cli-plugins/docker-compose",
    "imds": "usr/local/lib/lab/imds",
    "lab-imds.service": "etc/systemd/system/lab-imds.service",
    "lab-cgroups.service": "etc/systemd/system/lab-cgroups.service",
    "lab-ebs.service": "etc/systemd/system/lab-ebs.service",
    "lab-registry.service": "etc/systemd/system/lab-registry.service",
    "registry.yml": "etc/lab/registry.yml",
}
#: The registry stand-in: Docker Hub for dockerd (docker.io pulls go to the mirror; every pinned image is docker.io).
REGISTRY = "127.0.0.1:5000"
REGISTRY_LOG = "var/log/lab-registry.log"
DAEMON_JSON = {"storage-driver": "vfs", "iptables": False, "bridge": "none", "registry-mirrors": [f"http://{REGISTRY}"]}
CLOUD_CFG = "datasource_list: [NoCloud, None]\nnetwork: {config: disabled}\n"
IMAGE_TOOLS = ("usr/bin/bash", "usr/bin/curl", "usr/bin/python3.11")
PYTHON_SKIP = {"test", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3", "pydoc_data", "__pycache__",
               "config-3.11-x86_64-linux-gnu", "distutils", "venv"}  # fmt: skip
BUSYBOX_APPLETS = ("wget", "cat", "ls", "sleep", "env", "ps", "mkdir", "rm", "echo", "grep")


def recipe_hash() -> str:
    """Everything that goes into the root: the suite, the packages, this module and the stand-ins."""
    digest = hashlib.sha256(f"{SUITE} {' '.join(PACKAGES)}".encode())
    digest.update(Path(__file__).read_bytes())
    for path in sorted(STANDINS.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(STANDINS)).encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def mirror() -> str:
    """The Debian mirror apt uses on this machine (deb822 or one-line sources)."""
    for source in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]:
        text = source.read_text() if source.is_file() else ""
        for match in re.finditer(r"(?:URIs:|^deb)\s+(?:\[[^]]*\]\s+)?(\S+/debian)/?\s*$", text, re.M):
            return match.group(1)
    return "http://deb.debian.org/debian"


def pristine_root(log: Path | None = None) -> Path:
    """The cached root for the current recipe, built now if this machine has none (one build at a time).

    Two layers: Debian itself (keyed on the suite and packages), then the lab's files and images on a copy.
    """
    base = _cached(f"base-{_base_hash()}", _debootstrap, log)

    def finish(root: Path, log: Path) -> None:
        subprocess.run(["cp", "-a", "--reflink=auto", str(base), str(root)], check=True)
        _configure(root)
        _images(root, log)

    root = _cached(recipe_hash(), finish, log)
    _prune(keep={root.parent.name, base.parent.name})
    return root


def _prune(keep: set[str]) -> None:
    """Delete the roots of other recipes (about 600 MB each) that nobody holds and nobody built lately (another
    checkout of the project may be testing with one)."""
    for home in CACHE.iterdir():
        if not home.is_dir() or home.name in keep:
            continue
        with contextlib.suppress(OSError):
            if time.time() - (home / "ready").stat().st_mtime < KEEP_RECENT_S:
                continue
        with (CACHE / f"{home.name}.lock").open("w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            shutil.rmtree(home, ignore_errors=True)
        (CACHE / f"{home.name}.lock").unlink(missing_ok=True)


def _base_hash() -> str:
    return hashlib.sha256(f"{SUITE} {' '.join(PACKAGES)}".encode()).hexdigest()[:16]


@contextlib.contextmanager
def held(root: Path) -> Iterator[None]:
    """Hold a cached root (its lock, shared) while machines are copied from it: no other recipe's build prunes
    it meanwhile (a prune skips a root whose lock anyone holds)."""
    with (CACHE / f"{root.parent.name}.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_SH)
        yield


def _cached(key: str, build: Callable[[Path, Path], None], log: Path | None) -> Path:
    home = CACHE / key
    root = home / "root"
    CACHE.mkdir(parents=True, exist_ok=True)
    with held(root):  # shared: a root in use by another session is ready, and may be used at once
        if (home / "ready").exists():
            return root
    with _locked(CACHE / f"{key}.lock"):
        if (home / "ready").exists():
            return root
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        started = time.monotonic()
        build(root, log or home / "build.log")
        (home / "ready").write_text(f"built in {time.monotonic() - started:.0f} s\n")
    return root


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _run(command: list[str], log: Path) -> None:
    with log.open("a") as out:
        out.write(f"$ {' '.join(command)}\n")
        out.flush()
        result = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, check=False)
    if result.returncode:
        tail = log.read_text()[-3000:]
        raise RuntimeError(f"{command[0]} exited with {result.returncode}; {log}:\n{tail}")


def _debootstrap(root: Path, log: Path) -> None:
    include = ",".join(PACKAGES)
    _run(["debootstrap", "--variant=minbase", f"--include={include}", SUITE, str(root), mirror()], log)
    (root / "var/cache/apt/archives").mkdir(parents=True, exist_ok=True)
    for deb in (root / "var/cache/apt/archives").glob("*.deb"):
        deb.unlink()


def _configure(root: Path) -> None:
    (root / "etc/docker").mkdir(parents=True, exist_ok=True)
    (root / "etc/docker/daemon.json").write_text(json.dumps(DAEMON_JSON, indent=4) + "\n")
    (root / "etc/cloud/cloud.cfg.d/90-lab.cfg").write_text(CLOUD_CFG)
    (root / "etc/locale.gen").write_text("en_US.UTF-8 UTF-8\n")
    for name, place in PLACES.items():
        target = root / place
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(STANDINS / name, target)
    wants = root / "etc/systemd/system/sysinit.target.wants"
    wants.mkdir(parents=True, exist_ok=True)
    for unit in ("lab-imds.service", "lab-cgroups.service", "lab-ebs.service"):
        (wants / unit).symlink_to(f"/etc/systemd/system/{unit}")
    # Debian's own unit wants htpasswd authentication: the lab's unit serves the stand-in's configuration instead
    (root / "etc/systemd/system/multi-user.target.wants/docker-registry.service").unlink(missing_ok=True)
    (root / "etc/systemd/system/multi-user.target.wants/lab-registry.service").symlink_to(
        "/etc/systemd/system/lab-registry.service"
    )
    for folder in ("srv/lab-efs", "var/lib/lab/faults", "var/lib/lab/imds", "var/lib/lab/ssm", "etc/lab"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    subprocess.run(["chroot", str(root), "locale-gen"], capture_output=True, check=False)


def _images(root: Path, log: Path) -> None:
    """Push one image per service to the registry stand-in, under the exact name the compose file pins.

    Docker's own store is left empty: a first boot pulls every image from the registry, as from Docker Hub.
    """
    tarball = root / "var/tmp/lab-image.tar"
    tarball.write_bytes(_image_tar(root))
    pushes = []
    for name, spec in SERVICES.items():
        mirrored = f"{REGISTRY}/{mirror_path(spec.image)}"
        pushes.append(
            f'docker import --change \'ENTRYPOINT ["/usr/bin/python3", "/lab/service.py", "{name}"]\' '
            f"--change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' /var/tmp/lab-image.tar {mirrored} "
            f"&& docker push {mirrored} && docker rmi {mirrored}"
        )
    script = (
        "ip link set lo up; /usr/bin/docker-registry serve /etc/lab/registry.yml >/var/tmp/registry.log 2>&1 & "
        "registry=$!; dockerd >/var/tmp/dockerd.log 2>&1 & pid=$!; "
        "for i in $(seq 120); do docker info >/dev/null 2>&1 && break; sleep 1; done; "
        + " && ".join(pushes)
        + "; rc=$?; kill $pid; wait $pid; kill $registry; wait $registry; exit $rc"
    )
    _run(["systemd-nspawn", "-q", "--register=no", "--keep-unit", "--capability=all", "--private-network",
          "-D", str(root), "/bin/bash", "-c", script], log)  # fmt: skip
    tarball.unlink()


def mirror_path(image: str) -> str:
    """Where a docker.io image lives in a registry mirror: official images under library/."""
    return image if "/" in image.split(":", maxsplit=1)[0] else f"library/{image}"


def _image_tar(root: Path) -> bytes:
    """A small root for the service stand-ins: busybox, bash, curl and Python with the libraries they load."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for link in ("bin", "lib", "lib64", "sbin"):
            if (root / link).is_symlink():
                _add(tar, root, link)
        stdlib = root / "usr/lib/python3.11"
        for path in sorted(stdlib.rglob("*")):
            parts = set(path.relative_to(stdlib).parts)
            if not parts & PYTHON_SKIP and not path.is_dir():
                _add(tar, root, str(path.relative_to(root)))
        binaries = [*IMAGE_TOOLS, *(str(p.relative_to(root)) for p in (stdlib / "lib-dynload").glob("*.so"))]
        for library in _libraries(root, binaries):
            _add(tar, root, library)
        for tool in IMAGE_TOOLS:
            _add(tar, root, tool)
        _add(tar, root, "usr/bin/busybox")
        for applet in BUSYBOX_APPLETS:
            _entry(tar, f"usr/local/bin/{applet}", link="/usr/bin/busybox")
        _entry(tar, "usr/bin/python3", link="python3.11")
        _entry(tar, "usr/bin/sh", link="busybox")  # /bin/sh, for the compose file's CMD-SHELL health checks
        _entry(tar, "tmp", mode=0o1777, directory=True)
        _entry(tar, "etc/passwd", data=b"root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n")
        for name in ("service.py", "ollama", "pg_isready", "psql"):
            target = "lab/service.py" if name == "service.py" else f"usr/local/bin/{name}"
            _entry(tar, target, data=(STANDINS / "image" / name).read_bytes(), mode=0o755)
    return buffer.getvalue()


def _libraries(root: Path, binaries: list[str]) -> set[str]:
    result = subprocess.run(["chroot", str(root), "ldd", *(f"/{b}" for b in binaries)],
                            capture_output=True, text=True, check=False)  # fmt: skip
    return {match.lstrip("/") for match in re.findall(r"(/[^\s]+\.so[^\s]*) \(0x", result.stdout)}


def _add(tar: tarfile.TarFile, root: Path, relative: str) -> None:
    """Add a path of the root, with the symlinks on the way to it (the image keeps Debian's merged /usr)."""
    path = root / relative
    parent = Path(os.path.realpath(path.parent))
    path = parent / path.name
    name = str(path.relative_to(root))
    if name in tar.getnames():
        return
    if path.is_symlink():
        tar.add(path, arcname=name, recursive=False)
        target = path.readlink()
        resolved = str(target).lstrip("/") if target.is_absolute() else os.path.relpath(path.parent / target, root)
        _add(tar, root, resolved)
    else:
        tar.add(path, arcname=name, recursive=False)


def _entry(tar: tarfile.TarFile, name: str, *, data: bytes = b"", link: str = "", mode: int = 0o644,
           directory: bool = False) -> None:  # fmt: skip
    info = tarfile.TarInfo(name)
    info.mode = mode
    if link:
        info.type, info.linkname = tarfile.SYMTYPE, link
    elif directory:
        info.type = tarfile.DIRTYPE
    else:
        info.size = len(data)
    tar.addfile(info, io.BytesIO(data) if data else None)
