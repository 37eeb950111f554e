"""Where the data lives, through the CLI against the sandbox: the default data volume, `efs` (a volume and
EFS for the models), and a stack kept by a version that put everything on EFS, which keeps that layout."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path
from typing import Any

import yaml

from geusemaker.cli.session import open_store
from tests.awsfakes import boto_client, count_resources, tagged_resources

DEFAULT_WARNING = "storage.data now defaults to ebs"
OLD_LAYOUT_WARNING = "kept data is all on EFS"


def _config(tmp_path: Path, name: str, extra: str = "") -> str:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"name: {name}\nregion: us-east-1\ncompute:\n  gpu: t4\n{extra}")
    return str(path)


def _kinds(endpoint: str, name: str) -> list[str]:
    return [item.split()[0] for item in tagged_resources(endpoint, name)]


def _ids(endpoint: str, name: str, kind: str) -> list[str]:
    return [item.split()[1] for item in tagged_resources(endpoint, name) if item.startswith(f"{kind} ")]


def _boot_files(endpoint: str, name: str) -> tuple[str, dict[str, Any]]:
    """The boot script and the compose file in the stack's launch template, as the instance gets them."""
    ec2: Any = boto_client(endpoint, "ec2")
    versions = ec2.describe_launch_template_versions(LaunchTemplateName=f"geusemaker-{name}")["LaunchTemplateVersions"]
    payload = base64.b64decode(versions[0]["LaunchTemplateData"]["UserData"])
    text = (gzip.decompress(payload) if payload[:2] == b"\x1f\x8b" else payload).decode()
    cloud_config = text.split("#cloud-config", 1)[1].split("\n--==GEUSEMAKER-PART==", 1)[0]
    files = {f["path"]: f["content"] for f in yaml.safe_load(cloud_config)["write_files"]}
    return text, yaml.safe_load(files["/opt/geusemaker/docker-compose.yml"])


def _binds(compose: dict[str, Any]) -> dict[str, str]:
    return {
        name: service["volumes"][0].split(":")[0]
        for name, service in compose["services"].items()
        if "volumes" in service
    }


def test_the_default_deploys_a_data_volume_and_no_file_system(cli, tmp_path: Path, shared_sandbox: str) -> None:
    before = count_resources(shared_sandbox)
    deployed = cli("--sandbox", "deploy", "-c", _config(tmp_path, "plain"), "--yes")
    assert deployed.code == 0, deployed.err
    assert deployed.err.count(DEFAULT_WARNING) == 1, deployed.err
    kinds = _kinds(shared_sandbox, "plain")
    assert "data-volume" in kinds and "file-system" not in kinds, kinds
    boot, compose = _boot_files(shared_sandbox, "plain")
    assert "nfs4" not in boot and set(_binds(compose).values()) == {
        f"/opt/geusemaker/data/{s}" for s in ("ollama", "n8n", "qdrant", "postgres")
    }
    assert open_store().get("plain").facts["data_layout"] == "volume"  # type: ignore[union-attr]
    kept = cli("--sandbox", "destroy", "plain", "--yes")
    assert kept.code == 0 and "data is kept" in kept.err, kept.err
    assert sorted(set(_kinds(shared_sandbox, "plain"))) == ["data-volume", "ssm-parameter"]
    assert cli("--sandbox", "destroy", "plain", "--yes", "--delete-data").code == 0
    assert tagged_resources(shared_sandbox, "plain") == [] and count_resources(shared_sandbox) == before


def test_efs_deploys_a_data_volume_and_a_file_system_for_the_models(cli, tmp_path: Path, shared_sandbox: str) -> None:
    before = count_resources(shared_sandbox)
    config = _config(tmp_path, "models", "storage:\n  data: efs\n  ebs_gb: 40\n")
    planned = json.loads(cli("--sandbox", "deploy", "-c", config, "--dry-run", "-o", "json").out)
    assert planned["storage"]["layout"] == "volume+efs" and len(planned["storage"]["warnings"]) == 1
    deployed = cli("--sandbox", "deploy", "-c", config, "--yes")
    assert deployed.code == 0, deployed.err
    assert "now keeps only Ollama's models on EFS" in deployed.err, deployed.err
    kinds = _kinds(shared_sandbox, "models")
    assert {"data-volume", "file-system"} <= set(kinds), kinds
    (file_system,) = _ids(shared_sandbox, "models", "file-system")
    efs: Any = boto_client(shared_sandbox, "efs")
    assert efs.describe_mount_targets(FileSystemId=file_system)["MountTargets"], "mounted in the stack's subnet"
    (volume,) = _ids(shared_sandbox, "models", "data-volume")
    ec2: Any = boto_client(shared_sandbox, "ec2")
    assert ec2.describe_volumes(VolumeIds=[volume])["Volumes"][0]["Size"] == 40
    boot, compose = _boot_files(shared_sandbox, "models")
    assert " /opt/geusemaker/shared nfs4 " in boot and " /opt/geusemaker/data nfs4 " not in boot
    binds = _binds(compose)
    assert binds["ollama"] == "/opt/geusemaker/shared/ollama"
    assert all(binds[s] == f"/opt/geusemaker/data/{s}" for s in ("postgres", "qdrant", "n8n")), binds
    assert cli("--sandbox", "destroy", "models", "--yes").code == 0
    assert sorted(set(_kinds(shared_sandbox, "models"))) == ["data-volume", "file-system", "ssm-parameter"]
    assert cli("--sandbox", "destroy", "models", "--yes", "--delete-data").code == 0
    assert tagged_resources(shared_sandbox, "models") == [] and count_resources(shared_sandbox) == before


def _make_it_old(endpoint: str, name: str) -> str:
    """Turn a kept efs stack into one kept by a version that put everything on EFS: no data volume, no layout."""
    store = open_store()
    (volume,) = [r.resource_id for r in store.resources(name) if r.kind == "data-volume"]
    boto_client(endpoint, "ec2").delete_volume(VolumeId=volume)
    store.mark_deleted(name, "data-volume", volume)
    store.update_facts(name, data_layout=None)
    (file_system,) = _ids(endpoint, name, "file-system")
    return file_system


def test_a_stack_kept_on_efs_by_an_older_version_never_starts_empty(cli, tmp_path: Path, shared_sandbox: str) -> None:
    before = count_resources(shared_sandbox)
    assert cli("--sandbox", "deploy", "-c", _config(tmp_path, "relic", "storage:\n  data: efs\n"), "--yes").code == 0
    assert cli("--sandbox", "destroy", "relic", "--yes").code == 0
    file_system = _make_it_old(shared_sandbox, "relic")
    secrets = _ids(shared_sandbox, "relic", "ssm-parameter")

    config = _config(tmp_path, "relic")  # the same file, written when efs was the default
    planned = cli("--sandbox", "deploy", "-c", config, "--dry-run", "-o", "json")
    plan = json.loads(planned.out)
    assert plan["storage"]["layout"] == "efs" and OLD_LAYOUT_WARNING in plan["storage"]["warnings"][0]
    assert "data-volume" not in [step["kind"] for step in plan["steps"]]
    redeployed = cli("--sandbox", "deploy", "-c", config, "--yes")
    assert redeployed.code == 0, redeployed.err
    assert OLD_LAYOUT_WARNING in redeployed.err and DEFAULT_WARNING not in redeployed.err, redeployed.err
    assert _ids(shared_sandbox, "relic", "file-system") == [file_system], "the same file system, mounted again"
    assert _ids(shared_sandbox, "relic", "data-volume") == [], "no empty volume in front of the data"
    assert _ids(shared_sandbox, "relic", "ssm-parameter") == secrets
    boot, compose = _boot_files(shared_sandbox, "relic")
    assert " /opt/geusemaker/data nfs4 " in boot and "storage_attach" not in boot
    assert set(_binds(compose).values()) == {
        f"/opt/geusemaker/data/{s}" for s in ("ollama", "n8n", "qdrant", "postgres")
    }
    assert open_store().get("relic").facts["data_layout"] == "efs"  # type: ignore[union-attr]

    assert cli("--sandbox", "stop", "relic").code == 0
    moved = cli("--sandbox", "move", "relic", "--zone", "us-east-1b", "--yes")
    assert moved.code == 2 and "regional" in moved.err, "nothing zonal to move: all of its data is on EFS"
    started = cli("--sandbox", "start", "relic")
    assert started.code == 0 and OLD_LAYOUT_WARNING in started.err, started.err
    assert _ids(shared_sandbox, "relic", "data-volume") == [] and _ids(shared_sandbox, "relic", "file-system") == [
        file_system
    ]
    assert cli("--sandbox", "destroy", "relic", "--yes", "--delete-data").code == 0
    assert tagged_resources(shared_sandbox, "relic") == [] and count_resources(shared_sandbox) == before


def test_an_efs_stack_moved_to_another_zone_mounts_its_file_system_there(
    cli, tmp_path: Path, shared_sandbox: str
) -> None:
    before = count_resources(shared_sandbox)
    assert cli("--sandbox", "deploy", "-c", _config(tmp_path, "roam", "storage:\n  data: efs\n"), "--yes").code == 0
    assert cli("--sandbox", "stop", "roam").code == 0
    ec2: Any = boto_client(shared_sandbox, "ec2")
    (volume,) = _ids(shared_sandbox, "roam", "data-volume")
    old = ec2.describe_volumes(VolumeIds=[volume])["Volumes"][0]["AvailabilityZone"]
    zone = "us-east-1b" if old != "us-east-1b" else "us-east-1c"
    assert cli("--sandbox", "move", "roam", "--zone", zone, "--yes").code == 0
    started = cli("--sandbox", "start", "roam")
    assert started.code == 0, started.err
    instance_id = json.loads(cli("--sandbox", "status", "roam", "-o", "json").out)[0]["instance_id"]
    instance = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    assert instance["Placement"]["AvailabilityZone"] == zone
    (file_system,) = _ids(shared_sandbox, "roam", "file-system")
    efs: Any = boto_client(shared_sandbox, "efs")
    targets = efs.describe_mount_targets(FileSystemId=file_system)["MountTargets"]
    assert instance["SubnetId"] in [t["SubnetId"] for t in targets], "the models' EFS is reachable in the new zone"
    assert cli("--sandbox", "stop", "roam").code == 0
    assert cli("--sandbox", "start", "roam").code == 0, "a second start finds the mount target there"
    assert cli("--sandbox", "destroy", "roam", "--yes", "--delete-data").code == 0
    assert tagged_resources(shared_sandbox, "roam") == [] and count_resources(shared_sandbox) == before
