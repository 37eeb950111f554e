"""Access rules: which CIDRs are accepted, which services each mode opens, and what is warned about."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from geusemaker.config_io import validate_data
from geusemaker.errors import ConfigError
from geusemaker.models.access import exposed_services, exposure_warnings, is_wide, parse_cidr, service_ingress
from geusemaker.planning.steps import plan_steps
from geusemaker.userdata.generator import BootContext, render

ALL = ["ollama", "n8n", "qdrant", "crawl4ai", "postgres"]


def _config(access: dict[str, Any], services: list[str] | None = None) -> Any:
    return validate_data({"name": "acc", "region": "us-east-1", "services": services or ALL, "access": access})


def _problems(access: dict[str, Any], services: list[str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        _config(access, services)
    return "\n".join(caught.value.details)


def _compose(config: Any) -> dict[str, Any]:
    return dict(yaml.safe_load(render(BootContext(config, "us-east-1")).compose)["services"])


@pytest.mark.parametrize(
    ("cidr", "suggested"),
    [
        ("203.0.113.7/0", ["203.0.113.7/32", "0.0.0.0/0"]),
        ("203.0.113.7/24", ["203.0.113.7/32", "203.0.113.0/24"]),
        ("2001:db8::1/32", ["2001:db8::1/128", "2001:db8::/32"]),
    ],
)
def test_a_cidr_with_host_bits_is_refused_with_both_readings(cidr: str, suggested: list[str]) -> None:
    problems = _problems({"mode": "cidr", "allowed_cidrs": [cidr]})
    assert "access.allowed_cidrs" in problems and "host bits" in problems
    assert all(text in problems for text in suggested), problems


@pytest.mark.parametrize("cidr", ["0.0.0.0/0", "::/0", "52.0.0.0/8", "100.64.0.0/10", "2600::/16"])
def test_a_wide_public_cidr_needs_allow_wide_cidrs(cidr: str) -> None:
    problems = _problems({"mode": "cidr", "allowed_cidrs": [cidr]})
    assert "access.allowed_cidrs" in problems and "allow_wide_cidrs: true" in problems
    config = _config({"mode": "cidr", "allowed_cidrs": [cidr], "allow_wide_cidrs": True})
    assert any(cidr in warning and "allow_wide_cidrs" in warning for warning in exposure_warnings(config))


@pytest.mark.parametrize("cidr", ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7", "198.51.100.0/24"])
def test_private_ranges_and_narrow_blocks_are_not_wide(cidr: str) -> None:
    assert not is_wide(parse_cidr(cidr))
    assert _config({"mode": "cidr", "allowed_cidrs": [cidr]}).access.allowed_cidrs == [str(parse_cidr(cidr))]


def test_the_same_cidr_twice_is_refused_even_when_spelled_differently() -> None:
    problems = _problems({"mode": "cidr", "allowed_cidrs": ["2001:db8::/48", "2001:DB8:0::/48"]})
    assert "more than once" in problems and "2001:db8::/48" in problems


def test_mode_cidr_opens_only_the_authenticated_services_by_default() -> None:
    config = _config({"mode": "cidr", "allowed_cidrs": ["198.51.100.0/24"]})
    assert exposed_services(config) == ["n8n", "qdrant"]
    assert sorted(service_ingress(config)) == [(5678, "198.51.100.0/24"), (6333, "198.51.100.0/24")]
    compose = _compose(config)
    assert compose["n8n"]["ports"] == ["0.0.0.0:5678:5678"]
    assert compose["qdrant"]["ports"] == ["0.0.0.0:6333:6333"]
    assert compose["ollama"]["ports"] == ["127.0.0.1:11434:11434"]
    assert compose["crawl4ai"]["ports"] == ["127.0.0.1:11235:11235"]
    assert compose["postgres"]["ports"] == ["127.0.0.1:5432:5432"]
    security_group = next(step for step in plan_steps(config) if step.id == "security-group")
    assert "n8n, qdrant from 198.51.100.0/24" in security_group.action


def test_unauthenticated_services_are_opened_only_when_named_and_then_warned() -> None:
    config = _config({"mode": "cidr", "allowed_cidrs": ["198.51.100.0/24"], "expose_unauthenticated": ["ollama"]})
    assert exposed_services(config) == ["ollama", "n8n", "qdrant"]
    assert (11434, "198.51.100.0/24") in service_ingress(config)
    assert _compose(config)["ollama"]["ports"] == ["0.0.0.0:11434:11434"]
    warnings = exposure_warnings(config)
    assert any(w.startswith("ollama (port 11434) has no authentication") for w in warnings), warnings
    assert not any(w.startswith("crawl4ai") for w in warnings)


def test_naming_a_service_that_does_not_run_is_refused() -> None:
    problems = _problems(
        {"mode": "cidr", "allowed_cidrs": ["198.51.100.0/24"], "expose_unauthenticated": ["crawl4ai"]},
        ["ollama", "n8n", "postgres"],
    )
    assert "access.expose_unauthenticated" in problems and "crawl4ai is not in services" in problems


def test_mode_cidr_that_would_open_nothing_says_what_to_write() -> None:
    problems = _problems({"mode": "cidr", "allowed_cidrs": ["198.51.100.0/24"]}, ["ollama"])
    assert "access.mode" in problems and "expose_unauthenticated" in problems and "mode: ssm" in problems
    only_ollama = _config(
        {"mode": "cidr", "allowed_cidrs": ["198.51.100.0/24"], "expose_unauthenticated": ["ollama"]}, ["ollama"]
    )
    assert service_ingress(only_ollama) == [(11434, "198.51.100.0/24")]


@pytest.mark.parametrize(
    "access",
    [
        {"expose_unauthenticated": ["ollama"]},
        {"allow_wide_cidrs": True},
        {"allowed_cidrs": ["198.51.100.0/24"]},
    ],
    ids=["expose", "wide", "cidrs"],
)
def test_cidr_only_keys_are_refused_in_mode_ssm(access: dict[str, Any]) -> None:
    problems = _problems({"mode": "ssm", **access})
    assert f"access.{next(iter(access))}" in problems and "mode: cidr" in problems


def test_plain_http_is_stated_and_n8n_secure_cookie_is_off_only_when_n8n_is_open() -> None:
    ssm = _config({"mode": "ssm"})
    assert exposure_warnings(ssm) == [] and service_ingress(ssm) == []
    assert _compose(ssm)["n8n"]["environment"]["N8N_SECURE_COOKIE"] == "true"
    open_n8n = _config({"mode": "cidr", "allowed_cidrs": ["198.51.100.0/24"]})
    assert _compose(open_n8n)["n8n"]["environment"]["N8N_SECURE_COOKIE"] == "false"
    warnings = exposure_warnings(open_n8n)
    assert any("plain HTTP" in w and "n8n's login" in w and "Qdrant's API key" in w for w in warnings), warnings
    assert any("owner account" in w for w in warnings)


def test_the_examples_stay_valid_and_the_team_example_opens_only_authenticated_services() -> None:
    from geusemaker.config_io import load_config
    from tests.conftest import ROOT

    configs = {path.name: load_config(path) for path in sorted((ROOT / "examples").glob("*.yaml"))}
    assert exposed_services(configs["a10g-team.yaml"]) == ["n8n", "qdrant"]
    assert all(exposed_services(c) == [] for name, c in configs.items() if name != "a10g-team.yaml")


def test_config_validate_warns_and_json_carries_the_access(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "open.yaml"
    path.write_text(
        "name: op\naccess:\n  mode: cidr\n  allowed_cidrs: [0.0.0.0/0]\n  allow_wide_cidrs: true\n"
        "  expose_unauthenticated: [crawl4ai]\n"
    )
    shown = cli("config", "validate", str(path))
    assert shown.code == 0
    assert "n8n, qdrant, crawl4ai reachable from 0.0.0.0/0" in shown.err
    assert "warning: 0.0.0.0/0 opens n8n, qdrant, crawl4ai to the whole internet" in shown.err
    assert "warning: crawl4ai (port 11235) has no authentication" in shown.err
    document = json.loads(cli("config", "validate", str(path), "-o", "json").out)
    assert document["access"]["exposed_services"] == ["n8n", "qdrant", "crawl4ai"]
    assert len(document["access"]["warnings"]) == 4


def test_a_deployed_stack_recorded_before_these_rules_still_loads_from_the_state() -> None:
    from geusemaker.config_io import validate_stored

    recorded = {
        "name": "old",
        "region": "us-east-1",
        "services": ["ollama"],
        "access": {"mode": "cidr", "allowed_cidrs": ["0.0.0.0/0", "198.51.100.0/24", "198.51.100.0/24"]},
        "tags": {"Name": "mine"},
    }
    with pytest.raises(ConfigError):
        validate_data(recorded)
    config = validate_stored(recorded, "old")
    assert config.access.allowed_cidrs[0] == "0.0.0.0/0" and config.tags == {"Name": "mine"}
    with pytest.raises(ConfigError):
        validate_stored({**recorded, "compute": {"gpu_count": "2"}}, "old")
