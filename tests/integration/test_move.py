"""`geusemaker move`: the data volume goes to another zone through a snapshot, and `start` follows it.

Through the CLI against the sandbox's HTTP endpoint: the very same data (tags, secrets) comes back in the
new zone; a failure at any call before the new volume is available leaves the old one as it was.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.awsfakes import Faults, boto_client, count_resources, stack_secrets, tagged_resources
from tests.conftest import TerminalInput

EBS = "storage:\n  data: ebs\n  ebs_gb: 30\n"


def _config(tmp_path: Path, name: str, extra: str = EBS) -> str:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"name: {name}\nregion: us-east-1\ncompute:\n  gpu: t4\n{extra}")
    return str(path)


def _volumes(endpoint: str, name: str) -> list[dict[str, Any]]:
    ec2: Any = boto_client(endpoint, "ec2")
    found = ec2.describe_volumes(Filters=[{"Name": "tag:geusemaker:deployment", "Values": [name]}])["Volumes"]
    return [v for v in found if any(t["Value"] == "data-volume" for t in v.get("Tags", []))]


def _snapshots(endpoint: str, name: str) -> list[dict[str, Any]]:
    ec2: Any = boto_client(endpoint, "ec2")
    filters = [{"Name": "tag:geusemaker:deployment", "Values": [name]}]
    return list(ec2.describe_snapshots(OwnerIds=["self"], Filters=filters)["Snapshots"])


def _other_zone(zone: str) -> str:
    return "us-east-1b" if zone != "us-east-1b" else "us-east-1c"


def _stopped_stack(cli, tmp_path: Path, endpoint: str, name: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    assert cli("--sandbox", "deploy", "-c", _config(tmp_path, name), "--yes").code == 0
    (volume,) = _volumes(endpoint, name)
    boto_client(endpoint, "ec2").create_tags(Resources=[volume["VolumeId"]], Tags=[{"Key": "marker", "Value": "m1"}])
    assert cli("--sandbox", "stop", name).code == 0
    (volume,) = _volumes(endpoint, name)
    return volume


def _tags(item: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in item.get("Tags", [])}


def test_move_then_start_brings_the_same_data_and_secrets_up_in_the_new_zone(
    cli, tmp_path: Path, shared_sandbox: str
) -> None:
    before = count_resources(shared_sandbox)
    old = _stopped_stack(cli, tmp_path, shared_sandbox, "mover")
    secrets = stack_secrets(shared_sandbox, "mover")
    zone = _other_zone(old["AvailabilityZone"])

    moved = cli("--sandbox", "move", "mover", "--zone", zone, "--yes")
    assert moved.code == 0, moved.err
    assert f"({old['Size']} GiB)" in moved.err and "/GB-month" in moved.err and "estimated time" in moved.err
    (new,) = _volumes(shared_sandbox, "mover")
    assert new["VolumeId"] != old["VolumeId"] and new["AvailabilityZone"] == zone
    assert new["Size"] == old["Size"] and new["VolumeType"] == old["VolumeType"] and new["Encrypted"]
    assert _tags(new) == _tags(old), "the tags the boot finds it by, the stack id and the user's marker"
    assert _snapshots(shared_sandbox, "mover") == [], "the snapshot is deleted after the move"
    assert f"data moved[/] to {zone}" not in moved.err and f"moved to {zone}" in moved.err

    started = cli("--sandbox", "start", "mover")
    assert started.code == 0, started.err
    status = json.loads(cli("--sandbox", "status", "mover", "-o", "json").out)[0]
    ec2: Any = boto_client(shared_sandbox, "ec2")
    instance = ec2.describe_instances(InstanceIds=[status["instance_id"]])["Reservations"][0]["Instances"][0]
    assert instance["Placement"]["AvailabilityZone"] == zone
    subnet = ec2.describe_subnets(SubnetIds=[instance["SubnetId"]])["Subnets"][0]
    assert subnet["AvailabilityZone"] == zone and _tags(subnet)["geusemaker:deployment"] == "mover"
    (attached,) = _volumes(shared_sandbox, "mover")
    assert attached["VolumeId"] == new["VolumeId"]
    assert attached["Attachments"][0]["InstanceId"] == status["instance_id"]
    assert stack_secrets(shared_sandbox, "mover") == secrets, "the secrets are the same"

    assert cli("--sandbox", "stop", "mover").code == 0
    assert cli("--sandbox", "start", "mover").code == 0, "a second start reuses the new zone's subnet"
    assert cli("--sandbox", "destroy", "mover", "--yes", "--delete-data").code == 0
    assert tagged_resources(shared_sandbox, "mover") == []
    assert count_resources(shared_sandbox) == before


def test_a_kept_snapshot_is_shown_in_the_stopped_cost_and_deleted_with_the_data(
    cli, tmp_path: Path, shared_sandbox: str
) -> None:
    before = count_resources(shared_sandbox)
    old = _stopped_stack(cli, tmp_path, shared_sandbox, "snappy")
    status = json.loads(cli("--sandbox", "status", "snappy", "-o", "json").out)[0]
    volume_only = status["stopped_monthly_usd"]
    zone = _other_zone(old["AvailabilityZone"])
    moved = cli("--sandbox", "move", "snappy", "--zone", zone, "--yes", "--keep-snapshot")
    assert moved.code == 0, moved.err
    (snapshot,) = _snapshots(shared_sandbox, "snappy")
    assert _tags(snapshot)["geusemaker:stack-id"] == _tags(old)["geusemaker:stack-id"]
    assert f"snapshot {snapshot['SnapshotId']} kept" in moved.err
    status = json.loads(cli("--sandbox", "status", "snappy", "-o", "json").out)[0]
    assert status["stopped_monthly_usd"] == pytest.approx(volume_only + old["Size"] * 0.05)
    destroyed = cli("--sandbox", "destroy", "snappy", "--yes")
    assert destroyed.code == 0 and f"snapshot {snapshot['SnapshotId']}" in destroyed.err, destroyed.err

    back = cli("--sandbox", "move", "snappy", "--zone", old["AvailabilityZone"], "--yes")  # kept data moves too
    assert back.code == 0, back.err
    redeployed = cli("--sandbox", "deploy", "-c", str(tmp_path / "snappy.yaml"), "--yes", "-o", "json")
    assert redeployed.code == 0, redeployed.err
    assert json.loads(redeployed.out)["availability_zone"] == old["AvailabilityZone"], "a redeploy follows the data"
    assert cli("--sandbox", "destroy", "snappy", "--yes", "--delete-data").code == 0
    assert _snapshots(shared_sandbox, "snappy") == [] and tagged_resources(shared_sandbox, "snappy") == []
    assert count_resources(shared_sandbox) == before


def test_a_move_that_cannot_or_should_not_happen_says_what_to_do_and_changes_nothing(
    cli, tmp_path: Path, shared_sandbox: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("--sandbox", "deploy", "-c", _config(tmp_path, "stay"), "--yes").code == 0
    running = cli("--sandbox", "move", "stay", "--zone", "us-east-1b", "--yes")
    assert running.code == 2 and "geusemaker stop stay" in running.err, running.err
    assert cli("--sandbox", "stop", "stay").code == 0
    (volume,) = _volumes(shared_sandbox, "stay")
    here, there = volume["AvailabilityZone"], _other_zone(volume["AvailabilityZone"])
    unchanged = tagged_resources(shared_sandbox, "stay")
    elsewhere = cli("--sandbox", "move", "stay", "--zone", "eu-west-1a", "--yes")
    assert elsewhere.code == 2 and "within the stack's region" in elsewhere.err and "us-east-1a" in elsewhere.err
    same = cli("--sandbox", "move", "stay", "--zone", here, "--yes")
    assert same.code == 2 and "nothing to move" in same.err, same.err
    piped = cli("--sandbox", "move", "stay", "--zone", there)
    assert piped.code == 2 and "--yes" in piped.err, piped.err
    monkeypatch.setattr("sys.stdin", TerminalInput("\n"))  # Enter: the default is no
    declined = cli("--sandbox", "move", "stay", "--zone", there)
    assert declined.code == 1 and "Not moved" in declined.err and "Traceback" not in declined.err, declined.err
    assert tagged_resources(shared_sandbox, "stay") == unchanged
    assert cli("--sandbox", "destroy", "stay", "--yes", "--delete-data").code == 0

    assert cli("--sandbox", "deploy", "-c", _config(tmp_path, "rooted", "storage:\n  data: none\n"), "--yes").code == 0
    assert cli("--sandbox", "stop", "rooted").code == 0
    rooted = cli("--sandbox", "move", "rooted", "--zone", "us-east-1b", "--yes")
    assert rooted.code == 2 and "no EBS data volume" in rooted.err and "nothing to move" in rooted.err, rooted.err
    assert cli("--sandbox", "destroy", "rooted", "--yes", "--delete-data").code == 0
    unknown = cli("--sandbox", "move", "nobody", "--zone", "us-east-1b", "--yes")
    assert unknown.code == 2 and "no deployment named 'nobody'" in unknown.err


def test_a_failure_at_each_call_of_the_move_leaves_the_old_volume_intact_and_nothing_new(
    cli, tmp_path: Path, shared_sandbox: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = count_resources(shared_sandbox)
    old = _stopped_stack(cli, tmp_path, shared_sandbox, "shaky")
    home, away = old["AvailabilityZone"], _other_zone(old["AvailabilityZone"])
    faults = Faults().install(monkeypatch)
    assert cli("--sandbox", "move", "shaky", "--zone", away, "--yes").code == 0
    calls, seen = [], {}
    for call in faults.calls:
        seen[call] = seen.get(call, 0) + 1
        calls.append((call, seen[call]))
    names = [c for c, _ in calls]
    created, copied = names.index("ec2.CreateSnapshot"), names.index("ec2.CreateVolume")
    assert names[copied + 1] == "ec2.DescribeVolumes", "the waiter for the new volume"
    before_available = calls[created : copied + 2]
    assert {c for c, _ in before_available} >= {"ec2.CreateSnapshot", "ec2.DescribeSnapshots", "ec2.CreateVolume"}
    (current,) = _volumes(shared_sandbox, "shaky")
    stopped = tagged_resources(shared_sandbox, "shaky")
    counted = count_resources(shared_sandbox)

    for call, occurrence in before_available:
        faults.calls.clear()
        faults._seen.clear()
        faults.fail = {(call, occurrence): ("UnauthorizedOperation", f"injected fault in {call}")}
        failed = cli("--sandbox", "move", "shaky", "--zone", home, "--yes")
        assert failed.code != 0 and "injected fault" in failed.err, (call, failed.err)
        assert "Traceback" not in failed.err and "bug" not in failed.err, failed.err
        assert tagged_resources(shared_sandbox, "shaky") == stopped, f"after failing {call} #{occurrence}"
        assert count_resources(shared_sandbox) == counted, call
        assert _snapshots(shared_sandbox, "shaky") == [], call
        (still,) = _volumes(shared_sandbox, "shaky")
        assert (still["VolumeId"], still["AvailabilityZone"], still["State"]) == (
            current["VolumeId"], away, "available"
        ), call  # fmt: skip

    faults.calls.clear()
    faults._seen.clear()
    faults.fail = {("ec2.DeleteVolume", 1): ("UnauthorizedOperation", "injected fault in ec2.DeleteVolume")}
    late = cli("--sandbox", "move", "shaky", "--zone", home, "--yes")
    assert late.code == 1 and "the data has moved, but the old data volume" in late.err, late.err
    faults.fail = {}
    replaced = [v for v in _volumes(shared_sandbox, "shaky") if v["VolumeId"] == current["VolumeId"]]
    assert replaced and replaced[0]["AvailabilityZone"] == away, "the replaced volume is still there"
    finished = cli("--sandbox", "move", "shaky", "--zone", home, "--yes")
    assert finished.code == 0 and "interrupted move is finished" in finished.err, finished.err
    (data,) = _volumes(shared_sandbox, "shaky")
    assert data["AvailabilityZone"] == home and data["VolumeId"] != current["VolumeId"]
    assert cli("--sandbox", "start", "shaky").code == 0, "the stack starts where its data is now"
    status = json.loads(cli("--sandbox", "status", "shaky", "-o", "json").out)[0]
    ec2: Any = boto_client(shared_sandbox, "ec2")
    instance = ec2.describe_instances(InstanceIds=[status["instance_id"]])["Reservations"][0]["Instances"][0]
    assert instance["Placement"]["AvailabilityZone"] == home
    assert cli("--sandbox", "destroy", "shaky", "--yes", "--delete-data").code == 0
    assert tagged_resources(shared_sandbox, "shaky") == [], "the old volume, still tagged, goes with the data"
    assert count_resources(shared_sandbox) == before


def test_the_documented_policy_allows_every_request_of_a_move_and_only_on_the_stacks_own_resources(
    cli, tmp_path: Path, shared_sandbox: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import ROOT
    from tests.iamsim import Request, allows
    from tests.policy_requests import World, requests_for

    old = _stopped_stack(cli, tmp_path, shared_sandbox, "policed")
    world = World("us-east-1")
    world.observe(shared_sandbox)
    faults = Faults().install(monkeypatch)
    zone = _other_zone(old["AvailabilityZone"])
    assert cli("--sandbox", "move", "policed", "--zone", zone, "--yes", "--keep-snapshot").code == 0
    world.observe(shared_sandbox)
    assert cli("--sandbox", "destroy", "policed", "--yes", "--delete-data").code == 0

    policy = json.loads((ROOT / "docs" / "iam-policy.json").read_text())
    checked = list(requests_for(faults.requests, world))
    actions = {r.action for _, r in checked}
    assert {"ec2:CreateSnapshot", "ec2:CreateVolume", "ec2:DeleteVolume", "ec2:DeleteSnapshot"} <= actions
    denied = sorted({f"{c}: {r.action} on {r.resource} {dict(r.context)}" for c, r in checked if not allows(policy, r)})
    assert denied == []
    theirs_volume = "arn:aws:ec2:us-east-1:123456789012:volume/vol-theirs"
    theirs_snapshot = "arn:aws:ec2:us-east-1::snapshot/snap-theirs"
    assert not allows(policy, Request("ec2:CreateSnapshot", theirs_volume)), "another team's volume"
    assert not allows(policy, Request("ec2:DeleteSnapshot", theirs_snapshot))
    assert not allows(policy, Request("ec2:CreateVolume", theirs_snapshot)), "a volume from another's snapshot"
    assert not allows(policy, Request("ec2:CreateSnapshot", "arn:aws:ec2:us-east-1::snapshot/*")), "untagged"


@pytest.mark.parametrize("moment", [0.4, 0.9, 1.6])
def test_a_move_killed_at_any_moment_keeps_the_data_and_a_rerun_or_destroy_finishes_it(
    moment: float, tmp_path: Path, shared_sandbox: str, cli
) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    before = count_resources(shared_sandbox)
    name = f"cut{int(moment * 10)}"
    old = _stopped_stack(cli, tmp_path, shared_sandbox, name)
    secrets = stack_secrets(shared_sandbox, name)
    zone = _other_zone(old["AvailabilityZone"])
    move = [sys.executable, "-m", "geusemaker", "--sandbox", "move", name, "--zone", zone, "--yes"]
    process = subprocess.Popen(move, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ))
    time.sleep(moment)  # a kill at some moment of the move; whatever the moment, the checks below hold
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)

    data = [v for v in _volumes(shared_sandbox, name) if v["VolumeId"] == old["VolumeId"]]
    assert data or any(v["AvailabilityZone"] == zone for v in _volumes(shared_sandbox, name)), "the data is somewhere"
    rerun = cli("--sandbox", "move", name, "--zone", zone, "--yes")
    assert rerun.code in (0, 2), rerun.err  # 2: the first move had finished ("nothing to move")
    (volume,) = _volumes(shared_sandbox, name)
    assert volume["AvailabilityZone"] == zone and _tags(volume)["marker"] == "m1"
    assert _snapshots(shared_sandbox, name) == [], "the interrupted move's snapshot is gone too"
    assert cli("--sandbox", "start", name).code == 0
    assert stack_secrets(shared_sandbox, name) == secrets
    assert cli("--sandbox", "destroy", name, "--yes", "--delete-data").code == 0
    assert tagged_resources(shared_sandbox, name) == []
    assert count_resources(shared_sandbox) == before
