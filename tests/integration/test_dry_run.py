"""`deploy --dry-run` and `cost` through the real CLI against the sandbox's HTTP endpoint."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from tests.conftest import ROOT, CliResult, run_cli

T4_US = "name: demo\nregion: us-east-1\ncompute:\n  gpu: t4\n"


def _write(tmp_path: Path, text: str, name: str = "stack.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _shared(sandbox_home: Path, sandbox_endpoint: str, *args: str) -> CliResult:
    assert sandbox_endpoint
    return run_cli("--sandbox", *args, env={"GEUSEMAKER_HOME": str(sandbox_home)})


def _ec2(endpoint: str, region: str = "us-east-1"):  # type: ignore[no-untyped-def]
    return boto3.client(
        "ec2", region_name=region, endpoint_url=endpoint, aws_access_key_id="t", aws_secret_access_key="t"
    )


def test_dry_run_json_has_the_documented_shape_and_creates_nothing(
    tmp_path: Path, sandbox_home: Path, sandbox_endpoint: str
) -> None:
    before = len(_ec2(sandbox_endpoint).describe_vpcs()["Vpcs"])
    result = _shared(sandbox_home, sandbox_endpoint, "deploy", "-c", _write(tmp_path, T4_US), "--dry-run", "-o", "json")
    assert result.code == 0, result.err
    plan = json.loads(result.out)
    assert {"name", "placement", "fallbacks", "cost", "ami", "checks", "steps"} <= set(plan)
    placement = plan["placement"]
    assert {
        "instance_type",
        "region",
        "availability_zone",
        "market",
        "instance_hourly_usd",
        "on_demand_hourly_usd",
    } <= set(placement)
    assert placement["instance_type"] == "g4dn.xlarge" and placement["region"] == "us-east-1"
    assert placement["market"] == "spot" and placement["on_demand_hourly_usd"] == 0.526
    assert placement["instance_hourly_usd"] < placement["on_demand_hourly_usd"]
    assert plan["fallbacks"] and all(
        f["instance_hourly_usd"] >= placement["instance_hourly_usd"] for f in plan["fallbacks"][:3]
    )
    assert plan["fallbacks"][-1]["market"] == "on-demand" or len(plan["fallbacks"]) == 12
    cost = plan["cost"]
    assert {"hourly_usd", "monthly_usd", "spot_savings_pct", "items", "price_source"} <= set(cost)
    assert cost["monthly_usd"] == pytest.approx(cost["hourly_usd"] * 730, abs=0.01)
    assert [item["name"].split(" (")[0] for item in cost["items"]] == [
        "instance",
        "root volume",
        "data volume",
        "public IPv4 address",
    ]
    assert plan["ami"]["source"] == "ssm-parameter" and plan["ami"]["id"].startswith("ami-")
    assert all({"name", "status", "detail"} == set(c) for c in plan["checks"])
    assert [s["id"] for s in plan["steps"]][:2] == ["vpc", "subnet"]
    assert len(_ec2(sandbox_endpoint).describe_vpcs()["Vpcs"]) == before


def test_dry_run_table(tmp_path: Path, sandbox_home: Path, sandbox_endpoint: str) -> None:
    result = _shared(sandbox_home, sandbox_endpoint, "deploy", "-c", _write(tmp_path, T4_US), "--dry-run")
    assert result.code == 0, result.err
    for fragment in (
        "CHOSEN",
        "fallback 1",
        "Cost",
        "public IPv4 address",
        "/month (730 h)",
        "Machine image",
        "Checks",
    ):
        assert fragment in result.out


def test_region_auto_picks_the_cheapest_region(tmp_path: Path, sandbox_home: Path, sandbox_endpoint: str) -> None:
    from geusemaker.catalog import load_catalog
    from geusemaker.models.regions import OPT_IN_REGIONS

    config = _write(
        tmp_path, "name: auto\nregion: auto\ncompute:\n  gpu: a10g\n  market: on-demand\nstorage:\n  data: none\n"
    )
    result = _shared(sandbox_home, sandbox_endpoint, "cost", "-c", config, "-o", "json")
    assert result.code == 0, result.err
    placement = json.loads(result.out)["placement"]
    catalog = load_catalog()
    cheapest = min(
        (p.on_demand_usd_hour, r)
        for r in catalog.regions_for("g5.xlarge")
        if (p := catalog.price("g5.xlarge", r)) and p.on_demand_usd_hour and r not in OPT_IN_REGIONS
    )
    assert (placement["instance_type"], placement["instance_hourly_usd"]) == ("g5.xlarge", cheapest[0])


def test_global_region_never_overrides_the_config(tmp_path: Path, sandbox_home: Path, sandbox_endpoint: str) -> None:
    config = _write(tmp_path, T4_US)
    result = _shared(sandbox_home, sandbox_endpoint, "--region", "eu-west-1", "cost", "-c", config, "-o", "json")
    assert result.code == 2 and "--region says eu-west-1" in result.err, "the config decides where the stack lives"
    unpinned = _write(tmp_path, T4_US.replace("region: us-east-1\n", ""), "unpinned.yaml")
    result = _shared(sandbox_home, sandbox_endpoint, "--region", "eu-west-1", "cost", "-c", unpinned, "-o", "json")
    assert json.loads(result.out)["placement"]["region"] == "eu-west-1"


def test_typo_instance_type_exit_2(tmp_path: Path, sandbox_home: Path, sandbox_endpoint: str) -> None:
    config = _write(tmp_path, "name: s\nregion: us-east-1\ncompute:\n  instance_type: g5.xlarg\n")
    result = _shared(sandbox_home, sandbox_endpoint, "deploy", "-c", config, "--dry-run")
    assert result.code == 2
    assert "Did you mean g5.xlarge" in result.err and "Traceback" not in result.err


def test_budget_too_small_exit_3(tmp_path: Path, sandbox_home: Path, sandbox_endpoint: str) -> None:
    config = _write(tmp_path, T4_US + "  max_hourly_usd: 0.05\n")
    result = _shared(sandbox_home, sandbox_endpoint, "deploy", "-c", config, "--dry-run")
    assert result.code == 3
    assert "max_hourly_usd" in result.err


def test_budget_warning_above_80_percent(tmp_path: Path, sandbox_home: Path, sandbox_endpoint: str) -> None:
    config = _write(tmp_path, T4_US + "  max_hourly_usd: 0.25\n")
    plan = json.loads(_shared(sandbox_home, sandbox_endpoint, "deploy", "-c", config, "--dry-run", "-o", "json").out)
    budget = next(c for c in plan["checks"] if c["name"] == "budget")
    assert budget["status"] == "warn"


def test_zero_quota_exits_3_naming_the_quota_and_the_fix(tmp_path: Path) -> None:
    started = run_cli("sandbox", "start", "--quota", "L-DB2E81BA=0")
    assert started.code == 0, started.err
    try:
        config = _write(tmp_path, T4_US + "  market: on-demand\n")
        result = run_cli("--sandbox", "deploy", "-c", config, "--dry-run")
        assert result.code == 3, result.err
        assert "L-DB2E81BA" in result.err and "is 0" in result.err
        assert (
            "aws service-quotas request-service-quota-increase --service-code ec2 --quota-code L-DB2E81BA" in result.err
        )
        spot = run_cli("--sandbox", "deploy", "-c", _write(tmp_path, T4_US + "  market: spot\n"), "--dry-run")
        assert spot.code == 0, "the spot quota is separate"
    finally:
        run_cli("sandbox", "stop")


def test_quota_partly_used_by_running_instances_is_refused(tmp_path: Path) -> None:
    started = run_cli("sandbox", "start", "--quota", "L-DB2E81BA=8", "-o", "json")
    endpoint = json.loads(started.out)["endpoint"]
    try:
        ec2 = _ec2(endpoint)
        image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        ec2.run_instances(ImageId=image, InstanceType="g4dn.xlarge", MinCount=1, MaxCount=1)
        config = _write(
            tmp_path, "name: s\nregion: us-east-1\ncompute:\n  instance_type: g5.2xlarge\n  market: on-demand\n"
        )
        result = run_cli("--sandbox", "deploy", "-c", config, "--dry-run")
        assert result.code == 3, result.err
        assert "L-DB2E81BA" in result.err and "is 8, 4 in use; 8 more vCPUs are needed" in result.err
        assert "--desired-value 12" in result.err
    finally:
        run_cli("sandbox", "stop")


def test_quota_shortfall_still_shows_the_plan_its_cost_and_every_quota(tmp_path: Path) -> None:
    started = run_cli("sandbox", "start", "--quota", "L-DB2E81BA=0", "--quota", "L-3819A6DF=0")
    assert started.code == 0, started.err
    try:
        config = _write(tmp_path, "name: big\nregion: auto\ncompute:\n  gpu: t4\n  gpu_count: 4\n")
        result = run_cli("--sandbox", "cost", "-c", config, "-o", "json")
        assert result.code == 3, result.err
        document = json.loads(result.out)
        assert document["feasible"] is False and document["placement"]["instance_type"] == "g4dn.12xlarge"
        assert document["cost"]["hourly_usd"] > 1
        increases = document["quota_increases"]
        assert {item["code"] for item in increases} == {"L-DB2E81BA", "L-3819A6DF"}
        assert len({item["region"] for item in increases}) > 6, "every region's quota, not the first six"
        assert all("request-service-quota-increase" in item["command"] for item in increases)
        assert "L-3819A6DF" in result.err
        table = run_cli("--sandbox", "deploy", "-c", config, "--dry-run")
        assert table.code == 3
        for fragment in ("BLOCKED: quota", "Cost", "Blocked by vCPU quota", "--quota-code L-DB2E81BA"):
            assert fragment in table.out, fragment
    finally:
        run_cli("sandbox", "stop")


@pytest.mark.parametrize("example", sorted((ROOT / "examples").glob("*.yaml")), ids=lambda p: p.name)
def test_a_dry_run_of_every_example_runs_the_executor_and_lists_every_create_parameter(
    cli, example: Path, shared_sandbox: str
) -> None:
    from geusemaker.orchestration.kinds import KINDS

    result = cli("--sandbox", "deploy", "-c", str(example), "--dry-run", "-o", "json")
    assert result.code in (0, 3), result.err  # 3: quota-blocked, with the plan that would run
    assert "Traceback" not in result.err
    if result.code == 3:
        return
    plan = json.loads(result.out)
    assert plan["regions"] and plan["regions"][0]["steps"] == plan["steps"]
    for region in plan["regions"]:
        for step in region["steps"]:
            assert KINDS[step["kind"]].create is not None, step["id"]
            assert step["spec"], step["id"]
    specs = {step["id"]: step["spec"] for step in plan["steps"]}
    template = specs["launch-template"]
    assert template["image_id"] == plan["ami"]["id"] and template["root_gb"] > 0
    assert specs["instance"]["launches"][0]["zone"] == plan["placement"]["availability_zone"]
