"""A stack replaces itself after a spot interruption, on AWS's machinery (an Auto Scaling group of one).

Through the CLI against the sandbox: `sandbox interrupt` terminates the instance as AWS would, moto's
group launches the replacement by itself, and `status --refresh` tells the story.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.awsfakes import Faults, boto_client, count_resources, stack_secrets, tagged_resources

EBS = "storage:\n  data: ebs\n  ebs_gb: 30\n"


def _config(tmp_path: Path, name: str, extra: str = "", market: str = "spot-or-on-demand") -> str:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"name: {name}\nregion: us-east-1\ncompute:\n  gpu: t4\n  market: {market}\n{extra}")
    return str(path)


def _groups(endpoint: str, name: str) -> dict[str, dict[str, Any]]:
    autoscaling: Any = boto_client(endpoint, "autoscaling")
    groups = autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"]
    return {g["AutoScalingGroupName"]: g for g in groups if g["AutoScalingGroupName"].startswith(f"gm-{name}-")}


def _alarms(endpoint: str, name: str) -> list[dict[str, Any]]:
    cloudwatch: Any = boto_client(endpoint, "cloudwatch")
    return list(cloudwatch.describe_alarms(AlarmNamePrefix=f"gm-{name}-")["MetricAlarms"])


def _status(cli, name: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    result = cli("--sandbox", "status", name, "--refresh", "-o", "json")
    assert result.code == 0, result.err
    return dict(json.loads(result.out)[0])


def _assert_fires_only_on_a_missing_instance(alarm: dict[str, Any], group: dict[str, Any]) -> None:
    """Desired minus in service >= 1 for 10 of 10 minutes: a group scaled to zero (desired 0) cannot breach."""
    assert {(m["Metric"], m["Granularity"]) for m in group["EnabledMetrics"]} >= {
        ("GroupDesiredCapacity", "1Minute"),
        ("GroupInServiceInstances", "1Minute"),
    }
    metrics = {m["Id"]: m for m in alarm["Metrics"]}
    (returned,) = [m for m in alarm["Metrics"] if m["ReturnData"]]
    assert returned["Expression"] == "desired - inservice"
    stats = {
        i: (m["MetricStat"]["Metric"]["MetricName"], m["MetricStat"]["Period"], m["MetricStat"]["Metric"]["Dimensions"])
        for i, m in metrics.items()
        if "MetricStat" in m
    }
    dimensions = [{"Name": "AutoScalingGroupName", "Value": group["AutoScalingGroupName"]}]
    assert stats == {
        "desired": ("GroupDesiredCapacity", 60, dimensions),
        "inservice": ("GroupInServiceInstances", 60, dimensions),
    }
    assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (10, 10)
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanOrEqualToThreshold", 1.0)
    assert alarm["TreatMissingData"] == "notBreaching"
    assert "MetricName" not in alarm or not alarm["MetricName"], "no alarm on the in-service count alone"


def _stored_plan(name: str) -> dict[str, Any]:
    from geusemaker.cli.session import open_store

    store = open_store()
    try:
        record = store.get(name)
        assert record is not None and record.plan is not None
        return dict(record.plan)
    finally:
        store.close()


def _assert_the_state_holds_the_plan_of_the_start(deployed_at: float, instance: str) -> None:
    """The start's plan replaced the deploy's: the group's replacements are priced from what the start planned."""
    from geusemaker.cli.session import open_store
    from geusemaker.models.replacement import planned_price
    from geusemaker.orchestration.reconcile import _shapes

    plan = _stored_plan("dozer")
    assert plan["planned_at"] > deployed_at, "the start's plan, not the deploy's"
    store = open_store()
    try:
        record = store.get("dozer")
        assert record is not None and record.facts["instance_id"] == instance
        facts = record.facts
        price = planned_price(_shapes(record), facts["availability_zone"], facts["market"], facts["instance_type"])
        assert (
            price is not None
            and price == plan["placement"]["instance_hourly_usd"] + plan["placement"]["extras_hourly_usd"]
        )
    finally:
        store.close()


def _data_volume(endpoint: str, name: str) -> str:
    return next(i.split()[1] for i in tagged_resources(endpoint, name) if i.startswith("data-volume "))


def test_an_interrupted_spot_stack_is_replaced_with_the_same_data_andstack_secrets(
    cli, tmp_path: Path, shared_sandbox: str
) -> None:
    before = count_resources(shared_sandbox)
    config = _config(tmp_path, "phoenix", EBS, market="spot")
    deployed = cli("--sandbox", "deploy", "-c", config, "--yes", "-o", "json")
    assert deployed.code == 0, deployed.err
    first = json.loads(deployed.out)
    plan = json.loads(cli("--sandbox", "status", "phoenix", "-o", "json").out)[0]
    secrets, volume = stack_secrets(shared_sandbox, "phoenix"), _data_volume(shared_sandbox, "phoenix")

    groups = _groups(shared_sandbox, "phoenix")
    assert len(groups) == 1, "spot only: no on-demand fallback group"
    group = next(iter(groups.values()))
    assert group["AvailabilityZones"] == [first["availability_zone"]], "the data volume's zone only"
    assert group["CapacityRebalance"] is True
    assert (group["MinSize"], group["MaxSize"], group["DesiredCapacity"]) == (0, 1, 1)
    assert [i["InstanceId"] for i in group["Instances"]] == [first["instance_id"]], "the launched instance, attached"
    policy = group["MixedInstancesPolicy"]
    assert first["instance_type"] in [o["InstanceType"] for o in policy["LaunchTemplate"]["Overrides"]]
    assert policy["InstancesDistribution"]["OnDemandPercentageAboveBaseCapacity"] == 0
    assert policy["InstancesDistribution"]["SpotAllocationStrategy"] == "price-capacity-optimized"
    tags = {t["Key"]: t for t in group["Tags"]}
    assert tags["geusemaker:stack-id"]["PropagateAtLaunch"] is True, "replacements carry the stack id"
    assert _alarms(shared_sandbox, "phoenix") == []

    interrupted = cli("--sandbox", "sandbox", "interrupt", "phoenix")
    assert interrupted.code == 0, interrupted.err
    assert first["instance_id"] in interrupted.err
    status = _status(cli, "phoenix")
    assert status["status"] == "running" and status["instance_id"] not in (None, first["instance_id"])
    events = [(e["event"], e.get("instance_id")) for e in status["events"]]
    assert events == [
        ("launched", first["instance_id"]),
        ("interrupted", first["instance_id"]),
        ("replaced", status["instance_id"]),
    ], events
    assert all(isinstance(e["at"], float) for e in status["events"])
    replaced = status["events"][-1]
    assert replaced["instance_type"] == status["instance_type"] and replaced["market"] == "spot"
    assert replaced["hourly_usd"] == plan["hourly_usd"], "priced from the plan's candidates"
    assert _data_volume(shared_sandbox, "phoenix") == volume, "the same data volume"
    assert stack_secrets(shared_sandbox, "phoenix") == secrets, "the same secrets"
    table = cli("--sandbox", "status", "phoenix")
    assert "History:" in table.out and "interrupted" in table.out and "replaced" in table.out, table.out
    assert _status(cli, "phoenix")["events"] == status["events"], "a second refresh records nothing new"

    assert cli("--sandbox", "stop", "phoenix").code == 0
    group = next(iter(_groups(shared_sandbox, "phoenix").values()))
    assert group["DesiredCapacity"] == 0 and group["Instances"] == []
    assert count_resources(shared_sandbox)["instances"] == before["instances"], "nothing runs while stopped"
    started = cli("--sandbox", "start", "phoenix")
    assert started.code == 0, started.err
    status = _status(cli, "phoenix")
    group = next(iter(_groups(shared_sandbox, "phoenix").values()))
    assert [i["InstanceId"] for i in group["Instances"]] == [status["instance_id"]], "attached again"

    kept = cli("--sandbox", "destroy", "phoenix", "--yes")
    assert kept.code == 0, kept.err
    assert tagged_resources(shared_sandbox, "phoenix") == sorted(
        [f"data-volume {volume}", *(f"ssm-parameter {n}" for n in secrets)]
    ), "the group goes, the data stays"
    assert _groups(shared_sandbox, "phoenix") == {}
    assert cli("--sandbox", "destroy", "phoenix", "--yes", "--delete-data").code == 0
    assert count_resources(shared_sandbox) == before


def test_no_spot_capacity_moves_the_stack_to_its_on_demand_group(cli, tmp_path: Path, shared_sandbox: str) -> None:
    before = count_resources(shared_sandbox)
    config = _config(tmp_path, "lifeboat", EBS)  # market: spot-or-on-demand (the default)
    deployed = cli("--sandbox", "deploy", "-c", config, "--yes", "-o", "json")
    assert deployed.code == 0, deployed.err
    first = json.loads(deployed.out)
    assert first["market"] == "spot"
    volume = _data_volume(shared_sandbox, "lifeboat")
    groups = _groups(shared_sandbox, "lifeboat")
    assert len(groups) == 2
    spot, fallback = sorted(groups.values(), key=lambda g: len(g["AutoScalingGroupName"]))
    assert fallback["AutoScalingGroupName"] == spot["AutoScalingGroupName"] + "-od"
    assert fallback["DesiredCapacity"] == 0
    assert fallback["MixedInstancesPolicy"]["InstancesDistribution"]["OnDemandPercentageAboveBaseCapacity"] == 100
    assert fallback["AvailabilityZones"] == spot["AvailabilityZones"]
    (alarm,) = _alarms(shared_sandbox, "lifeboat")
    assert alarm["ActionsEnabled"] and len(alarm["AlarmActions"]) == 2
    _assert_fires_only_on_a_missing_instance(alarm, spot)

    assert cli("--sandbox", "stop", "lifeboat").code == 0
    assert not _alarms(shared_sandbox, "lifeboat")[0]["ActionsEnabled"], "a stopped stack never falls back"
    stopped_monthly = _status(cli, "lifeboat")["stopped_monthly_usd"]
    assert cli("--sandbox", "sandbox", "interrupt", "lifeboat").code == 2, "nothing runs"
    assert cli("--sandbox", "start", "lifeboat").code == 0
    assert _alarms(shared_sandbox, "lifeboat")[0]["ActionsEnabled"], "start enables the fallback again"

    interrupted = cli("--sandbox", "sandbox", "interrupt", "lifeboat", "--no-spot-capacity")
    assert interrupted.code == 0, interrupted.err
    groups = _groups(shared_sandbox, "lifeboat")
    spot, fallback = groups[spot["AutoScalingGroupName"]], groups[fallback["AutoScalingGroupName"]]
    assert spot["DesiredCapacity"] == 0 and spot["Instances"] == []
    assert fallback["DesiredCapacity"] == 1 and len(fallback["Instances"]) == 1
    status = _status(cli, "lifeboat")
    assert status["status"] == "running" and status["market"] == "on-demand"
    assert status["instance_id"] == fallback["Instances"][0]["InstanceId"]
    assert [e["event"] for e in status["events"]][-2:] == ["interrupted", "fallback-on-demand"]
    assert status["events"][-1]["hourly_usd"] is not None, "priced from the plan's on-demand candidates"
    assert _data_volume(shared_sandbox, "lifeboat") == volume

    assert cli("--sandbox", "stop", "lifeboat").code == 0
    assert cli("--sandbox", "start", "lifeboat").code == 0, "spot first again"
    spot = _groups(shared_sandbox, "lifeboat")[spot["AutoScalingGroupName"]]
    assert spot["SuspendedProcesses"] == [], "the start lets the spot group launch again"
    assert cli("--sandbox", "sandbox", "interrupt", "lifeboat").code == 0
    replaced = _status(cli, "lifeboat")
    assert replaced["status"] == "running" and replaced["events"][-1]["event"] == "replaced"

    assert cli("--sandbox", "destroy", "lifeboat", "--yes").code == 0
    kept = next(d for d in json.loads(cli("--sandbox", "list", "-o", "json").out) if d["name"] == "lifeboat")
    assert round(stopped_monthly - kept["kept_monthly_usd"], 2) == 0.10, "a stopped stack pays for its alarm"
    assert cli("--sandbox", "destroy", "lifeboat", "--yes", "--delete-data").code == 0
    assert tagged_resources(shared_sandbox, "lifeboat") == []
    assert count_resources(shared_sandbox) == before, "groups, policies and the alarm included"


def test_a_guard_that_scaled_the_group_to_zero_shows_a_stopped_stack_that_starts_again(
    cli, tmp_path: Path, shared_sandbox: str
) -> None:
    before = count_resources(shared_sandbox)
    deployed = cli("--sandbox", "deploy", "-c", _config(tmp_path, "sleeper", EBS, market="spot"), "--yes", "-o", "json")
    assert deployed.code == 0, deployed.err
    instance = json.loads(deployed.out)["instance_id"]
    autoscaling: Any = boto_client(shared_sandbox, "autoscaling")
    # what the guard does on the instance after its drain
    autoscaling.terminate_instance_in_auto_scaling_group(InstanceId=instance, ShouldDecrementDesiredCapacity=True)
    status = _status(cli, "sleeper")
    assert status["status"] == "stopped" and status["instance_id"] is None
    assert "stopped by the idle guard/deadline; data kept" in status["detail"]
    assert status["events"][-1]["event"] == "scaled-to-zero" and status["events"][-1]["instance_id"] == instance
    assert count_resources(shared_sandbox)["instances"] == before["instances"], "nothing replaced it"
    assert cli("--sandbox", "start", "sleeper").code == 0
    status = _status(cli, "sleeper")
    group = next(iter(_groups(shared_sandbox, "sleeper").values()))
    assert status["status"] == "running" and [i["InstanceId"] for i in group["Instances"]] == [status["instance_id"]]
    assert cli("--sandbox", "destroy", "sleeper", "--yes", "--delete-data").code == 0
    assert count_resources(shared_sandbox) == before


def test_a_guard_stop_of_a_stack_with_a_fallback_leaves_an_alarm_that_cannot_fire(
    cli, tmp_path: Path, shared_sandbox: str
) -> None:
    before = count_resources(shared_sandbox)
    deployed = cli("--sandbox", "deploy", "-c", _config(tmp_path, "napper", EBS), "--yes", "-o", "json")
    assert deployed.code == 0, deployed.err
    first = json.loads(deployed.out)
    assert first["market"] == "spot"
    autoscaling: Any = boto_client(shared_sandbox, "autoscaling")
    # what the guard does on the instance after its drain
    autoscaling.terminate_instance_in_auto_scaling_group(
        InstanceId=first["instance_id"], ShouldDecrementDesiredCapacity=True
    )
    groups = _groups(shared_sandbox, "napper")
    spot, fallback = sorted(groups.values(), key=lambda g: len(g["AutoScalingGroupName"]))
    assert (spot["DesiredCapacity"], fallback["DesiredCapacity"]) == (0, 0)
    (alarm,) = _alarms(shared_sandbox, "napper")
    _assert_fires_only_on_a_missing_instance(alarm, spot)
    status = _status(cli, "napper")
    assert status["status"] == "stopped" and status["instance_id"] is None
    assert status["events"][-1]["event"] == "scaled-to-zero"
    assert "fallback-on-demand" not in [e["event"] for e in status["events"]]
    assert cli("--sandbox", "destroy", "napper", "--yes", "--delete-data").code == 0
    assert count_resources(shared_sandbox) == before


def test_start_after_a_guard_stop_needs_no_refresh_and_a_refresh_sees_what_the_groups_launched_since(
    cli, tmp_path: Path, shared_sandbox: str
) -> None:
    before = count_resources(shared_sandbox)
    deployed = cli("--sandbox", "deploy", "-c", _config(tmp_path, "dozer", EBS, market="spot"), "--yes", "-o", "json")
    assert deployed.code == 0, deployed.err
    autoscaling: Any = boto_client(shared_sandbox, "autoscaling")
    first = json.loads(deployed.out)["instance_id"]
    deployed_at = _stored_plan("dozer")["planned_at"]
    autoscaling.terminate_instance_in_auto_scaling_group(InstanceId=first, ShouldDecrementDesiredCapacity=True)
    started = cli("--sandbox", "start", "dozer", "-o", "json")  # no `status --refresh` in between
    assert started.code == 0, started.err
    second = json.loads(started.out)["instance_id"]
    events = [e["event"] for e in _status(cli, "dozer")["events"]]
    assert events == ["launched", "scaled-to-zero", "launched"], "start saw the guard's stop itself"
    _assert_the_state_holds_the_plan_of_the_start(deployed_at, second)

    autoscaling.terminate_instance_in_auto_scaling_group(InstanceId=second, ShouldDecrementDesiredCapacity=True)
    assert _status(cli, "dozer")["status"] == "stopped"
    assert _status(cli, "dozer")["events"][-1]["event"] == "scaled-to-zero", "seen once, not on every refresh"
    (group,) = _groups(shared_sandbox, "dozer")
    autoscaling.set_desired_capacity(AutoScalingGroupName=group, DesiredCapacity=1)  # the group launches one
    third = _groups(shared_sandbox, "dozer")[group]["Instances"][0]["InstanceId"]
    status = _status(cli, "dozer")
    assert status["status"] == "running" and status["instance_id"] == third
    assert status["events"][-1]["event"] == "replaced"
    assert cli("--sandbox", "destroy", "dozer", "--yes", "--delete-data").code == 0
    assert count_resources(shared_sandbox) == before


def test_stop_and_destroy_failing_at_each_group_call_finish_on_a_rerun(
    cli, tmp_path: Path, shared_sandbox: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = count_resources(shared_sandbox)
    assert cli("--sandbox", "deploy", "-c", _config(tmp_path, "stubborn", EBS), "--yes").code == 0
    faults = Faults().install(monkeypatch)
    assert cli("--sandbox", "stop", "stubborn").code == 0
    stop_calls = [c for c in faults.mutating_calls() if c[0].split(".")[0] in ("auto-scaling", "cloudwatch")]
    assert {c.split(".")[1] for c, _ in stop_calls} == {"SetDesiredCapacity", "DisableAlarmActions"}
    assert cli("--sandbox", "start", "stubborn").code == 0
    for call, occurrence in stop_calls:
        faults.calls.clear()
        faults._seen.clear()
        faults.fail = {(call, occurrence): ("AccessDenied", f"injected fault in {call}")}
        failed = cli("--sandbox", "stop", "stubborn")
        assert failed.code == 1 and f"injected fault in {call}" in failed.err, failed.err
        assert "Traceback" not in failed.err and "bug" not in failed.err
        faults.fail = {}
        assert cli("--sandbox", "stop", "stubborn").code == 0, "a rerun finishes the stop"
        assert _status(cli, "stubborn")["status"] == "stopped"
        assert cli("--sandbox", "start", "stubborn").code == 0
    faults.calls.clear()
    faults._seen.clear()
    faults.fail = {("auto-scaling.DeleteAutoScalingGroup", 1): ("AccessDenied", "injected fault")}
    first = cli("--sandbox", "destroy", "stubborn", "--yes", "--delete-data")
    assert first.code == 1 and "autoscaling-group" in first.err, first.err
    assert _status(cli, "stubborn")["status"] == "destroy-incomplete"
    faults.fail = {}
    assert cli("--sandbox", "destroy", "stubborn", "--yes", "--delete-data").code == 0
    assert count_resources(shared_sandbox) == before


def test_an_interruption_the_group_cannot_replace_shows_interrupted_and_start_brings_it_back(
    cli, tmp_path: Path, shared_sandbox: str
) -> None:
    before = count_resources(shared_sandbox)
    config = _config(tmp_path, "stranded", EBS, market="spot")
    deployed = cli("--sandbox", "deploy", "-c", config, "--yes", "-o", "json")
    assert deployed.code == 0, deployed.err
    first = json.loads(deployed.out)["instance_id"]
    (name,) = _groups(shared_sandbox, "stranded")
    autoscaling: Any = boto_client(shared_sandbox, "autoscaling")
    autoscaling.suspend_processes(AutoScalingGroupName=name, ScalingProcesses=["Launch"])  # no spot capacity left
    assert cli("--sandbox", "sandbox", "interrupt", "stranded").code == 0
    status = _status(cli, "stranded")
    assert status["status"] in ("interrupted", "terminated") and status["instance_id"] == first
    assert _groups(shared_sandbox, "stranded")[name]["Instances"] == []
    started = cli("--sandbox", "start", "stranded")
    assert started.code == 0, started.err
    status = _status(cli, "stranded")
    group = _groups(shared_sandbox, "stranded")[name]
    assert status["status"] == "running" and status["instance_id"] != first
    assert (group["DesiredCapacity"], [i["InstanceId"] for i in group["Instances"]]) == (1, [status["instance_id"]])
    assert cli("--sandbox", "destroy", "stranded", "--yes", "--delete-data").code == 0
    assert count_resources(shared_sandbox) == before


def test_a_stop_right_after_an_unseen_replacement_names_the_instance_it_stopped(
    cli, tmp_path: Path, shared_sandbox: str
) -> None:
    config = _config(tmp_path, "unseen", EBS, market="spot")
    deployed = cli("--sandbox", "deploy", "-c", config, "--yes", "-o", "json")
    assert deployed.code == 0, deployed.err
    first = json.loads(deployed.out)["instance_id"]
    assert cli("--sandbox", "sandbox", "interrupt", "unseen").code == 0
    replacement = next(iter(_groups(shared_sandbox, "unseen").values()))["Instances"][0]["InstanceId"]

    stopped = cli("--sandbox", "stop", "unseen")  # no `status --refresh` in between
    assert stopped.code == 0, stopped.err
    events = [(e["event"], e.get("instance_id")) for e in _status(cli, "unseen")["events"]]
    assert events == [
        ("launched", first),
        ("interrupted", first),
        ("replaced", replacement),
        ("stopped", replacement),
    ], events
    assert cli("--sandbox", "destroy", "unseen", "--yes", "--delete-data").code == 0
