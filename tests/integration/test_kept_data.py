"""A stack's data outlives its instances: destroy keeps it, a redeploy reuses it, only --delete-data deletes it.

Through the CLI against the sandbox's HTTP endpoint; markers (a tag on the volume, the secrets' values)
prove that the very same data comes back.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.awsfakes import Faults, boto_client, count_resources, stack_secrets, tagged_resources
from tests.conftest import TerminalInput

EBS = "storage:\n  data: ebs\n  ebs_gb: 30\n"
EFS = "storage:\n  data: efs\n"
ICE = (
    b'<?xml version="1.0" encoding="UTF-8"?><CreateFleetResponse><fleetId>fleet-x</fleetId><errorSet><item>'
    b"<errorCode>InsufficientInstanceCapacity</errorCode><errorMessage>none</errorMessage></item></errorSet>"
    b"<instanceSet/></CreateFleetResponse>"
)


def _config(tmp_path: Path, name: str, extra: str = "") -> str:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"name: {name}\nregion: us-east-1\ncompute:\n  gpu: t4\n{extra}")
    return str(path)


def _volume(endpoint: str, volume_id: str) -> dict[str, Any]:
    ec2: Any = boto_client(endpoint, "ec2")
    return dict(ec2.describe_volumes(VolumeIds=[volume_id])["Volumes"][0])


def _data_volume(tagged: list[str]) -> str:
    return next(item.split()[1] for item in tagged if item.startswith("data-volume "))


def test_destroy_keeps_the_data_and_a_redeploy_reuses_the_same_volume_andstack_secrets(
    cli, tmp_path: Path, shared_sandbox: str
) -> None:
    before = count_resources(shared_sandbox)
    config = _config(tmp_path, "keeper", EBS)
    first = cli("--sandbox", "deploy", "-c", config, "--yes", "-o", "json")
    assert first.code == 0, first.err
    secrets = stack_secrets(shared_sandbox, "keeper")
    assert len(secrets) == 4
    volume = _data_volume(tagged_resources(shared_sandbox, "keeper"))
    boto_client(shared_sandbox, "ec2").create_tags(Resources=[volume], Tags=[{"Key": "marker", "Value": "m1"}])

    destroyed = cli("--sandbox", "destroy", "keeper", "--yes")
    assert destroyed.code == 0, destroyed.err
    assert "data is kept" in destroyed.err and "/month" in destroyed.err, destroyed.err
    assert tagged_resources(shared_sandbox, "keeper") == sorted(
        [f"data-volume {volume}", *(f"ssm-parameter {name}" for name in secrets)]
    )
    listed = json.loads(cli("--sandbox", "list", "-o", "json").out)
    kept = next(d for d in listed if d["name"] == "keeper")
    assert kept["status"] == "data-kept" and kept["kept_monthly_usd"] > 0, kept

    fresh = cli("--sandbox", "deploy", "-c", config, "--yes", "--fresh-data")
    assert fresh.code == 2 and "--delete-data" in fresh.err, fresh.err
    moved = tmp_path / "keeper-west.yaml"
    moved.write_text(Path(config).read_text().replace("region: us-east-1", "region: us-west-2"))
    elsewhere = cli("--sandbox", "deploy", "-c", str(moved), "--yes")
    assert elsewhere.code == 2 and "kept data is in us-east-1" in elsewhere.err, elsewhere.err
    dry_run = cli("--sandbox", "deploy", "-c", config, "--dry-run", "-o", "json")
    assert f"kept data (reused, not created): data-volume {volume}, 4 secrets" in dry_run.err, dry_run.err
    planned = json.loads(dry_run.out)
    zone = _volume(shared_sandbox, volume)["AvailabilityZone"]
    assert {p["availability_zone"] for p in [planned["placement"], *planned["fallbacks"]]} == {zone}
    assert count_resources(shared_sandbox)["instances"] == before["instances"], "refusals create nothing"

    second = cli("--sandbox", "deploy", "-c", config, "--yes", "-o", "json")
    assert second.code == 0, second.err
    launched = json.loads(second.out)
    assert launched["instance_id"] != json.loads(first.out)["instance_id"]
    again = _volume(shared_sandbox, volume)
    assert again["Attachments"][0]["InstanceId"] == launched["instance_id"]
    assert {"Key": "marker", "Value": "m1"} in again["Tags"]
    assert launched["availability_zone"] == again["AvailabilityZone"]
    assert stack_secrets(shared_sandbox, "keeper") == secrets, "the secrets are never generated again"

    assert cli("--sandbox", "destroy", "keeper", "--yes", "--delete-data").code == 0
    assert tagged_resources(shared_sandbox, "keeper") == []
    assert count_resources(shared_sandbox) == before
    assert "keeper" not in [d["name"] for d in json.loads(cli("--sandbox", "list", "-o", "json").out)]


def test_an_efs_stack_keeps_its_volume_file_system_andstack_secrets(cli, tmp_path: Path, shared_sandbox: str) -> None:
    before = count_resources(shared_sandbox)
    config = _config(tmp_path, "shelf", EFS)
    assert cli("--sandbox", "deploy", "-c", config, "--yes").code == 0
    secrets = stack_secrets(shared_sandbox, "shelf")
    tagged = tagged_resources(shared_sandbox, "shelf")
    file_system = next(i.split()[1] for i in tagged if i.startswith("file-system"))
    volume = _data_volume(tagged)
    assert cli("--sandbox", "destroy", "shelf", "--yes").code == 0
    data = [f"data-volume {volume}", f"file-system {file_system}"]
    assert tagged_resources(shared_sandbox, "shelf") == sorted([*data, *(f"ssm-parameter {name}" for name in secrets)])
    assert cli("--sandbox", "deploy", "-c", config, "--yes").code == 0
    assert [
        i for i in tagged_resources(shared_sandbox, "shelf") if i.startswith(("file-system", "data-volume"))
    ] == data
    efs: Any = boto_client(shared_sandbox, "efs")
    assert efs.describe_mount_targets(FileSystemId=file_system)["MountTargets"], "mounted in the new subnet"
    assert stack_secrets(shared_sandbox, "shelf") == secrets
    assert cli("--sandbox", "destroy", "shelf", "--yes", "--delete-data").code == 0
    assert count_resources(shared_sandbox) == before


def test_a_failed_redeploy_rolls_back_without_touching_the_kept_data(
    cli, tmp_path: Path, shared_sandbox: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(tmp_path, "steady", EBS)
    assert cli("--sandbox", "deploy", "-c", config, "--yes").code == 0
    secrets = stack_secrets(shared_sandbox, "steady")
    assert cli("--sandbox", "destroy", "steady", "--yes").code == 0
    kept = tagged_resources(shared_sandbox, "steady")
    faults = Faults().install(monkeypatch)
    for occurrence in range(1, 40):
        faults.respond[("ec2.CreateFleet", occurrence)] = (200, {}, ICE)
    failed = cli("--sandbox", "deploy", "-c", config, "--yes")
    assert failed.code == 3, failed.err
    assert tagged_resources(shared_sandbox, "steady") == kept, "the rollback deleted only what the redeploy made"
    assert stack_secrets(shared_sandbox, "steady") == secrets
    status = json.loads(cli("--sandbox", "status", "steady", "-o", "json").out)
    assert status[0]["status"] == "data-kept"
    faults.respond.clear()
    assert cli("--sandbox", "destroy", "steady", "--yes", "--delete-data").code == 0
    assert tagged_resources(shared_sandbox, "steady") == []


def test_a_second_install_deploying_the_same_name_is_refused_before_creating_anything(
    cli, tmp_path: Path, shared_sandbox: str, gm_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(tmp_path, "twin")
    first = cli("--sandbox", "deploy", "-c", config, "--yes", "-o", "json")
    assert first.code == 0, first.err
    ours = tagged_resources(shared_sandbox, "twin")
    during = count_resources(shared_sandbox)

    other_home = tmp_path / "other-home"
    other_home.mkdir()
    shutil.copy(gm_home / "sandbox.json", other_home / "sandbox.json")
    monkeypatch.setenv("GEUSEMAKER_HOME", str(other_home))
    second = cli("--sandbox", "deploy", "-c", config, "--yes")
    assert second.code == 3, second.err
    assert "already used in this AWS account" in second.err
    assert json.loads(first.out)["instance_id"] in second.err, "names what it found"
    assert count_resources(shared_sandbox) == during, "nothing was created"
    assert tagged_resources(shared_sandbox, "twin") == ours, "the first stack is untouched"
    assert json.loads(cli("--sandbox", "status", "-o", "json").out) == [], "the second install recorded nothing"

    monkeypatch.setenv("GEUSEMAKER_HOME", str(gm_home))
    status = json.loads(cli("--sandbox", "status", "twin", "--refresh", "-o", "json").out)
    assert status[0]["status"] == "running"
    assert cli("--sandbox", "destroy", "twin", "--yes", "--delete-data").code == 0
    assert tagged_resources(shared_sandbox, "twin") == []


def test_discover_without_state_shows_each_stack_and_needs_its_id_when_several_share_the_name(
    cli, tmp_path: Path, shared_sandbox: str, gm_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = count_resources(shared_sandbox)
    assert cli("--sandbox", "deploy", "-c", _config(tmp_path, "lost"), "--yes").code == 0
    ec2: Any = boto_client(shared_sandbox, "ec2")
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:geusemaker:deployment", "Values": ["lost"]}])["Vpcs"]
    ours = next(t["Value"] for t in vpcs[0]["Tags"] if t["Key"] == "geusemaker:stack-id")
    other = {"deployment": "lost", "managed": "true", "kind": "vpc", "stack-id": "other0install"}
    tags = [{"Key": f"geusemaker:{key}", "Value": value} for key, value in other.items()]
    theirs = ec2.create_vpc(CidrBlock="10.77.0.0/16", TagSpecifications=[{"ResourceType": "vpc", "Tags": tags}])
    their_vpc = theirs["Vpc"]["VpcId"]

    other_home = tmp_path / "new-laptop"
    other_home.mkdir()
    shutil.copy(gm_home / "sandbox.json", other_home / "sandbox.json")
    monkeypatch.setenv("GEUSEMAKER_HOME", str(other_home))  # the state that knew "lost" is gone
    during = count_resources(shared_sandbox)
    discover = ("--sandbox", "--region", "us-east-1", "destroy", "lost", "--discover", "--yes", "--delete-data")
    ambiguous = cli(*discover)
    assert ambiguous.code == 2 and "2 stacks named 'lost'" in ambiguous.err, ambiguous.err
    assert f"stack {ours}" in ambiguous.err and "stack other0install: 1 resources" in ambiguous.err
    assert their_vpc in ambiguous.err
    assert count_resources(shared_sandbox) == during, "nothing deleted"
    assert cli(*discover, "--stack-id", "nope").code == 2

    mine = cli(*discover, "--stack-id", ours)
    assert mine.code == 0, mine.err
    assert tagged_resources(shared_sandbox, "lost") == [f"vpc {their_vpc}"], "the other stack is untouched"
    assert cli(*discover, "--stack-id", "other0install").code == 0
    assert tagged_resources(shared_sandbox, "lost") == []
    assert count_resources(shared_sandbox) == before


def test_interactive_destroy_asks_and_keeps_the_data_by_default(
    cli, tmp_path: Path, shared_sandbox: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = count_resources(shared_sandbox)
    assert cli("--sandbox", "deploy", "-c", _config(tmp_path, "asked", EBS), "--yes").code == 0
    monkeypatch.setattr("sys.stdin", TerminalInput("asked\n\n"))  # type the name, then Enter: the default
    kept = cli("--sandbox", "destroy", "asked")
    assert kept.code == 0 and "delete asked's data" in kept.err and "data is kept" in kept.err, kept.err
    assert [i.split()[0] for i in tagged_resources(shared_sandbox, "asked")] == ["data-volume", *["ssm-parameter"] * 4]

    monkeypatch.setattr("sys.stdin", TerminalInput("y\nn\n"))  # a redeploy asks before reusing the data
    again = cli("--sandbox", "deploy", "-c", _config(tmp_path, "asked", EBS))
    assert again.code == 1 and "Reuse asked's kept data" in again.err and "Not deployed" in again.err, again.err
    monkeypatch.setattr("sys.stdin", TerminalInput("asked\ny\n"))
    deleted = cli("--sandbox", "destroy", "asked")
    assert deleted.code == 0 and "nothing left" in deleted.err, deleted.err
    assert tagged_resources(shared_sandbox, "asked") == []
    assert count_resources(shared_sandbox) == before


@pytest.mark.parametrize("storage", [EBS, EFS, ""], ids=["ebs", "efs", "default"])
def test_stop_and_start_bring_back_the_same_data_andstack_secrets(
    cli, tmp_path: Path, shared_sandbox: str, storage: str
) -> None:
    before = count_resources(shared_sandbox)
    first = cli("--sandbox", "deploy", "-c", _config(tmp_path, "pause", storage), "--yes", "-o", "json")
    assert first.code == 0, first.err
    secrets = stack_secrets(shared_sandbox, "pause")
    up = tagged_resources(shared_sandbox, "pause")
    stopped = cli("--sandbox", "stop", "pause")
    assert stopped.code == 0 and "while stopped it costs about $" in stopped.err, stopped.err

    def stays(items: list[str]) -> list[str]:
        return [i for i in items if not i.startswith(("instance ", "fleet "))]

    left = tagged_resources(shared_sandbox, "pause")
    assert left == stays(up) and len(left) == len(up) - 2, "only the instance (and its fleet) went"
    status = json.loads(cli("--sandbox", "status", "pause", "--refresh", "-o", "json").out)[0]
    assert status["status"] == "stopped" and status["instance_id"] is None and status["stopped_monthly_usd"] > 0

    started = cli("--sandbox", "start", "pause")
    assert started.code == 0, started.err
    status = json.loads(cli("--sandbox", "status", "pause", "--refresh", "-o", "json").out)[0]
    assert status["status"] == "running" and status["instance_id"] not in (None, json.loads(first.out)["instance_id"])
    assert stack_secrets(shared_sandbox, "pause") == secrets
    again = tagged_resources(shared_sandbox, "pause")
    assert stays(again) == stays(up), "the same network, template, data and secrets"
    volume = _volume(shared_sandbox, _data_volume(again))  # every layout has its data volume
    assert volume["Attachments"][0]["InstanceId"] == status["instance_id"]
    assert cli("--sandbox", "start", "pause").code == 2, "a running stack is not started twice"
    assert cli("--sandbox", "destroy", "pause", "--yes", "--delete-data").code == 0
    assert count_resources(shared_sandbox) == before


def test_a_start_without_capacity_leaves_the_stack_stopped_and_its_data_intact(
    cli, tmp_path: Path, shared_sandbox: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("--sandbox", "deploy", "-c", _config(tmp_path, "nocap", EBS), "--yes").code == 0
    assert cli("--sandbox", "stop", "nocap").code == 0
    stopped = tagged_resources(shared_sandbox, "nocap")
    faults = Faults().install(monkeypatch)
    for occurrence in range(1, 40):
        faults.respond[("ec2.CreateFleet", occurrence)] = (200, {}, ICE)
    failed = cli("--sandbox", "start", "nocap")
    assert failed.code == 3 and "no capacity" in failed.err, failed.err
    assert tagged_resources(shared_sandbox, "nocap") == stopped
    assert json.loads(cli("--sandbox", "status", "nocap", "-o", "json").out)[0]["status"] == "stopped"
    faults.respond.clear()
    assert cli("--sandbox", "start", "nocap").code == 0
    assert cli("--sandbox", "destroy", "nocap", "--yes", "--delete-data").code == 0
    assert tagged_resources(shared_sandbox, "nocap") == []
