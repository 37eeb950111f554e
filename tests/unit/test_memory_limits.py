"""Container memory limits: the split over every instance size, the compose file they complete, the boot step."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from geusemaker.catalog import load_catalog
from geusemaker.config_io import validate_data
from geusemaker.models.config import DEFAULT_CPU_INSTANCE_TYPE
from geusemaker.models.memory import CAPPED, limit_variable, memory_limits
from geusemaker.models.services import SERVICES, generate_secret_values, parameter_path
from geusemaker.userdata.generator import BootContext, render
from tests.bootsim import BootSim
from tests.unit.test_userdata_render import MATRIX, SUBSETS, _render, _schema

#: The kernel keeps some memory for itself: MemTotal is a little below the instance's nominal size.
KERNEL_SHARE = 0.96
VARIABLE = re.compile(r"\$\{(\w+):\?[^}]*\}")


def _memtotal_mib(memory_gib: float) -> int:
    return int(memory_gib * 1024 * KERNEL_SHARE)


def _sizes() -> list[int]:
    """MemTotal of every instance size GeuseMaker may launch (the GPU catalog and the cpu tier's type)."""
    gib = {spec.memory_gib for spec in load_catalog().specs.values()} | {16.0}
    assert DEFAULT_CPU_INSTANCE_TYPE == "m7i.xlarge", "16 GiB above is that type's memory"
    return sorted(_memtotal_mib(size) for size in gib)


def _interpolate(compose: str, env: dict[str, str]) -> str:
    """What `docker compose` does with `${NAME:?message}`: a missing variable is an error."""

    def value(match: re.Match[str]) -> str:
        assert match.group(1) in env, f"{match.group(1)} is not set at boot"
        return env[match.group(1)]

    return VARIABLE.sub(value, compose)


def _env(services: list[str], total_mib: int) -> dict[str, str]:
    env = dict(generate_secret_values(services))
    env |= {limit_variable(name): f"{mib}m" for name, mib in memory_limits(total_mib, services).items()}
    return env


def test_every_service_but_ollama_is_capped() -> None:
    assert set(CAPPED) == set(SERVICES) - {"ollama"}


@pytest.mark.parametrize("subset", [*SUBSETS.values(), ["postgres", "n8n", "qdrant", "crawl4ai"]])
def test_the_split_fits_every_instance_size_and_gives_ollama_the_most(subset: list[str]) -> None:
    for total in _sizes():
        limits = memory_limits(total, subset)
        assert set(limits) == set(subset)
        assert all(mib > 0 for mib in limits.values())
        reserve = total - sum(limits.values())
        assert reserve >= min(1536, total // 4), (total, limits)
        if "ollama" in subset:
            assert limits["ollama"] == max(limits.values()) and limits["ollama"] >= (total - reserve) // 2
        if total >= 15 * 1024:  # every GPU instance: the floors hold
            assert limits.get("postgres", 512) >= 512 and limits.get("n8n", 1024) >= 1024
            assert limits.get("crawl4ai", 1536) >= 1536


def test_a_16_gib_instance_split() -> None:
    limits = memory_limits(_memtotal_mib(16), SUBSETS["all"])
    assert limits == {"postgres": 707, "n8n": 1415, "qdrant": 1415, "crawl4ai": 1536, "ollama": 9083}


@pytest.mark.parametrize(("tier", "plain", "subset", "data"), MATRIX)
def test_the_compose_with_its_limits_validates_on_every_size(tier: str, plain: bool, subset: str, data: str) -> None:
    compose = _render(tier, plain, subset, data).compose
    validator = jsonschema.Draft201909Validator(_schema("compose-spec.json"))
    for total in (_sizes()[0], _sizes()[-1]):
        document: dict[str, Any] = yaml.safe_load(_interpolate(compose, _env(SUBSETS[subset], total)))
        validator.validate(document)
        limits = memory_limits(total, SUBSETS[subset])
        assert {name: service["mem_limit"] for name, service in document["services"].items()} == {
            name: f"{mib}m" for name, mib in limits.items()
        }


@pytest.mark.parametrize(("memory_gib", "subset"), [(16, "all"), (128, "n8n"), (2048, "vector")])
def test_the_boot_writes_the_limits_of_the_instance_it_runs_on(tmp_path: Path, memory_gib: int, subset: str) -> None:
    document = {"name": "mem", "region": "eu-west-1", "services": SUBSETS[subset]}
    userdata = render(BootContext(validate_data(document), "eu-west-1", file_system_id="fs-0123456789abcdef0"))
    sim = BootSim(tmp_path)
    sim.install(userdata)
    sim.attach_data_disk()
    total_kib = int(memory_gib * 1024 * 1024 * KERNEL_SHARE)
    sim.set_memory(total_kib)
    sim.set_secrets(generate_secret_values(SUBSETS[subset]), parameter_path("mem"))
    assert sim.run().returncode == 0, sim.log()
    env_file = sim.root / "etc/geusemaker/secrets.env"
    assert env_file.stat().st_mode & 0o777 == 0o600
    env = dict(line.split("=", 1) for line in env_file.read_text().splitlines())
    expected = memory_limits(total_kib // 1024, SUBSETS[subset])
    assert {k: v for k, v in env.items() if k.startswith("GM_MEM_")} == {
        limit_variable(name): f"{mib}m" for name, mib in expected.items()
    }
    assert yaml.safe_load(_interpolate(userdata.compose, env))["services"].keys() == set(SUBSETS[subset])
    assert sim.status()["steps"]["memory"] == "done"


def test_a_boot_rerun_replaces_the_limits_instead_of_adding_them(tmp_path: Path) -> None:
    document = {"name": "mem", "region": "eu-west-1", "storage": {"data": "none"}}
    sim = BootSim(tmp_path)
    sim.install(render(BootContext(validate_data(document), "eu-west-1")))
    sim.set_secrets(generate_secret_values(SUBSETS["all"]), parameter_path("mem"))
    assert sim.run().returncode == 0, sim.log()
    (sim.root / "var/lib/geusemaker/steps/memory.done").unlink()
    sim.set_memory(64 * 1024 * 1024)
    assert sim.run().returncode == 0, sim.log()
    lines = (sim.root / "etc/geusemaker/secrets.env").read_text().splitlines()
    ollama = [line for line in lines if line.startswith("GM_MEM_OLLAMA=")]
    assert ollama == [f"GM_MEM_OLLAMA={memory_limits(64 * 1024, SUBSETS['all'])['ollama']}m"]


def test_an_unreadable_meminfo_fails_the_memory_step(tmp_path: Path) -> None:
    document = {"name": "mem", "region": "eu-west-1", "storage": {"data": "none"}}
    sim = BootSim(tmp_path)
    sim.install(render(BootContext(validate_data(document), "eu-west-1")))
    sim.set_secrets(generate_secret_values(SUBSETS["all"]), parameter_path("mem"))
    (sim.root / "proc/meminfo").write_text("garbage\n")
    assert sim.run().returncode != 0
    status = sim.status()
    assert (status["step"], status["state"]) == ("memory", "failed")
    assert "memory limits" in str(status["error"])
