"""The sandbox through its real HTTP endpoint: start/stop/status and what it seeds."""

from __future__ import annotations

import json

import boto3
import pytest

from geusemaker.catalog import load_catalog
from geusemaker.models.ami import (
    CANONICAL_OWNER,
    DLAMI_OWNER,
    dlami_name_prefix,
    dlami_parameter,
    ubuntu_parameter,
)
from geusemaker.models.regions import OPT_IN_REGIONS
from geusemaker.sandbox.seed import EC2_VCPU_QUOTAS
from tests.conftest import run_cli


def _client(endpoint: str, service: str, region: str = "us-east-1"):  # type: ignore[no-untyped-def]
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def test_start_status_stop_through_the_cli() -> None:
    assert json.loads(run_cli("sandbox", "status", "-o", "json").out) == {
        "running": False,
        "endpoint": None,
        "pid": None,
        "enabled_regions": [],
    }
    started = run_cli("sandbox", "start", "-o", "json")
    assert started.code == 0, started.err
    info = json.loads(started.out)
    try:
        assert info["running"] is True and info["endpoint"].startswith("http://127.0.0.1:") and info["pid"] > 0
        assert json.loads(run_cli("sandbox", "status", "-o", "json").out) == info
        again = json.loads(run_cli("sandbox", "start", "-o", "json").out)
        assert again["pid"] == info["pid"], "a second start re-uses the running sandbox"
        account = _client(info["endpoint"], "sts").get_caller_identity()["Account"]
        assert account == "123456789012"
    finally:
        stopped = run_cli("sandbox", "stop")
    assert stopped.code == 0
    assert json.loads(run_cli("sandbox", "status", "-o", "json").out)["running"] is False
    from geusemaker.sandbox.control import _pid_alive

    assert not _pid_alive(info["pid"]), "stopped (an exited process not yet reaped counts as stopped)"


def test_quota_override_and_restart() -> None:
    started = run_cli("sandbox", "start", "--quota", "L-DB2E81BA=0", "--quota", "L-3819A6DF=8", "-o", "json")
    assert started.code == 0, started.err
    endpoint = json.loads(started.out)["endpoint"]
    try:
        quotas = _client(endpoint, "service-quotas", "eu-west-1")
        assert quotas.get_service_quota(ServiceCode="ec2", QuotaCode="L-DB2E81BA")["Quota"]["Value"] == 0
        assert quotas.get_service_quota(ServiceCode="ec2", QuotaCode="L-3819A6DF")["Quota"]["Value"] == 8
        assert quotas.get_service_quota(ServiceCode="ec2", QuotaCode="L-417A185B")["Quota"]["Value"] == 64
        clash = run_cli("sandbox", "start", "--quota", "L-DB2E81BA=4")
        assert clash.code == 1 and "already running with other quotas" in clash.err
    finally:
        run_cli("sandbox", "stop")


@pytest.mark.parametrize("bad", ["L-DB2E81BA", "L-NOPE=3", "L-DB2E81BA=many", "L-DB2E81BA=-1"])
def test_bad_quota_flag_exits_2(bad: str) -> None:
    result = run_cli("sandbox", "start", "--quota", bad)
    assert result.code == 2
    assert "--quota" in result.err and "Traceback" not in result.err


def test_every_snapshot_region_has_dlami_parameters_and_images(sandbox_endpoint: str) -> None:
    for region in load_catalog().regions():
        if region in OPT_IN_REGIONS:
            continue  # disabled in the default sandbox account (see test_opt_in_regions_...)
        ssm = _client(sandbox_endpoint, "ssm", region)
        ec2 = _client(sandbox_endpoint, "ec2", region)
        names = [
            dlami_parameter(arch, release)  # type: ignore[arg-type]
            for arch in ("x86_64", "arm64")
            for release in ("22.04", "24.04")
        ]
        names += [ubuntu_parameter("x86_64", "24.04"), ubuntu_parameter("arm64", "22.04")]
        found = ssm.get_parameters(Names=names)
        assert not found["InvalidParameters"], region
        by_name = {p["Name"]: p["Value"] for p in found["Parameters"]}
        images = {i["ImageId"]: i for i in ec2.describe_images(ImageIds=list(by_name.values()))["Images"]}
        for name, image_id in by_name.items():
            image = images[image_id]
            arch = "arm64" if "/arm64/" in name else "x86_64"
            assert image["Architecture"] == arch
            owner = DLAMI_OWNER if "deeplearning" in name else CANONICAL_OWNER
            assert image["OwnerId"] == owner


def test_dlami_images_are_found_by_owner_and_name(sandbox_endpoint: str) -> None:
    ec2 = _client(sandbox_endpoint, "ec2", "ap-south-1")
    prefix = dlami_name_prefix("x86_64", "22.04")
    images = ec2.describe_images(Owners=["amazon"], Filters=[{"Name": "name", "Values": [f"{prefix}*"]}])["Images"]
    assert len(images) == 2
    newest = max(images, key=lambda image: image["CreationDate"])
    parameter = _client(sandbox_endpoint, "ssm", "ap-south-1").get_parameter(Name=dlami_parameter("x86_64", "22.04"))
    assert parameter["Parameter"]["Value"] == newest["ImageId"]


def test_all_vcpu_quotas_are_listed(sandbox_endpoint: str) -> None:
    quotas = _client(sandbox_endpoint, "service-quotas", "us-west-2").list_service_quotas(ServiceCode="ec2")["Quotas"]
    assert {q["QuotaCode"]: q["QuotaName"] for q in quotas} == EC2_VCPU_QUOTAS
    assert {q["Value"] for q in quotas} == {64.0}


def test_spot_placement_scores_are_served(sandbox_endpoint: str) -> None:
    ec2 = _client(sandbox_endpoint, "ec2", "us-east-1")
    scores = ec2.get_spot_placement_scores(
        InstanceTypes=["g5.xlarge"], TargetCapacity=1, SingleAvailabilityZone=True, RegionNames=["us-east-1"]
    )["SpotPlacementScores"]
    assert scores and all(1 <= s["Score"] <= 10 and s["AvailabilityZoneId"].startswith("use1-az") for s in scores)
    again = ec2.get_spot_placement_scores(
        InstanceTypes=["g5.xlarge"], TargetCapacity=1, SingleAvailabilityZone=True, RegionNames=["us-east-1"]
    )["SpotPlacementScores"]
    assert again == scores, "scores are stable"


def test_global_sandbox_flag_builds_clients_for_the_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    from geusemaker.cli.context import AppContext
    from geusemaker.sandbox import control

    try:
        clients = AppContext(sandbox=True).aws("eu-central-1")
        assert clients.target.sandbox and clients.default_region == "eu-central-1"
        assert clients.account_id() == "123456789012"
        assert control.status().running
    finally:
        control.stop()


def test_sandbox_without_moto_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from geusemaker.errors import SandboxError
    from geusemaker.sandbox import control

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "moto" else real(name, *a))
    with pytest.raises(SandboxError) as caught:
        control.start()
    assert "geusemaker[sandbox]" in (caught.value.hint or "")
