"""Region names, the AWS CLI's region order and opt-in regions, through the CLI against the sandbox."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from geusemaker.models.regions import OPT_IN_REGIONS
from tests.awsfakes import boto_client
from tests.conftest import run_cli

T4 = "name: regions\ncompute:\n  gpu: t4\nstorage:\n  data: none\n"


def _write(tmp_path: Path, text: str, name: str = "stack.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _no_bug(text: str) -> None:
    assert "bug" not in text and "Traceback" not in text, text


@pytest.mark.parametrize(
    ("region", "suggestion"), [("us-east-9", "did you mean us-east-2"), ("eu-wset-1", "did you mean eu-west-1")]
)
def test_unknown_region_is_refused_when_the_config_is_validated(cli, tmp_path: Path, region: str, suggestion: str):  # type: ignore[no-untyped-def]
    result = cli("config", "validate", _write(tmp_path, f"name: s\nregion: {region}\n"))
    assert result.code == 2
    assert f"'{region}' is not an AWS region" in result.err and suggestion in result.err
    _no_bug(result.text)


@pytest.mark.parametrize(
    "args",
    [
        ["--region", "us-east-\u0661", "cost", "-c", "{config}"],
        ["cost", "-c", "{config}", "--region", "us-east-1;rm"],
        ["--region", "", "cost", "-c", "{config}"],
        ["deploy", "-c", "{config}", "--dry-run", "--region", "eu-west-\uff11"],
        ["list", "--discover", "--region", "zz-top-9"],
        ["destroy", "gone", "--discover", "--yes", "--delete-data", "--region", "x" * 5000],
        ["gpus", "--region", "\u0661"],
    ],
)
def test_junk_region_option_is_a_clear_usage_error(cli, tmp_path: Path, args: list[str]) -> None:  # type: ignore[no-untyped-def]
    config = _write(tmp_path, T4)
    result = cli("--sandbox", *[a.replace("{config}", config) for a in args])
    assert result.code == 2, result.text
    assert "is not an AWS region" in result.err
    _no_bug(result.text)


def test_region_option_after_the_subcommand(cli, shared_sandbox: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("--sandbox", "cost", "-c", _write(tmp_path, T4), "--region", "us-west-2", "-o", "json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["placement"]["region"] == "us-west-2"


def test_region_option_never_contradicts_the_config(cli, shared_sandbox: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pinned = _write(tmp_path, T4 + "region: eu-west-1\n")
    refused = cli("--sandbox", "cost", "-c", pinned, "--region", "us-west-2", "-o", "json")
    assert refused.code == 2 and "region eu-west-1" in refused.err and "--region says us-west-2" in refused.err
    agreed = cli("--sandbox", "cost", "-c", pinned, "--region", "eu-west-1", "-o", "json")
    assert agreed.code == 0, agreed.err
    assert json.loads(agreed.out)["placement"]["region"] == "eu-west-1"


def test_environment_region_comes_before_search(cli, shared_sandbox: str, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    result = cli("--sandbox", "deploy", "-c", _write(tmp_path, T4), "--dry-run", "-o", "json")
    assert result.code == 0, result.err
    plan = json.loads(result.out)
    assert plan["placement"]["region"] == "eu-west-1" and plan["regions_considered"] == ["eu-west-1"]
    monkeypatch.delenv("AWS_REGION")
    plan = json.loads(cli("--sandbox", "deploy", "-c", _write(tmp_path, T4), "--dry-run", "-o", "json").out)
    assert plan["regions_considered"] == ["us-east-1"], "no search without region: auto"


def test_region_order_ends_with_the_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from geusemaker.cli.context import AppContext

    aws_config = tmp_path / "aws-config"
    aws_config.write_text("[default]\nregion = eu-west-2\n[profile work]\nregion = ap-south-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(aws_config))
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    assert AppContext().stack_region(None) == "eu-west-2"
    assert AppContext(profile="work").stack_region(None) == "ap-south-1"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-1")
    assert AppContext().stack_region(None) == "us-west-1"
    monkeypatch.setenv("AWS_REGION", "us-east-2")
    assert AppContext().stack_region(None) == "us-east-2"
    assert AppContext().stack_region("ca-central-1") == "ca-central-1"
    assert AppContext(region="sa-east-1").stack_region(None) == "sa-east-1"
    assert AppContext(region="ca-central-1").stack_region("ca-central-1") == "ca-central-1"
    assert AppContext().stack_region("auto") == "auto"


def test_no_region_anywhere_is_a_clear_error(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "missing"))
    result = cli("cost", "-c", _write(tmp_path, T4))
    assert result.code == 2
    assert "no AWS region" in result.err and "region: auto" in result.err
    _no_bug(result.text)


def test_gpus_lists_the_global_region(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("--region", "us-west-2", "gpus", "--gpu", "a10g", "-o", "json")
    assert result.code == 0
    assert {row["region"] for row in json.loads(result.out)} == {"us-west-2"}


def test_destroy_discover_in_every_region(cli, shared_sandbox: str) -> None:  # type: ignore[no-untyped-def]
    result = cli("--sandbox", "destroy", "never-deployed", "--discover", "--region", "all", "--yes", "--delete-data")
    assert result.code in (0, 2), result.text
    assert "KeyError" not in result.text
    _no_bug(result.text)


# -- opt-in regions -------------------------------------------------------------------------


def test_region_auto_skips_opt_in_regions_the_account_has_not_enabled(cli, shared_sandbox: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    result = cli("--sandbox", "deploy", "-c", _write(tmp_path, T4 + "region: auto\n"), "--dry-run", "-o", "json")
    assert result.code == 0, result.err
    plan = json.loads(result.out)
    assert plan["placement"]["region"] not in OPT_IN_REGIONS
    assert not set(plan["regions_considered"]) & set(OPT_IN_REGIONS)
    assert {"af-south-1", "ap-east-1", "me-south-1", "eu-south-1"} <= set(plan["regions_not_enabled"])
    assert any("aws account enable-region --region-name" in note for note in plan["notes"])


def test_a_named_opt_in_region_that_is_not_enabled_says_how_to_enable_it(cli, shared_sandbox: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    result = cli("--sandbox", "cost", "-c", _write(tmp_path, T4 + "region: af-south-1\n"))
    assert result.code == 3, result.text
    assert "af-south-1 is an opt-in region" in result.err
    assert "aws account enable-region --region-name af-south-1" in result.err
    assert "credentials" not in result.err


@pytest.fixture(scope="module")
def custom_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A sandbox with ap-east-1 enabled and room for 8-GPU P instances."""
    home = tmp_path_factory.mktemp("custom-sandbox")
    env = {"GEUSEMAKER_HOME": str(home)}
    args = ["--enable-region", "ap-east-1", "--quota", "L-417A185B=2000", "--quota", "L-7212CCBC=2000"]
    started = run_cli("sandbox", "start", *args, env=env)
    assert started.code == 0, started.err
    yield home
    run_cli("sandbox", "stop", env=env)


@pytest.fixture
def custom(custom_sandbox: Path, gm_home: Path) -> Path:
    gm_home.mkdir(parents=True, exist_ok=True)
    shutil.copy(custom_sandbox / "sandbox.json", gm_home / "sandbox.json")
    return gm_home


def test_sandbox_models_opt_in_status(custom: Path) -> None:
    endpoint = json.loads((custom / "sandbox.json").read_text())["endpoint"]
    regions = boto_client(endpoint, "ec2").describe_regions(AllRegions=True)["Regions"]
    status = {r["RegionName"]: r["OptInStatus"] for r in regions}
    assert status["ap-east-1"] == "opted-in" and status["af-south-1"] == "not-opted-in"
    assert status["us-east-1"] == "opt-in-not-required" and status["eu-south-1"] == "not-opted-in"
    boto_client(endpoint, "ec2", "ap-east-1").describe_availability_zones()
    with pytest.raises(Exception, match="AuthFailure"):
        boto_client(endpoint, "ec2", "af-south-1").describe_availability_zones()


def test_an_enabled_opt_in_region_is_searched_and_can_be_named(cli, custom: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    auto = cli("--sandbox", "deploy", "-c", _write(tmp_path, T4 + "region: auto\n"), "--dry-run", "-o", "json")
    assert auto.code == 0, auto.err
    plan = json.loads(auto.out)
    assert "ap-east-1" not in plan["regions_not_enabled"] and "af-south-1" in plan["regions_not_enabled"]
    named = cli("--sandbox", "cost", "-c", _write(tmp_path, T4 + "region: ap-east-1\n"), "-o", "json")
    assert named.code == 0, named.err
    assert json.loads(named.out)["placement"]["region"] == "ap-east-1"


# -- budget: an unknown price never passes max_hourly_usd -------------------------------------

H200 = "name: big\nregion: auto\ncompute:\n  gpu: h200\n  gpu_count: 8\n  market: on-demand\n  max_hourly_usd: 50\n"


def test_unknown_price_is_not_chosen_under_a_budget(cli, custom: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("--sandbox", "cost", "-c", _write(tmp_path, H200), "-o", "json")
    assert result.code == 3, result.out
    assert "max_hourly_usd" in result.err and "allow_unknown_price" in result.err
    allowed = cli("--sandbox", "deploy", "-c", _write(tmp_path, H200 + "  allow_unknown_price: true\n"), "--dry-run")
    assert allowed.code == 0, allowed.err
    assert "p5e.48xlarge" in allowed.out and "price unknown" in allowed.out


# -- catalog: current NVIDIA families plan with "price unknown", never "no GPU" ----------------


@pytest.mark.parametrize("itype", ["p6-b300.48xlarge", "p6-b200.48xlarge"])
def test_a_current_family_without_a_snapshot_price_plans_with_price_unknown(  # type: ignore[no-untyped-def]
    cli, custom: Path, tmp_path: Path, itype: str
) -> None:
    text = f"name: big\nregion: us-east-1\ncompute:\n  instance_type: {itype}\n  market: on-demand\n"
    config = _write(tmp_path, text)
    result = cli("--sandbox", "deploy", "-c", config, "--dry-run")
    assert result.code == 0, result.err
    assert "price unknown" in result.out and "8 x" in result.out
    assert "no NVIDIA GPU" not in result.text and "no GPU" not in result.text


@pytest.mark.parametrize("variable", ["AWS_REGION", "AWS_DEFAULT_REGION"])
def test_junk_region_in_the_environment_is_a_clear_usage_error(  # type: ignore[no-untyped-def]
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, "eu-west-\u0661")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "missing"))
    planned = cli("cost", "-c", _write(tmp_path, T4))
    assert planned.code == 2 and variable in planned.err and "is not an AWS region" in planned.err
    _no_bug(planned.text)
    if variable == "AWS_DEFAULT_REGION":  # what boto3 itself reads, e.g. for discovery
        discovered = cli("list", "--discover")
        assert discovered.code == 2 and "is not an AWS region" in discovered.err
        _no_bug(discovered.text)


def test_region_words_after_the_subcommand(cli, shared_sandbox: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = _write(tmp_path, T4)
    everywhere = cli("--sandbox", "cost", "-c", config, "--region", "all")
    assert everywhere.code == 2 and "only applies to discovery" in everywhere.err
    searched = cli("--sandbox", "deploy", "-c", config, "--dry-run", "--region", "auto", "-o", "json")
    assert searched.code == 0, searched.err
    assert len(json.loads(searched.out)["regions_considered"]) > 1


@pytest.mark.parametrize(("region", "fragment"), [("mars-1", "is not an AWS region"), ("us-east-1", "every account")])
def test_sandbox_enable_region_takes_only_opt_in_regions(region: str, fragment: str) -> None:
    result = run_cli("sandbox", "start", "--enable-region", region)
    assert result.code == 2 and fragment in result.err
    assert json.loads(run_cli("sandbox", "status", "-o", "json").out)["running"] is False
