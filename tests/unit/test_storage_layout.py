"""Where each `storage.data` puts each service's data, the warnings where its meaning changed, and the boot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from geusemaker.config_io import parse_config, validate_data
from geusemaker.errors import ConfigError
from geusemaker.models.data_layout import LEGACY_EFS, DataLayout, kept_layout
from geusemaker.models.services import generate_secret_values, parameter_path
from geusemaker.userdata.generator import BootContext, RenderedUserData, render
from tests.bootsim import BootSim

DATA = "/opt/geusemaker/data"
SHARED = "/opt/geusemaker/shared"
FS = "fs-0123456789abcdef0"
EFS_HOST = f"{FS}.efs.eu-west-1.amazonaws.com"
CONTAINER_DIRS = {
    "ollama": "/root/.ollama",
    "postgres": "/var/lib/postgresql/data",
    "n8n": "/home/node/.n8n",
    "qdrant": "/qdrant/storage",
}


def _render(storage: dict[str, Any] | None, layout: DataLayout | None = None) -> RenderedUserData:
    document: dict[str, Any] = {"name": "lay", "region": "eu-west-1"} | ({"storage": storage} if storage else {})
    return render(BootContext(validate_data(document), "eu-west-1", file_system_id=FS, layout=layout))


def _host_dirs(userdata: RenderedUserData) -> dict[str, str]:
    """Each service's host directory, read from the rendered compose file's bind mounts."""
    services = yaml.safe_load(userdata.compose)["services"]
    found = {}
    for name, container in CONTAINER_DIRS.items():
        (bind,) = services[name]["volumes"]
        host, inside = bind.split(":")
        assert inside == container, name
        found[name] = host
    return found


def _warnings(text: str) -> list[str]:
    return parse_config(text).storage.warnings()


def test_the_default_is_the_data_volume() -> None:
    storage = parse_config("name: s\n").storage
    assert (storage.data, storage.data_volume_gb) == ("ebs", 100)
    assert parse_config("name: s\nstorage:\n  data: efs\n  ebs_gb: 40\n").storage.data_volume_gb == 40


def test_ebs_gb_sizes_the_volume_of_ebs_and_efs_and_is_refused_without_one() -> None:
    with pytest.raises(ConfigError) as refused:
        parse_config("name: s\nstorage:\n  data: none\n  ebs_gb: 40\n")
    (problem,) = refused.value.problems
    assert problem.path == "storage.ebs_gb" and "data: none" in problem.message, problem


def test_warnings_say_what_changed_meaning_and_nothing_else() -> None:
    (default,) = _warnings("name: s\n")
    assert default.startswith("storage.data now defaults to ebs") and "docs/storage.md" in default
    assert _warnings("name: s\nstorage:\n  root_gb: 80\n") == [default], "a storage section without data too"
    (efs,) = _warnings("name: s\nstorage:\n  data: efs\n")
    assert efs == (
        "storage.data: efs now keeps only Ollama's models on EFS; Postgres, Qdrant and n8n live on the data volume"
    )
    assert _warnings("name: s\nstorage:\n  data: ebs\n") == []
    assert _warnings("name: s\nstorage:\n  data: none\n") == [], "none kept its meaning"
    (old,) = parse_config("name: s\n").storage.warnings(LEGACY_EFS)
    assert "all on EFS" in old and "deploy afresh" in old, "a kept old stack: only what matters for it"


@pytest.mark.parametrize(
    ("storage", "layout", "ollama"),
    [(None, None, DATA), ({"data": "ebs"}, None, DATA), ({"data": "efs"}, None, SHARED),
     ({"data": "none"}, None, DATA), ({"data": "efs"}, LEGACY_EFS, DATA)],
    ids=["default", "ebs", "efs", "none", "old-efs"],
)  # fmt: skip
def test_the_compose_file_puts_each_service_where_the_layout_says(
    storage: dict[str, Any] | None, layout: DataLayout | None, ollama: str
) -> None:
    dirs = _host_dirs(_render(storage, layout))
    assert dirs == {name: f"{DATA}/{name}" for name in ("postgres", "n8n", "qdrant")} | {"ollama": f"{ollama}/ollama"}


@pytest.mark.parametrize("data", ["ebs", "efs", "none"])
def test_a_new_stack_never_keeps_postgres_or_qdrant_on_efs(data: str) -> None:
    userdata = _render({"data": data})
    efs_mounts = [line.split()[1] for line in _fstab_lines(userdata) if " nfs4 " in line]
    for name in ("postgres", "qdrant", "n8n"):
        assert not any(_host_dirs(userdata)[name].startswith(mount + "/") for mount in efs_mounts), name
    assert efs_mounts == ([SHARED] if data == "efs" else [])


def _fstab_lines(userdata: RenderedUserData) -> list[str]:
    """The fstab lines the boot script would write (the echo ... >> fstab lines of its storage step)."""
    boot = userdata.parts["boot.sh"]
    return [
        line.split('echo "', 1)[1].split('"', 1)[0]
        for line in boot.splitlines()
        if 'echo "' in line and "/etc/fstab" in line
    ]


def _boot(tmp_path: Path, storage: dict[str, Any], layout: DataLayout | None = None) -> tuple[BootSim, Path]:
    document = {"name": "sim", "region": "eu-west-1", "storage": storage}
    userdata = render(BootContext(validate_data(document), "eu-west-1", file_system_id=FS, layout=layout))
    sim = BootSim(tmp_path)
    sim.install(userdata)
    disk = sim.attach_data_disk()
    sim.set_secrets(generate_secret_values(validate_data(document).services), parameter_path("sim"))
    assert sim.run().returncode == 0, sim.log()
    return sim, disk


def test_an_efs_boot_mounts_the_data_volume_and_efs_for_the_models_only(tmp_path: Path) -> None:
    sim, disk = _boot(tmp_path, {"data": "efs"})
    calls = sim.calls()
    volume, efs = f"mount {disk} {sim.root}{DATA}", f"{EFS_HOST}:/ {sim.root}{SHARED}"
    assert volume in calls
    (nfs,) = [c for c in calls if c.startswith("mount -t nfs4")]
    assert nfs.endswith(efs), nfs
    assert calls.index(volume) < calls.index(nfs)
    fstab = (sim.root / "etc/fstab").read_text().splitlines()
    assert fstab[0] == f"LABEL=gm-data {DATA} ext4 defaults,nofail 0 2"
    assert fstab[1].startswith(f"{EFS_HOST}:/ {SHARED} nfs4 ") and len(fstab) == 2
    for service, parent in (("ollama", SHARED), ("postgres", DATA), ("qdrant", DATA), ("n8n", DATA)):
        assert (sim.root / parent.lstrip("/") / service).stat().st_mode & 0o777 == 0o750, service
    assert not (sim.root / SHARED.lstrip("/") / "postgres").exists()
    assert not (sim.root / DATA.lstrip("/") / "ollama").exists()
    daemon = (sim.root / "etc/docker/daemon.json").read_text()
    assert f'"data-root": "{DATA}/docker"' in daemon, "Docker's images on the data volume, not on EFS"


def test_a_kept_old_stack_boots_with_everything_on_efs_and_no_volume(tmp_path: Path) -> None:
    sim, _ = _boot(tmp_path, {"data": "efs"}, LEGACY_EFS)
    calls = sim.calls()
    assert not any(c.startswith("mkfs") for c in calls), "no data volume in the old layout"
    (nfs,) = [c for c in calls if c.startswith("mount -t nfs4")]
    assert nfs.endswith(f"{EFS_HOST}:/ {sim.root}{DATA}"), "the old data, where it always was"
    assert (sim.root / "etc/fstab").read_text().startswith(f"{EFS_HOST}:/ {DATA} nfs4 ")
    assert (sim.root / DATA.lstrip("/") / "postgres").is_dir()


def test_the_layout_of_kept_data() -> None:
    assert kept_layout({}, ["file-system", "ssm-parameter"]) == LEGACY_EFS, "a state from before layouts"
    assert kept_layout({}, ["file-system", "data-volume"]) is None
    assert kept_layout({}, ["data-volume"]) is None
    assert kept_layout({"data_layout": "volume+efs"}, ["file-system"]) == "volume+efs", "the record wins"
    assert kept_layout({"data_layout": None}, ["file-system"]) == LEGACY_EFS
