"""Failures in the middle of a deploy: every mutating AWS call failing in turn, capacity failover, locks."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from tests.awsfakes import Faults, count_resources, tagged_resources

ICE = (
    b'<CreateFleetResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>1</requestId>'
    b"<fleetId>fleet-00000000-0000-0000-0000-000000000000</fleetId><errorSet><item>"
    b"<errorCode>InsufficientInstanceCapacity</errorCode><errorMessage>We currently do not have sufficient capacity "
    b"in the Availability Zone you requested.</errorMessage><lifecycle>spot</lifecycle></item></errorSet>"
    b"<fleetInstanceSet/></CreateFleetResponse>"
)
DENIED = {"ec2": "UnauthorizedOperation", "iam": "AccessDenied", "auto-scaling": "AccessDenied"}


def _config(tmp_path: Path, name: str, extra: str = "") -> str:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"name: {name}\nregion: us-east-1\ncompute:\n  gpu: t4\n{extra}")
    return str(path)


def _names(cli) -> list[str]:  # type: ignore[no-untyped-def]
    return [d["name"] for d in json.loads(cli("--sandbox", "status", "-o", "json").out)]


def test_every_mutating_call_failing_in_turn_leaks_nothing(
    cli, tmp_path: Path, shared_sandbox: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    faults = Faults().install(monkeypatch)
    config = _config(tmp_path, "faulty", "storage:\n  data: efs\n")  # the most calls: a data volume and EFS
    assert cli("--sandbox", "deploy", "-c", config, "--yes").code == 0
    calls = faults.mutating_calls()
    assert cli("--sandbox", "destroy", "faulty", "--yes", "--delete-data").code == 0
    operations = {call.split(".")[1] for call, _ in calls}
    assert {
        "CreateVpc",
        "CreateFileSystem",
        "CreateMountTarget",
        "CreateVolume",
        "AttachVolume",
        "CreateRole",
        "PutParameter",
        "CreateFleet",
        "CreateAutoScalingGroup",
        "AttachInstances",
        "EnableMetricsCollection",
        "PutScalingPolicy",
        "PutMetricAlarm",
    } <= operations
    before = count_resources(shared_sandbox)
    for call, occurrence in calls:
        faults.calls.clear()
        faults._seen.clear()
        service = call.split(".")[0]
        faults.fail = {(call, occurrence): (DENIED.get(service, "AccessDeniedException"), f"injected fault in {call}")}
        result = cli("--sandbox", "deploy", "-c", config, "--yes")
        assert result.code != 0, call
        assert f"injected fault in {call}" in result.err, (call, result.err)
        assert "Traceback" not in result.err and "bug" not in result.err, result.err
        assert count_resources(shared_sandbox) == before, f"leak after failing {call} #{occurrence}"
        assert tagged_resources(shared_sandbox, "faulty") == [], call
        assert "faulty" not in _names(cli), call


def test_capacity_failover_to_the_next_zone(
    cli, tmp_path: Path, shared_sandbox: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    faults = Faults().install(monkeypatch)
    faults.respond[("ec2.CreateFleet", 1)] = (200, {}, ICE)
    before = count_resources(shared_sandbox)
    result = cli("--sandbox", "deploy", "-c", _config(tmp_path, "failover"), "--yes", "-o", "json")
    assert result.code == 0, result.err
    launched = json.loads(result.out)
    assert len(launched["attempts"]) == 2
    assert "no capacity" in launched["attempts"][0] and launched["attempts"][1].endswith("launched")
    plan_zone = launched["attempts"][0].split(" in ")[1].split(":")[0]
    assert launched["availability_zone"] != plan_zone
    subnets = [c for c in faults.calls if c == "ec2.CreateSubnet"]
    assert len(subnets) == 2, "a subnet (and mount target) in the fallback zone"
    assert cli("--sandbox", "destroy", "failover", "--yes", "--delete-data").code == 0
    assert count_resources(shared_sandbox) == before


def test_all_fallbacks_exhausted_exits_3_with_the_list(
    cli, tmp_path: Path, shared_sandbox: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    faults = Faults().install(monkeypatch)
    for occurrence in range(1, 40):
        faults.respond[("ec2.CreateFleet", occurrence)] = (200, {}, ICE)
    before = count_resources(shared_sandbox)
    result = cli("--sandbox", "deploy", "-c", _config(tmp_path, "nocap", "storage:\n  data: none\n"), "--yes")
    assert result.code == 3, result.err
    assert "no capacity for any planned placement" in result.err
    tried = [line for line in result.err.splitlines() if line.strip().startswith("- ") and "no capacity" in line]
    assert len(tried) >= 3 and any("on-demand" in line for line in tried), "spot then on-demand"
    assert count_resources(shared_sandbox) == before
    assert "nocap" not in _names(cli)


def test_keep_on_failure_keeps_and_records_everything(
    cli, tmp_path: Path, shared_sandbox: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    faults = Faults().install(monkeypatch)
    faults.fail[("ec2.CreateLaunchTemplate", 1)] = ("UnauthorizedOperation", "injected fault")
    before = count_resources(shared_sandbox)
    result = cli("--sandbox", "deploy", "-c", _config(tmp_path, "kept"), "--yes", "--keep-on-failure")
    assert result.code == 1
    status = json.loads(cli("--sandbox", "status", "kept", "-o", "json").out)
    assert status[0]["status"] == "failed"
    assert tagged_resources(shared_sandbox, "kept"), "resources kept for debugging"
    faults.fail.clear()
    assert cli("--sandbox", "destroy", "kept", "--yes", "--delete-data").code == 0
    assert count_resources(shared_sandbox) == before


def test_an_interrupted_destroy_finishes_on_a_rerun(
    cli, tmp_path: Path, shared_sandbox: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    faults = Faults().install(monkeypatch)
    before = count_resources(shared_sandbox)
    assert cli("--sandbox", "deploy", "-c", _config(tmp_path, "rerun"), "--yes").code == 0
    faults._seen.clear()
    faults.fail[("ec2.DeleteVpc", 1)] = ("UnauthorizedOperation", "injected fault")
    first = cli("--sandbox", "destroy", "rerun", "--yes", "--delete-data")
    assert first.code == 1 and "could not be deleted yet" in first.err and "vpc" in first.err
    assert json.loads(cli("--sandbox", "status", "rerun", "-o", "json").out)[0]["status"] == "destroy-incomplete"
    second = cli("--sandbox", "destroy", "rerun", "--yes", "--delete-data")
    assert second.code == 0, second.err
    assert count_resources(shared_sandbox) == before
    assert "rerun" not in _names(cli)


def test_a_busy_deployment_is_locked(cli, tmp_path: Path, shared_sandbox: str) -> None:
    from geusemaker import paths
    from geusemaker.state.lock import deployment_lock

    assert cli("--sandbox", "deploy", "-c", _config(tmp_path, "busy", "storage:\n  data: none\n"), "--yes").code == 0
    with deployment_lock(paths.locks_dir(), "busy"):
        from tests.conftest import run_cli

        blocked = run_cli("--sandbox", "destroy", "busy", "--yes", "--delete-data")
        assert blocked.code == 1 and "is busy" in blocked.err
        other = run_cli("--sandbox", "deploy", "-c", _config(tmp_path, "other", "storage:\n  data: none\n"), "--yes")
        assert other.code == 0, "other names are not blocked"
    assert cli("--sandbox", "destroy", "busy", "--yes", "--delete-data").code == 0
    assert cli("--sandbox", "destroy", "other", "--yes", "--delete-data").code == 0


def test_a_fresh_instance_profile_is_retried_until_ec2_sees_it(
    cli, tmp_path: Path, shared_sandbox: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits: list[float] = []
    monkeypatch.setattr("time.sleep", waits.append)
    faults = Faults().install(monkeypatch)
    not_yet = ICE.replace(b"InsufficientInstanceCapacity", b"InvalidParameterValue").replace(
        b"We currently do not have sufficient capacity in the Availability Zone you requested.",
        b"Value (arn:aws:iam::123456789012:instance-profile/geusemaker/x) for parameter iamInstanceProfile.arn"
        b" is invalid.",
    )
    faults.respond[("ec2.CreateFleet", 1)] = (200, {}, not_yet)
    faults.respond[("ec2.CreateFleet", 2)] = (200, {}, not_yet)
    result = cli(
        "--sandbox", "deploy", "-c", _config(tmp_path, "propagate", "storage:\n  data: none\n"), "--yes", "-o", "json"
    )
    assert result.code == 0, result.err
    assert faults.calls.count("ec2.CreateFleet") == 3
    assert len(json.loads(result.out)["attempts"]) == 1, "propagation retries are not capacity fallbacks"
    assert waits[:2] == [2.0, 4.0], "backoff between the retries"
    tokens = [parse_qs(body.decode())["ClientToken"][0] for body in faults.bodies["ec2.CreateFleet"]]
    assert len(set(tokens)) == 3 and all(len(token) <= 64 for token in tokens), "a fresh token per try"
    assert cli("--sandbox", "destroy", "propagate", "--yes", "--delete-data").code == 0


def test_client_tokens_fit_aws_limits_for_the_longest_name(
    cli, tmp_path: Path, shared_sandbox: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    faults = Faults().install(monkeypatch)
    name = "n" * 40
    assert cli("--sandbox", "deploy", "-c", _config(tmp_path, name, "storage:\n  data: efs\n"), "--yes").code == 0
    try:
        creation = json.loads(faults.bodies["efs.CreateFileSystem"][0])["CreationToken"]
        fleet = parse_qs(faults.bodies["ec2.CreateFleet"][0].decode())["ClientToken"][0]
        assert len(creation) <= 64 and len(fleet) <= 64
    finally:
        assert cli("--sandbox", "destroy", name, "--yes", "--delete-data").code == 0


@pytest.mark.parametrize("code", ["MaxSpotInstanceCountExceeded", "VcpuLimitExceeded"])
def test_a_spot_quota_error_at_launch_falls_through_to_on_demand(
    cli, tmp_path: Path, shared_sandbox: str, monkeypatch: pytest.MonkeyPatch, code: str
) -> None:
    faults = Faults().install(monkeypatch)
    spot_quota = ICE.replace(b"InsufficientInstanceCapacity", code.encode()).replace(
        b"We currently do not have sufficient capacity in the Availability Zone you requested.",
        b"Max spot instance count exceeded",
    )
    faults.respond[("ec2.CreateFleet", 1)] = (200, {}, spot_quota)
    before = count_resources(shared_sandbox)
    name = f"spotq-{code[:4].lower()}"
    config = _config(tmp_path, name, "storage:\n  data: none\n")
    result = cli("--sandbox", "deploy", "-c", config, "--yes", "-o", "json")
    assert result.code == 0, result.err
    launched = json.loads(result.out)
    assert launched["market"] == "on-demand"
    assert "spot" in launched["attempts"][0] and "quota" in launched["attempts"][0]
    assert faults.calls.count("ec2.CreateFleet") == 2, "the other spot zones share the spent quota: skipped"
    assert cli("--sandbox", "destroy", name, "--yes", "--delete-data").code == 0
    assert count_resources(shared_sandbox) == before


def test_a_redeploy_on_kept_data_failing_at_each_call_never_loses_the_data(
    cli, tmp_path: Path, shared_sandbox: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.awsfakes import boto_client

    def secrets() -> dict[str, str]:
        ssm = boto_client(shared_sandbox, "ssm")
        found = ssm.get_parameters_by_path(Path="/geusemaker/kept/", WithDecryption=True)["Parameters"]
        return {p["Name"]: p["Value"] for p in found}

    before = count_resources(shared_sandbox)
    config = _config(tmp_path, "kept", "storage:\n  data: ebs\n  ebs_gb: 20\n")
    assert cli("--sandbox", "deploy", "-c", config, "--yes").code == 0
    assert cli("--sandbox", "destroy", "kept", "--yes").code == 0
    kept, values = tagged_resources(shared_sandbox, "kept"), secrets()
    faults = Faults().install(monkeypatch)
    assert cli("--sandbox", "deploy", "-c", config, "--yes").code == 0
    calls = faults.mutating_calls()
    operations = {call.split(".")[1] for call, _ in calls}
    assert "AttachVolume" in operations and not {"CreateVolume", "PutParameter"} & operations, "reused, not created"
    assert cli("--sandbox", "destroy", "kept", "--yes").code == 0
    assert tagged_resources(shared_sandbox, "kept") == kept
    for call, occurrence in calls:
        faults.calls.clear()
        faults._seen.clear()
        service = call.split(".")[0]
        faults.fail = {(call, occurrence): (DENIED.get(service, "AccessDeniedException"), f"injected fault in {call}")}
        result = cli("--sandbox", "deploy", "-c", config, "--yes")
        assert result.code != 0 and f"injected fault in {call}" in result.err, (call, result.err)
        assert tagged_resources(shared_sandbox, "kept") == kept, f"after failing {call} #{occurrence}"
        assert secrets() == values, call
        status = json.loads(cli("--sandbox", "status", "kept", "-o", "json").out)
        assert status[0]["status"] == "data-kept", (call, status)
    faults.fail = {}
    assert cli("--sandbox", "destroy", "kept", "--yes", "--delete-data").code == 0
    assert count_resources(shared_sandbox) == before


def test_a_start_failing_at_each_call_leaves_the_stack_stopped_with_its_data(
    cli, tmp_path: Path, shared_sandbox: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = count_resources(shared_sandbox)
    assert cli("--sandbox", "deploy", "-c", _config(tmp_path, "resume", "storage:\n  data: ebs\n"), "--yes").code == 0
    assert cli("--sandbox", "stop", "resume").code == 0
    stopped, counted = tagged_resources(shared_sandbox, "resume"), count_resources(shared_sandbox)
    faults = Faults().install(monkeypatch)
    assert cli("--sandbox", "start", "resume").code == 0
    calls = faults.mutating_calls()
    assert {"CreateFleet", "AttachVolume"} <= {call.split(".")[1] for call, _ in calls}
    assert cli("--sandbox", "stop", "resume").code == 0
    for call, occurrence in calls:
        faults.calls.clear()
        faults._seen.clear()
        service = call.split(".")[0]
        faults.fail = {(call, occurrence): (DENIED.get(service, "AccessDeniedException"), f"injected fault in {call}")}
        result = cli("--sandbox", "start", "resume")
        assert result.code != 0 and f"injected fault in {call}" in result.err, (call, result.err)
        assert "Traceback" not in result.err and "bug" not in result.err, result.err
        assert tagged_resources(shared_sandbox, "resume") == stopped, f"after failing {call} #{occurrence}"
        assert count_resources(shared_sandbox) == counted, call
        assert json.loads(cli("--sandbox", "status", "resume", "-o", "json").out)[0]["status"] == "stopped"
    faults.fail = {}
    assert cli("--sandbox", "destroy", "resume", "--yes", "--delete-data").code == 0
    assert count_resources(shared_sandbox) == before
