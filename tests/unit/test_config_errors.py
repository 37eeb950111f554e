"""Malformed configurations: exit code 2, no traceback, the field (and line) named."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import CliResult

# (id, YAML text, text that must appear in the message: the field path and what is wrong)
CASES: list[tuple[str, str, list[str]]] = [
    ("missing-name", "region: us-east-1\n", ["name", "Field required"]),
    ("name-uppercase", "name: MyStack\n", ["name", "MyStack"]),
    ("name-too-long", f"name: {'a' * 41}\n", ["name"]),
    ("name-trailing-dash", "name: stack-\n", ["name", "stack-"]),
    ("name-number", "name: 42\n", ["name", "string"]),
    ("unknown-top-key", "name: s\nregoin: us-east-1\n", ["regoin", "did you mean 'region'", ":2: regoin"]),
    (
        "unknown-nested-key",
        "name: s\ncompute:\n  gpus: t4\n",
        ["compute.gpus", "did you mean 'gpu'", ":3: compute.gpus"],
    ),
    ("bad-region", "name: s\nregion: moon-base-1\n", ["region", "moon-base-1"]),
    ("bad-tier", "name: s\ntier: tpu\n", ["tier", "'gpu' or 'cpu'"]),
    ("unknown-gpu", "name: s\ncompute:\n  gpu: a10x\n", ["compute.gpu", "did you mean 'a10g'"]),
    (
        "gpu-count-zero",
        "name: s\ncompute:\n  gpu: t4\n  gpu_count: 0\n",
        ["compute.gpu_count", "greater than or equal to 1"],
    ),
    (
        "gpu-count-nine",
        "name: s\ncompute:\n  gpu: t4\n  gpu_count: 9\n",
        ["compute.gpu_count", "less than or equal to 8"],
    ),
    ("gpu-count-text", "name: s\ncompute:\n  gpu_count: many\n", ["compute.gpu_count", "integer"]),
    (
        "gpu-and-type",
        "name: s\ncompute:\n  gpu: t4\n  instance_type: g5.xlarge\n",
        ["compute.instance_type", "not both"],
    ),
    (
        "bad-type-shape",
        "name: s\ncompute:\n  instance_type: g5\n",
        ["compute.instance_type", "not an EC2 instance type"],
    ),
    (
        "cpu-type-gpu-tier",
        "name: s\ncompute:\n  instance_type: m5.xlarge\n",
        ["compute.instance_type", "no NVIDIA GPU"],
    ),
    (
        "amd-gpu-type",
        "name: s\ncompute:\n  instance_type: g4ad.xlarge\n",
        ["compute.instance_type", "not supported"],
    ),
    ("gpu-on-cpu-tier", "name: s\ntier: cpu\ncompute:\n  gpu: t4\n", ["compute.gpu", "tier is cpu"]),
    ("bad-market", "name: s\ncompute:\n  market: reserved\n", ["compute.market", "'spot'"]),
    (
        "negative-budget",
        "name: s\ncompute:\n  max_hourly_usd: -1\n",
        ["compute.max_hourly_usd", "greater than 0"],
    ),
    (
        "root-too-small",
        "name: s\nstorage:\n  root_gb: 8\n",
        ["storage.root_gb", "greater than or equal to 50"],
    ),
    ("bad-data", "name: s\nstorage:\n  data: s3\n", ["storage.data", "'efs'"]),
    (
        "ebs-gb-without-a-volume",
        "name: s\nstorage:\n  data: none\n  ebs_gb: 100\n",
        ["storage.ebs_gb", "data: none has none"],
    ),
    ("unknown-service", "name: s\nservices: [ollama, redis]\n", ["services[1]", "redis"]),
    ("duplicate-service", "name: s\nservices: [ollama, ollama]\n", ["services", "more than once"]),
    ("no-ollama-gpu", "name: s\nservices: [qdrant]\n", ["services", "must include ollama"]),
    ("n8n-without-postgres", "name: s\nservices: [ollama, n8n]\n", ["services", "postgres"]),
    ("empty-services", "name: s\nservices: []\n", ["services", "at least 1"]),
    ("bad-model-name", "name: s\nollama:\n  models: ['Llama 3']\n", ["ollama.models", "Llama 3"]),
    ("bad-keep-alive", "name: s\nollama:\n  keep_alive: forever\n", ["ollama.keep_alive", "forever"]),
    ("bad-access-mode", "name: s\naccess:\n  mode: vpn\n", ["access.mode", "'ssm' or 'cidr'"]),
    ("cidr-mode-no-cidrs", "name: s\naccess:\n  mode: cidr\n", ["access.allowed_cidrs", "at least one"]),
    (
        "bad-cidr",
        "name: s\naccess:\n  mode: cidr\n  allowed_cidrs: [10.0.0.300/32]\n",
        ["access.allowed_cidrs", "10.0.0.300"],
    ),
    (
        "cidrs-with-ssm",
        "name: s\naccess:\n  allowed_cidrs: [10.0.0.0/8]\n",
        ["access.allowed_cidrs", "mode: cidr"],
    ),
    (
        "idle-too-short",
        "name: s\nlifecycle:\n  idle_stop_minutes: 3\n",
        ["lifecycle.idle_stop_minutes", "at least 10"],
    ),
    ("negative-runtime", "name: s\nlifecycle:\n  max_runtime_hours: -2\n", ["lifecycle.max_runtime_hours"]),
    ("bad-vpc-id", "name: s\nnetwork:\n  vpc_id: my-vpc\n", ["network.vpc_id", "my-vpc"]),
    (
        "subnet-without-vpc",
        "name: s\nregion: us-east-1\nnetwork:\n  subnet_id: subnet-0123456789abcdef0\n",
        ["network.subnet_id", "needs vpc_id"],
    ),
    (
        "vpc-with-auto-region",
        "name: s\nregion: auto\nnetwork:\n  vpc_id: vpc-0123456789abcdef0\n",
        ["region", "vpc_id", "auto"],
    ),
    (
        "subnet-with-auto-region",
        "name: s\nregion: auto\nnetwork:\n  vpc_id: vpc-0123456789abcdef0\n  subnet_id: subnet-0123456789abcdef0\n",
        ["region", "auto"],
    ),
    ("reserved-tag", "name: s\ntags:\n  'aws:owner': me\n", ["tags", "reserved prefix"]),
    ("tag-not-string", "name: s\ntags:\n  team: [a, b]\n", ["tags.team", "string"]),
    ("services-not-list", "name: s\nservices: ollama\n", ["services", "list"]),
    ("compute-not-mapping", "name: s\ncompute: t4\n", ["compute", "mapping of settings", "t4"]),
    ("not-a-mapping", "- name: s\n", ["mapping", "list"]),
    ("empty-document", "", ["mapping", "empty"]),
    ("yaml-syntax", "name: s\ncompute:\n  gpu: [t4\n", ["not valid YAML", ":4: "]),
    ("json-syntax", '{"name": "s",, }', ["not valid YAML"]),
    (
        "duplicate-key",
        "name: s\nregion: us-east-1\nregion: eu-west-1\n",
        ["region", "more than once", ":3: region"],
    ),
    (
        "gpu-count-with-type",
        "name: s\ncompute:\n  instance_type: g5.xlarge\n  gpu_count: 2\n",
        ["compute.gpu_count", "instance_type"],
    ),
]


@pytest.mark.parametrize(("text", "expected"), [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_config_is_refused_with_the_field_named(cli, tmp_path: Path, text: str, expected: list[str]) -> None:
    path = tmp_path / "stack.yaml"
    path.write_text(text)
    result: CliResult = cli("config", "validate", str(path))
    assert result.code == 2, result.text
    assert "Traceback" not in result.text
    assert result.out == ""
    for fragment in expected:
        assert fragment in result.err, f"{fragment!r} not in:\n{result.err}"


def test_there_are_at_least_thirty_cases() -> None:
    assert len(CASES) >= 30


def test_several_problems_are_all_reported(cli, tmp_path: Path) -> None:
    path = tmp_path / "stack.yaml"
    path.write_text("name: Bad_Name\ntier: tpu\nstorage:\n  root_gb: 1\n")
    result = cli("config", "validate", str(path))
    assert result.code == 2
    assert "3 problems" in result.err
    for field, line in (("name", 1), ("tier", 2), ("storage.root_gb", 4)):
        assert f"{path}:{line}: {field}" in result.err


def test_missing_file_is_a_config_error(cli, tmp_path: Path) -> None:
    result = cli("config", "validate", str(tmp_path / "nope.yaml"))
    assert result.code == 2
    assert "file not found" in result.err


def test_json_file_errors_name_the_line(cli, tmp_path: Path) -> None:
    path = tmp_path / "stack.json"
    path.write_text('{\n  "name": "s",\n  "tier": "tpu"\n}\n')
    result = cli("config", "validate", str(path))
    assert result.code == 2
    assert f"{path}:3: tier" in result.err


def test_subprocess_shows_no_traceback(tmp_path: Path) -> None:
    from tests.conftest import run_cli

    path = tmp_path / "stack.yaml"
    path.write_text("name: s\ncompute:\n  gpu: v100\n")
    result = run_cli("config", "validate", str(path))
    assert result.code == 2
    assert "Traceback" not in result.text
    assert "compute.gpu" in result.err


@pytest.mark.parametrize(
    ("compute", "fragments"),
    [
        ("gpu: v100", ["compute.gpu", "proprietary driver", "P3/P3dn"]),
        ("gpu: v100-32gb", ["compute.gpu", "proprietary driver"]),
        ("instance_type: p3.2xlarge", ["compute.instance_type", "proprietary driver"]),
        ("instance_type: g4nd.xlarge", ["compute.instance_type", "did you mean g4dn.xlarge"]),
        ("instance_type: p4.24xlarge", ["compute.instance_type", "did you mean p4d.24xlarge"]),
        ("instance_type: g6f.large", ["compute.instance_type", "GRID driver"]),
        ("instance_type: g7e.2xlarge", ["compute.instance_type", "RTX PRO 6000"]),
    ],
)
def test_unsupported_gpus_and_family_typos_are_named(cli, tmp_path: Path, compute: str, fragments: list[str]) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "stack.yaml"
    path.write_text(f"name: s\ncompute:\n  {compute}\n")
    result = cli("config", "validate", str(path))
    assert result.code == 2
    for fragment in fragments:
        assert fragment in result.err, result.err
    assert "has no NVIDIA GPU" not in result.err


@pytest.mark.parametrize("itype", ["p6-b200.48xlarge", "p6-b300.48xlarge", "g7.2xlarge", "p5en.48xlarge"])
def test_current_nvidia_families_are_valid(cli, tmp_path: Path, itype: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "stack.yaml"
    path.write_text(f"name: s\ncompute:\n  instance_type: {itype}\n")
    result = cli("config", "validate", str(path))
    assert result.code == 0, result.err
