"""The deploy wizard driven in-process with prompt_toolkit's pipe input, every branch."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from geusemaker.catalog import load_catalog
from geusemaker.cli.wizard import Wizard
from geusemaker.config_io import load_config

ENTER, DOWN, SPACE, CTRL_C, CLEAR = "\r", "\x1b[B", " ", "\x03", "\x15"


def answers(name: str = "demo", *, region: str = ENTER, gpu: str = ENTER, count: str = ENTER, market: str = ENTER,
            services: str = ENTER, models: str = ENTER, root: str = ENTER, data: str = ENTER, data_gb: str = ENTER,
            access: str = ENTER, budget: str = ENTER, idle: str = ENTER, hours: str = ENTER) -> str:  # fmt: skip
    """Keystrokes for the whole wizard; each argument is what is typed at that prompt."""
    steps = [
        CLEAR + name + ENTER,
        region,
        gpu,
        count,
        market,
        services,
        models,
        root,
        data,
        data_gb,
        access,
        budget,
        idle,
        hours,
    ]
    return "".join(steps)


@pytest.fixture
def pipe() -> Iterator[object]:
    with create_pipe_input() as pipe_input:
        yield pipe_input


def run(pipe, keys: str, existing: set[str] | None = None, ip: str | None = None):  # type: ignore[no-untyped-def]
    pipe.send_text(keys)
    pipe.close()  # a question with no keys left reads end-of-file instead of waiting
    return Wizard(load_catalog(), existing or set(), lambda: ip, input=pipe, output=DummyOutput()).run()


def test_defaults(pipe) -> None:  # type: ignore[no-untyped-def]
    config = run(pipe, answers())
    assert config.name == "demo" and config.region == "auto" and config.gpu == "T4"
    assert config.compute.market == "spot-or-on-demand" and config.services == [
        "ollama",
        "n8n",
        "qdrant",
        "crawl4ai",
        "postgres",
    ]
    assert config.ollama.models == ["llama3.2:3b"] and config.storage.data == "ebs" and config.access.mode == "ssm"
    assert config.lifecycle.idle_stop_minutes == 60 and config.compute.max_hourly_usd is None


@pytest.mark.parametrize(("presses", "market"), [("", "spot-or-on-demand"), (DOWN, "spot"), (DOWN * 2, "on-demand")])
def test_each_market(pipe, presses: str, market: str) -> None:  # type: ignore[no-untyped-def]
    assert run(pipe, answers(market=presses + ENTER)).compute.market == market


def test_gpu_choice_count_region_and_budget(pipe) -> None:  # type: ignore[no-untyped-def]
    gpus = Wizard(load_catalog(), set(), lambda: None)._gpu_choices()
    a10g = next(i for i, (_, value) in enumerate(gpus) if value == "A10G")
    assert "22.4 GiB" in gpus[a10g][0] and "from $" in gpus[a10g][0]
    keys = answers(region=DOWN * 19 + ENTER, gpu=DOWN * a10g + ENTER, count=DOWN + ENTER, budget="12.5" + ENTER,
                   idle=CLEAR + "0" + ENTER, hours=CLEAR + "8" + ENTER)  # fmt: skip
    config = run(pipe, keys)
    assert config.region == load_catalog().regions()[18] and config.gpu == "A10G" and config.compute.gpu_count == 4
    assert config.compute.max_hourly_usd == 12.5
    assert (config.lifecycle.idle_stop_minutes, config.lifecycle.max_runtime_hours) == (0, 8)


def test_cpu_only_with_an_ebs_volume(pipe) -> None:  # type: ignore[no-untyped-def]
    cpu = len(Wizard(load_catalog(), set(), lambda: None)._gpu_choices()) - 1
    keys = answers(
        gpu=DOWN * cpu + ENTER, count="", data=ENTER, data_gb=CLEAR + "40" + ENTER, root=CLEAR + "60" + ENTER
    )
    config = run(pipe, keys)
    assert config.tier == "cpu" and config.gpu is None and config.instance_type == "m7i.xlarge"
    assert (config.storage.data, config.storage.ebs_gb, config.storage.root_gb) == ("ebs", 40, 60)


def test_efs_keeps_a_sized_data_volume(pipe) -> None:  # type: ignore[no-untyped-def]
    config = run(pipe, answers(data=DOWN + ENTER, data_gb=CLEAR + "250" + ENTER))
    assert (config.storage.data, config.storage.ebs_gb) == ("efs", 250), "efs: models on EFS, the rest on the volume"


def test_services_checkbox_and_models(pipe) -> None:  # type: ignore[no-untyped-def]
    # untick n8n, crawl4ai and postgres (2nd, 4th and 5th)
    keys = answers(services=DOWN + SPACE + DOWN * 2 + SPACE + DOWN + SPACE + ENTER,
                   models=CLEAR + "qwen2.5:7b, nomic-embed-text" + ENTER)  # fmt: skip
    config = run(pipe, keys)
    assert config.services == ["ollama", "qdrant"]
    assert config.ollama.models == ["qwen2.5:7b", "nomic-embed-text"]


@pytest.mark.parametrize(
    ("ip", "keys", "cidrs"),
    [
        (None, ENTER, []),
        ("203.0.113.7", DOWN + ENTER, ["203.0.113.7/32"]),
        ("203.0.113.7", DOWN * 2 + ENTER + "198.51.100.0/24" + ENTER, ["198.51.100.0/24"]),
        (None, DOWN + ENTER + "not-a-cidr" + ENTER + CLEAR + "10.1.0.0/16" + ENTER, ["10.1.0.0/16"]),
    ],
    ids=["ssm", "my-ip", "custom", "custom-retyped"],
)
def test_access_modes(pipe, ip: str | None, keys: str, cidrs: list[str]) -> None:  # type: ignore[no-untyped-def]
    config = run(pipe, answers(access=keys), ip=ip)
    assert config.access.allowed_cidrs == cidrs
    assert config.access.mode == ("cidr" if cidrs else "ssm")


def test_invalid_and_taken_names_are_retyped(pipe) -> None:  # type: ignore[no-untyped-def]
    keys = (
        CLEAR
        + "Bad_Name"
        + ENTER
        + CLEAR
        + "taken"
        + ENTER
        + CLEAR
        + "fresh"
        + ENTER
        + answers()[len(CLEAR + "demo" + ENTER) :]
    )
    assert run(pipe, keys, existing={"taken"}).name == "fresh"


@pytest.mark.parametrize("prompt", range(6))
def test_ctrl_c_at_any_prompt_interrupts(pipe, prompt: int) -> None:  # type: ignore[no-untyped-def]
    steps = [CLEAR + "demo" + ENTER, ENTER, ENTER, ENTER, ENTER, ENTER]
    pipe.send_text("".join(steps[:prompt]) + CTRL_C)
    with pytest.raises(KeyboardInterrupt):
        Wizard(load_catalog(), set(), lambda: None, input=pipe, output=DummyOutput()).run()


def test_cli_wizard_saves_a_config_deploy_accepts(  # type: ignore[no-untyped-def]
    cli, pipe, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_sandbox: str
) -> None:
    from geusemaker.cli import deploy_cmd

    monkeypatch.setattr(deploy_cmd, "WIZARD_PROMPT_OPTIONS", {"input": pipe, "output": DummyOutput()})
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("geusemaker.cli.wizard.public_ip", lambda: None)
    us_east_1 = load_catalog().regions().index("us-east-1") + 1
    pipe.send_text(answers("saved", region=DOWN * us_east_1 + ENTER))
    target = tmp_path / "saved.yaml"
    result = cli("--sandbox", "deploy", "--save-config", str(target), "--dry-run", "-o", "json")
    assert result.code == 0, result.err
    plan = json.loads(result.out)
    assert (plan["name"], plan["placement"]["region"]) == ("saved", "us-east-1")
    saved = load_config(target)
    assert (saved.name, saved.region, saved.gpu) == ("saved", "us-east-1", "T4")
    again = cli("--sandbox", "deploy", "--config", str(target), "--dry-run", "-o", "json")
    assert json.loads(again.out)["placement"] == plan["placement"]


def test_cli_ctrl_c_exits_130_and_creates_nothing(  # type: ignore[no-untyped-def]
    cli, pipe, monkeypatch: pytest.MonkeyPatch, shared_sandbox: str
) -> None:
    from geusemaker.cli import deploy_cmd

    monkeypatch.setattr(deploy_cmd, "WIZARD_PROMPT_OPTIONS", {"input": pipe, "output": DummyOutput()})
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("geusemaker.cli.wizard.public_ip", lambda: None)
    pipe.send_text(CLEAR + "gone" + ENTER + ENTER + CTRL_C)
    result = cli("--sandbox", "deploy")
    assert result.code == 130
    assert "cancelled: nothing was created" in result.err
    assert json.loads(cli("status", "-o", "json").out) == []


def _wizard_cli(pipe, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from geusemaker.cli import deploy_cmd

    monkeypatch.setattr(deploy_cmd, "WIZARD_PROMPT_OPTIONS", {"input": pipe, "output": DummyOutput()})
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("geusemaker.cli.wizard.public_ip", lambda: None)


def test_cli_checks_credentials_before_asking(  # type: ignore[no-untyped-def]
    cli, pipe, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _wizard_cli(pipe, monkeypatch)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    pipe.close()  # a question would read end-of-file
    result = cli("deploy")
    assert result.code == 2, result.err
    assert "no AWS credentials found" in result.err and "Traceback" not in result.err


def test_cli_save_config_asks_before_overwriting(  # type: ignore[no-untyped-def]
    cli, pipe, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_sandbox: str
) -> None:
    _wizard_cli(pipe, monkeypatch)
    target = tmp_path / "mine.yaml"
    target.write_text("name: precious\n")
    pipe.send_text("n")
    pipe.close()
    refused = cli("--sandbox", "deploy", "--save-config", str(target), "--dry-run")
    assert refused.code == 2 and "exists and was not overwritten" in refused.err and "--force" in refused.err
    assert target.read_text() == "name: precious\n"


@pytest.mark.parametrize("how", ["confirm", "--force"])
def test_cli_save_config_overwrites_when_told(  # type: ignore[no-untyped-def]
    cli, pipe, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_sandbox: str, how: str
) -> None:
    _wizard_cli(pipe, monkeypatch)
    target = tmp_path / "mine.yaml"
    target.write_text("name: precious\n")
    us_east_1 = load_catalog().regions().index("us-east-1") + 1
    pipe.send_text(("y" if how == "confirm" else "") + answers("fresh", region=DOWN * us_east_1 + ENTER))
    options = ["--force"] if how == "--force" else []
    result = cli("--sandbox", "deploy", "--save-config", str(target), *options, "--dry-run", "-o", "json")
    assert result.code == 0, result.err
    assert load_config(target).name == "fresh"


def test_cli_failure_after_the_wizard_keeps_the_answers(  # type: ignore[no-untyped-def]
    cli, pipe, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_sandbox: str, gm_home: Path
) -> None:
    _wizard_cli(pipe, monkeypatch)
    us_east_1 = load_catalog().regions().index("us-east-1") + 1
    pipe.send_text(answers("kept", region=DOWN * us_east_1 + ENTER, budget="0.01" + ENTER))
    result = cli("--sandbox", "deploy", "--dry-run")
    assert result.code == 3, result.err
    kept = gm_home / "answers" / "kept.yaml"
    assert f"Your answers are kept in {kept}" in " ".join(result.err.split())
    assert load_config(kept).compute.max_hourly_usd == 0.01


def test_a_model_too_big_for_the_gpu_is_asked_about(pipe) -> None:  # type: ignore[no-untyped-def]
    keys = answers(models=CLEAR + "llama3.1:70b" + ENTER + "n" + CLEAR + "llama3.1:8b" + ENTER)
    assert run(pipe, keys).ollama.models == ["llama3.1:8b"]


def test_a_model_too_big_for_the_gpu_can_be_kept(pipe) -> None:  # type: ignore[no-untyped-def]
    keys = answers(models=CLEAR + "llama3.1:70b" + ENTER + "y")
    assert run(pipe, keys).ollama.models == ["llama3.1:70b"]


def test_no_terminal_and_no_config_fails_at_once() -> None:
    from tests.conftest import run_cli

    result = run_cli("deploy", stdin="")
    assert result.code == 2 and "--config" in result.err and "Traceback" not in result.err
