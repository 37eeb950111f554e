"""Values are taken as written, never coerced; text is bounded; tags follow AWS's rules; messages are plain."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from geusemaker.config_io import parse_config
from geusemaker.models.tags import tag_dict
from tests.conftest import ROOT, CliResult

# (id, YAML text, fragments the message must contain)
CASES: list[tuple[str, str, list[str]]] = [
    ("root-gb-string", 'name: s\nstorage:\n  root_gb: "100"\n', ["storage.root_gb", "valid integer", "'100'"]),
    ("gpu-count-bool", "name: s\ncompute:\n  gpu_count: true\n", ["compute.gpu_count", "valid integer"]),
    ("budget-bool", "name: s\ncompute:\n  max_hourly_usd: true\n", ["compute.max_hourly_usd", "valid number"]),
    ("idle-float", "name: s\nlifecycle:\n  idle_stop_minutes: 100.0\n", ["lifecycle.idle_stop_minutes", "integer"]),
    ("name-binary", "name: !!binary bXktbGxt\n", ["name", "valid string"]),
    ("name-trailing-newline", 'name: "stack\\n"\n', ["name", "'stack\\n' is not a deployment name"]),
    ("name-leading-space", 'name: " stack"\n', ["name", "is not a deployment name"]),
    ("model-trailing-newline", 'name: s\nollama:\n  models: ["llama3.2:3b\\n"]\n', ["ollama.models", "llama3.2:3b\\n"]),
    ("keep-alive-newline", 'name: s\nollama:\n  keep_alive: "5m\\n"\n', ["ollama.keep_alive", "'5m\\n'"]),
    ("keep-alive-long", f"name: s\nollama:\n  keep_alive: {'9' * 100}m\n", ["ollama.keep_alive", "at most 64"]),
    ("gpu-long", f"name: s\ncompute:\n  gpu: {'a' * 100}\n", ["compute.gpu", "at most 64"]),
    ("model-huge", f"name: s\nollama:\n  models: [{'m' * 300}]\n", ["ollama.models[0]", "at most 200"]),
    ("cidr-long", f"name: s\naccess:\n  mode: cidr\n  allowed_cidrs: ['{'1' * 80}']\n", ["at most 64"]),
    ("wide-bool-string", "name: s\naccess:\n  allow_wide_cidrs: 'yes'\n", ["access.allow_wide_cidrs", "boolean"]),
    ("tag-control-char", 'name: s\ntags:\n  team: "ml\\x01"\n', ["tags", "'\\x01'", "AWS allows letters"]),
    ("tag-newline", 'name: s\ntags:\n  team: "a\\nb"\n', ["tags", "'\\n'"]),
    ("tag-bad-char", "name: s\ntags:\n  'team#1': x\n", ["tags", "'#'"]),
    ("tag-name", "name: s\ntags:\n  Name: mine\n", ["tags", "'Name' is set by GeuseMaker"]),
    ("tag-key-space", "name: s\ntags:\n  'team ': x\n", ["tags", "starts or ends with a space"]),
    ("tag-value-long", f"name: s\ntags:\n  team: {'v' * 300}\n", ["tags.team", "at most 256"]),
    ("tag-int", "name: s\ntags:\n  cost-center: 4711\n", ["tags.cost-center", "valid string"]),
    ("vpc-id-shape", "name: s\nnetwork:\n  vpc_id: vpc-XYZ\n", ["network.vpc_id", "'vpc-XYZ' is not an id like vpc-"]),
    ("subnet-id-shape", "name: s\nregion: us-east-1\nnetwork:\n  vpc_id: vpc-0123456789abcdef0\n  subnet_id: s-1\n",
     ["network.subnet_id", "is not an id like subnet-"]),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES])
def test_values_are_not_coerced_and_text_is_bounded(cli, tmp_path: Path, text: str, expected: list[str]) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "stack.yaml"
    path.write_text(text)
    result: CliResult = cli("config", "validate", str(path))
    assert result.code == 2, result.text
    assert "Traceback" not in result.text and "bug" not in result.text
    for fragment in expected:
        assert fragment in result.err, f"{fragment!r} not in:\n{result.err}"
    assert len(result.err) < 2000, "a long value is shown cut short"


@pytest.mark.parametrize(
    "text",
    ["name: My_Stack\n", "name: stack-\n", "network:\n  vpc_id: my-vpc\n"],
    ids=["name-case", "name-dash", "vpc"],
)
def test_messages_show_no_regular_expression(cli, tmp_path: Path, text: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "stack.yaml"
    path.write_text(text if text.startswith("name") else "name: s\n" + text)
    result = cli("config", "validate", str(path))
    assert result.code == 2
    assert not re.search(r"pattern|\^\[|\]\{|\$'", result.err), result.err
    if "name" in text:
        assert "lowercase letters, digits and '-'" in result.err


def test_the_real_values_still_load() -> None:
    config = parse_config(
        "name: s\ncompute:\n  max_hourly_usd: 5\n  gpu_count: 2\nstorage:\n  root_gb: 200\n"
        "tags:\n  cost-center: '4711'\n  Projekt: 'Zürich / Ω_1 = a+b@c:d'\n  name: lowercase is yours\n"
    )
    assert config.compute.max_hourly_usd == 5.0 and config.compute.gpu_count == 2
    assert tag_dict("s", "vpc", config.tags)["Name"] == "geusemaker-s-vpc"
    assert tag_dict("s", "vpc", config.tags)["Projekt"] == "Zürich / Ω_1 = a+b@c:d"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["status", "--output", "yaml"], "'yaml' is not one of 'table', 'json'"),
        (["deploy", "--config", "x.yaml", "--health-timeout", "soon"], "--health-timeout': expected a whole number"),
        (["deploy", "--config", "x.yaml", "--health-timeout", "0"], "must be at least 1"),
    ],
)
def test_option_errors_read_as_plain_words(cli, args: list[str], expected: str) -> None:  # type: ignore[no-untyped-def]
    result = cli(*args)
    assert result.code == 2
    assert expected in result.err, result.err
    assert "Value error" not in result.err and "Input should" not in result.err


def test_every_docs_file_a_message_points_at_exists() -> None:
    mentioned = set()
    for source in (ROOT / "geusemaker").rglob("*.py"):
        mentioned |= set(re.findall(r"docs/[\w.-]+\.(?:md|json)", source.read_text(encoding="utf-8")))
    assert "docs/iam-policy.json" in mentioned
    missing = sorted(path for path in mentioned if not (ROOT / path).is_file())
    assert missing == []
