"""The rendered UserData: shellcheck, cloud-init and compose-spec schemas, size, secrets, determinism."""

from __future__ import annotations

import email
import gzip
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from geusemaker.config_io import validate_data
from geusemaker.models.services import generate_secret_values, parameter_path
from geusemaker.userdata.generator import EC2_USERDATA_LIMIT, BootContext, RenderedUserData, UserDataTooLarge, render
from tests.conftest import FIXTURES

SUBSETS = {
    "ollama": ["ollama"],
    "vector": ["ollama", "qdrant"],
    "n8n": ["ollama", "n8n", "postgres"],
    "all": ["ollama", "n8n", "qdrant", "crawl4ai", "postgres"],
}
SHELLCHECK = (
    shutil.which("shellcheck", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}") or "shellcheck"
)
MATRIX = list(itertools.product(["gpu", "cpu"], [False, True], SUBSETS, ["efs", "ebs", "none"]))


def _config(tier: str, services: list[str], data: str, **extra: Any):  # type: ignore[no-untyped-def]
    document: dict[str, Any] = {"name": "matrix", "region": "us-east-1", "tier": tier, "services": services}
    document["storage"] = {"data": data}
    return validate_data({**document, **extra})


def _render(tier: str, plain_ubuntu: bool, subset: str, data: str) -> RenderedUserData:
    config = _config(tier, SUBSETS[subset], data)
    return render(BootContext(config, "us-east-1", needs_driver_install=plain_ubuntu and tier == "gpu", spot=True))


@cache
def _schema(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / "schemas" / name).read_text())


def _scripts(userdata: RenderedUserData) -> dict[str, str]:
    scripts = {"boot.sh": userdata.parts["boot.sh"]}
    scripts |= {path.rsplit("/", 1)[-1]: text for path, text in userdata.files.items() if path.endswith(".sh")}
    return scripts


def test_every_shell_part_of_the_matrix_passes_shellcheck(tmp_path: Path) -> None:
    paths = []
    for index, case in enumerate(MATRIX):
        folder = tmp_path / f"case{index}"
        folder.mkdir()
        for name, text in _scripts(_render(*case)).items():
            assert text.startswith("#!/usr/bin/env bash\n")
            assert re.search(r"\nset -E?euo pipefail\n", text), name
            (folder / name).write_text(text)
            paths.append(str(folder / name))
    result = subprocess.run([SHELLCHECK, "--severity=style", *paths], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout[:4000]


@pytest.mark.parametrize(("tier", "plain", "subset", "data"), MATRIX)
def test_cloud_config_and_compose_validate_against_their_schemas(
    tier: str, plain: bool, subset: str, data: str
) -> None:
    userdata = _render(tier, plain, subset, data)
    cloud_config = userdata.parts["cloud-config.yaml"]
    assert cloud_config.startswith("#cloud-config\n")
    jsonschema.Draft4Validator(_schema("schema-cloud-config-v1.json")).validate(yaml.safe_load(cloud_config))
    compose = yaml.safe_load(userdata.compose)
    jsonschema.Draft201909Validator(_schema("compose-spec.json")).validate(compose)
    assert set(compose["services"]) == set(SUBSETS[subset])


def test_gpu_compose_reserves_all_nvidia_gpus_for_ollama() -> None:
    compose = yaml.safe_load(_render("gpu", False, "all", "efs").compose)
    ollama = compose["services"]["ollama"]
    assert ollama["deploy"]["resources"]["reservations"]["devices"] == [
        {"driver": "nvidia", "count": "all", "capabilities": ["gpu"]}
    ]
    assert ollama["environment"]["NVIDIA_VISIBLE_DEVICES"] == "all"
    assert ollama["environment"]["OLLAMA_KEEP_ALIVE"] == "30m"
    assert int(ollama["environment"]["OLLAMA_GPU_OVERHEAD"]) > 0
    for name, service in compose["services"].items():
        assert ":" in service["image"] and not service["image"].endswith(":latest"), name
        assert service["restart"] == "unless-stopped" and "healthcheck" in service, name
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), (name, port)
    cpu = yaml.safe_load(_render("cpu", False, "all", "efs").compose)
    assert "deploy" not in cpu["services"]["ollama"]


def test_cidr_access_opens_the_service_ports_but_never_postgres() -> None:
    config = validate_data({"name": "open", "access": {"mode": "cidr", "allowed_cidrs": ["198.51.100.0/24"]}})
    compose = yaml.safe_load(render(BootContext(config, "eu-west-1")).compose)
    assert compose["services"]["n8n"]["ports"] == ["0.0.0.0:5678:5678"]
    assert compose["services"]["postgres"]["ports"] == ["127.0.0.1:5432:5432"]


def test_secrets_never_appear_in_the_user_data() -> None:
    config = _config("gpu", SUBSETS["all"], "efs")
    values = generate_secret_values(config.services)
    assert set(values) == {"POSTGRES_PASSWORD", "N8N_ENCRYPTION_KEY", "QDRANT_API_KEY", "CRAWL4AI_API_TOKEN"}
    userdata = render(BootContext(config, "us-east-1"))
    texts = [gzip.decompress(userdata.payload) if userdata.compressed else userdata.payload, userdata.payload]
    texts += [text.encode() for text in [*userdata.parts.values(), *userdata.files.values()]]
    for value in values.values():
        assert all(value.encode() not in text for text in texts)
    assert parameter_path("matrix") in userdata.parts["boot.sh"], "the boot reads them from SSM instead"


def test_no_container_gets_the_database_password_and_workflows_cannot_read_the_environment() -> None:
    compose = yaml.safe_load(render(BootContext(_config("gpu", SUBSETS["all"], "efs"), "us-east-1")).compose)
    services = compose["services"]
    for name, service in services.items():
        environment = service.get("environment", {})
        assert not any("POSTGRES_PASSWORD}" in str(value) for value in environment.values()), name
        assert not {"POSTGRES_PASSWORD", "DB_POSTGRESDB_PASSWORD"} & set(environment), name
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD_FILE"] == "/run/secrets/postgres_postgres_password"
    assert services["postgres"]["secrets"] == ["postgres_postgres_password"]
    n8n = services["n8n"]
    assert n8n["environment"]["DB_POSTGRESDB_PASSWORD_FILE"] == "/run/secrets/n8n_postgres_password"
    assert n8n["secrets"] == ["n8n_postgres_password"]
    assert n8n["environment"]["N8N_BLOCK_ENV_ACCESS_IN_NODE"] == "true", "no $env in expressions and Code nodes"
    assert set(compose["secrets"]) == {"postgres_postgres_password", "n8n_postgres_password"}
    without_db = yaml.safe_load(render(BootContext(_config("gpu", SUBSETS["vector"], "efs"), "us-east-1")).compose)
    assert "secrets" not in without_db


def test_fullest_gpu_stack_is_under_11_kib_and_parses_as_mime() -> None:
    config = validate_data(
        {
            "name": "a" * 40,
            "region": "ap-southeast-3",
            "services": SUBSETS["all"],
            "ollama": {"models": ["llama3.1:70b-instruct-q4_K_M", "qwen2.5-coder:32b", "nomic-embed-text:latest"]},
            "lifecycle": {"idle_stop_minutes": 45, "max_runtime_hours": 12},
            "access": {"mode": "cidr", "allowed_cidrs": ["198.51.100.0/24"]},
        }
    )
    userdata = render(BootContext(config, "ap-southeast-3", needs_driver_install=True, spot=True))
    assert userdata.compressed and userdata.size < 11 * 1024, "a budget well under EC2's 16,384 bytes"
    message = email.message_from_bytes(gzip.decompress(userdata.payload))
    assert message.is_multipart()
    kinds = [part.get_content_type() for part in message.get_payload()]  # type: ignore[union-attr]
    assert kinds == ["text/cloud-config", "text/x-shellscript"]
    bodies = [part.get_payload(decode=True).decode() for part in message.get_payload()]  # type: ignore[union-attr]
    assert bodies == [userdata.parts["cloud-config.yaml"], userdata.parts["boot.sh"]]


def test_rendering_is_deterministic() -> None:
    assert _render("gpu", False, "all", "efs").payload == _render("gpu", False, "all", "efs").payload


def test_too_large_user_data_is_refused_before_anything_is_created() -> None:
    models = [f"model-{i:03d}-{'x' * 40}:{i}" for i in range(20)]
    config = validate_data({"name": "big", "ollama": {"models": models}})
    from geusemaker.userdata import generator

    original = generator.EC2_USERDATA_LIMIT
    generator.EC2_USERDATA_LIMIT = 4000
    try:
        with pytest.raises(UserDataTooLarge) as caught:
            render(BootContext(config, "us-east-1"))
    finally:
        generator.EC2_USERDATA_LIMIT = original
    assert "over EC2's limit of 4,000" in caught.value.message
    assert render(BootContext(config, "us-east-1")).size <= EC2_USERDATA_LIMIT


def test_driver_install_only_without_the_dlami() -> None:
    assert "gm_step gpu-driver" not in _render("gpu", False, "ollama", "none").parts["boot.sh"]
    assert "gm_step gpu-driver gpu_install_driver" in _render("gpu", True, "ollama", "none").parts["boot.sh"]
    cpu = _render("cpu", True, "ollama", "none").parts["boot.sh"]
    assert "nvidia" not in cpu.lower()


def test_scripts_are_ascii() -> None:
    userdata = _render("gpu", True, "all", "ebs")
    for text in [*userdata.parts.values(), *userdata.files.values()]:
        text.encode("ascii")


def test_render_command_writes_the_exact_bytes_and_parts(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "stack.yaml"
    config.write_text("name: r\nregion: eu-west-1\nstorage:\n  data: ebs\n")
    out = tmp_path / "out"
    result = cli("render", "--config", str(config), "--out", str(out), "--spot")
    assert result.code == 0, result.err
    expected = render(BootContext(validate_data({"name": "r", "region": "eu-west-1", "storage": {"data": "ebs"}}),
                                  "eu-west-1", spot=True))  # fmt: skip
    assert (out / "user-data").read_bytes() == expected.payload
    assert (out / "parts" / "boot.sh").read_text() == expected.parts["boot.sh"]
    assert (out / "parts" / "cloud-config.yaml").read_text() == expected.parts["cloud-config.yaml"]
    assert yaml.safe_load((out / "docker-compose.yml").read_text()) == yaml.safe_load(expected.compose)
    assert f"{expected.size:,} bytes (gzip)" in result.out


@pytest.mark.parametrize("data", ["efs", "ebs"])
def test_the_stack_and_dockerd_wait_for_the_data_mount(data: str) -> None:
    userdata = render(BootContext(validate_data({"name": "m", "storage": {"data": data}}), "us-east-1"))
    assert (
        "\nRequiresMountsFor=/opt/geusemaker/data\n" in userdata.files["/etc/systemd/system/geusemaker-stack.service"]
    )
    drop_in = userdata.files["/etc/systemd/system/docker.service.d/geusemaker-data.conf"]
    assert drop_in.splitlines()[-2:] == ["[Unit]", "RequiresMountsFor=/opt/geusemaker/data"]


def test_without_a_data_volume_nothing_waits_for_a_mount() -> None:
    userdata = render(BootContext(validate_data({"name": "m", "storage": {"data": "none"}}), "us-east-1"))
    assert "RequiresMountsFor" not in userdata.files["/etc/systemd/system/geusemaker-stack.service"]
    assert not any("docker.service.d" in path for path in userdata.files)


def test_the_guard_runs_every_minute_from_the_first_minute_without_slack() -> None:
    userdata = render(BootContext(validate_data({"name": "g"}), "us-east-1", spot=True))
    timer = userdata.files["/etc/systemd/system/geusemaker-guard.timer"]
    for line in ("OnBootSec=1min", "OnUnitActiveSec=1min", "AccuracySec=5s"):
        assert f"\n{line}\n" in timer, line
