"""Valid configurations: defaults, normalisation, examples, round trips, and the config commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from geusemaker.config_io import dump_config, load_config, parse_config
from geusemaker.models.config import ALL_SERVICES, DeploymentConfig
from tests.conftest import ROOT


def test_defaults_of_the_smallest_config() -> None:
    config = parse_config("name: s\n")
    assert config.region is None, "no region: --region, AWS_REGION, AWS_DEFAULT_REGION or the profile decide"
    assert config.tier == "gpu"
    assert config.gpu == "T4"
    assert config.compute.gpu_count == 1
    assert config.compute.market == "spot-or-on-demand"
    assert config.storage.root_gb == 100
    assert config.storage.data == "ebs" and config.storage.data_volume_gb == 100
    assert config.services == list(ALL_SERVICES)
    assert config.access.mode == "ssm"
    assert config.lifecycle.idle_stop_minutes == 60
    assert config.lifecycle.max_runtime_hours == 0
    assert config.instance_type is None


@pytest.mark.parametrize("alias", ["a10g", "A10G", "nvidia-a10g", "NVIDIA-A10G", "Nvidia A10G", " a10 "])
def test_gpu_aliases_are_case_insensitive_with_nvidia_prefix(alias: str) -> None:
    config = parse_config(f"name: s\ncompute:\n  gpu: '{alias}'\n")
    assert config.gpu == "A10G"


def test_services_keep_a_canonical_order_and_cidrs_are_normalised() -> None:
    config = parse_config(
        "name: s\nservices: [postgres, ollama, n8n]\naccess:\n  mode: cidr\n"
        "  allowed_cidrs: [203.0.113.0/24, '2001:DB8:0::/48']\n"
    )
    assert config.services == ["ollama", "n8n", "postgres"]
    assert config.access.allowed_cidrs == ["203.0.113.0/24", "2001:db8::/48"]


def test_cpu_tier_defaults_to_a_cpu_instance_type() -> None:
    config = parse_config("name: s\ntier: cpu\nservices: [ollama]\n")
    assert config.gpu is None
    assert config.instance_type == "m7i.xlarge"


def test_explicit_instance_type_is_lowercased() -> None:
    config = parse_config("name: s\ncompute:\n  instance_type: G5.XLarge\n")
    assert config.instance_type == "g5.xlarge"
    assert config.gpu is None


def test_ebs_data_volume_size_defaults_to_100() -> None:
    assert parse_config("name: s\nstorage:\n  data: ebs\n").storage.data_volume_gb == 100
    assert parse_config("name: s\nstorage:\n  data: ebs\n  ebs_gb: 30\n").storage.data_volume_gb == 30


@pytest.mark.parametrize("path", sorted((ROOT / "examples").glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_is_valid(path: Path) -> None:
    config = load_config(path)
    assert config.name


def test_json_config_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "stack.json"
    path.write_text(json.dumps({"name": "j", "region": "eu-west-1", "compute": {"gpu": "l4", "gpu_count": 4}}))
    config = load_config(path)
    assert (config.region, config.gpu, config.compute.gpu_count) == ("eu-west-1", "L4", 4)


names = st.from_regex(r"[a-z]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)


@settings(max_examples=60, deadline=None)
@given(
    name=names,
    gpu=st.sampled_from(["t4", "a10g", "l4", "l40s", "h100"]),
    count=st.integers(1, 8),
    market=st.sampled_from(["spot", "spot-or-on-demand", "on-demand"]),
    services=st.sets(st.sampled_from(["qdrant", "crawl4ai", "postgres"])),
    data=st.sampled_from(["efs", "ebs", "none"]),
    idle=st.sampled_from([0, 10, 60, 600]),
)
def test_dump_then_load_round_trips(name, gpu, count, market, services, data, idle) -> None:  # type: ignore[no-untyped-def]
    config = DeploymentConfig.model_validate(
        {
            "name": name,
            "compute": {"gpu": gpu, "gpu_count": count, "market": market},
            "services": ["ollama", *sorted(services)],
            "storage": {"data": data},
            "lifecycle": {"idle_stop_minutes": idle},
        }
    )
    assert parse_config(dump_config(config)) == config


def test_config_init_writes_the_commented_example(cli, tmp_path: Path) -> None:
    target = tmp_path / "stack.yaml"
    result = cli("config", "init", str(target))
    assert result.code == 0
    text = target.read_text()
    assert text.startswith("# GeuseMaker stack configuration.")
    assert load_config(target).name == "my-llm"
    again = cli("config", "init", str(target))
    assert again.code == 2
    assert "already exists" in again.err
    assert cli("config", "init", str(target), "--force").code == 0


def test_config_init_to_stdout(cli) -> None:
    result = cli("config", "init", "-")
    assert result.code == 0
    assert yaml.safe_load(result.out)["name"] == "my-llm"


def test_config_schema_is_the_model_schema(cli) -> None:
    result = cli("config", "schema")
    assert result.code == 0
    schema = json.loads(result.out)
    assert schema == json.loads(json.dumps(DeploymentConfig.model_json_schema()))
    assert schema["required"] == ["name"]
    assert schema["additionalProperties"] is False


def test_config_schema_validates_the_examples(cli) -> None:
    import jsonschema

    schema = json.loads(cli("config", "schema").out)
    for path in (ROOT / "examples").glob("*.yaml"):
        jsonschema.validate(yaml.safe_load(path.read_text()), schema)


def test_config_validate_reports_the_resolved_instance_type(cli, tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("name: s\ncompute:\n  gpu: l4\n  gpu_count: 4\n")
    result = cli("config", "validate", str(path))
    assert result.code == 0
    assert "4 x L4 (smallest: g6.12xlarge)" in result.err
    as_json = cli("config", "validate", str(path), "--output", "json")
    assert json.loads(as_json.out)["config"]["compute"]["gpu"] == "L4"
