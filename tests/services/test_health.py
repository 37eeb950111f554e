"""The health flow over SSM against moto: SendCommand for real, real-format outputs injected by a hook."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from geusemaker.config_io import validate_data
from geusemaker.health.checks import script, sections
from geusemaker.health.runner import HealthChecker
from geusemaker.services.aws import AwsClients, AwsTarget
from geusemaker.services.ssm import SsmRunner
from tests.awsfakes import Faults, boto_client
from tests.conftest import FIXTURES

H100 = FIXTURES / "nvidia-smi" / "h100"
CONFIG = validate_data({"name": "hc", "region": "us-east-1", "services": ["ollama", "qdrant"]})
BOOT_DONE = {"step": "complete", "state": "done", "time": "2026-11-23T10:00:00Z", "error": None, "steps": {}}
ANSWERED = {**BOOT_DONE, "first_token_at": 1_795_000_000.5}
PS_ON_GPU = {"models": [{"name": "llama3.2:3b", "size_vram": 2_684_354_560}]}


def section(name: str, body: str, rc: int = 0) -> str:
    return f"=== BEGIN {name}\n{body.rstrip()}\n=== END {name} rc={rc}\n"


def output(**overrides: Any) -> str:
    parts = {
        "boot": (json.dumps(BOOT_DONE), 0),
        "gpu": ((H100 / "query_csv_header.csv").read_text(), 0),
        "gpu-host-list": ((H100 / "list.txt").read_text(), 0),
        "gpu-container-list": ((H100 / "list.txt").read_text(), 0),
        "ollama": ('{"version":"0.12.10"}\n' + json.dumps(PS_ON_GPU), 0),
        "service-ollama": ('{"version":"0.12.10"}', 0),
        "service-qdrant": ("all shards are ready", 0),
    } | overrides
    return "".join(section(name, body, rc) for name, (body, rc) in parts.items())


@pytest.fixture
def checker(shared_sandbox: str, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    faults = Faults().install(monkeypatch)
    clients = AwsClients(AwsTarget(region="us-east-1", endpoint_url=shared_sandbox, access_key="t", secret_key="t"))
    ec2 = boto_client(shared_sandbox, "ec2")
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    instance = ec2.run_instances(ImageId=image, InstanceType="g4dn.xlarge", MinCount=1, MaxCount=1)["Instances"][0]
    yield (
        faults,
        HealthChecker(SsmRunner(clients, "us-east-1", delay_s=1), CONFIG, sleep=lambda _: None),
        instance["InstanceId"],
    )
    ec2.terminate_instances(InstanceIds=[instance["InstanceId"]])


def test_healthy_stack(checker) -> None:  # type: ignore[no-untyped-def]
    faults, health, instance = checker
    faults.ssm_outputs("Online", output())
    report = health.check(instance)
    assert report.overall == "healthy", report
    assert [(c.name, c.status) for c in report.checks] == [
        ("ssm agent", "ok"), ("boot", "ok"), ("gpu", "ok"), ("gpu in ollama container", "ok"),
        ("ollama on gpu", "ok"), ("ollama", "ok"), ("qdrant", "ok"),
    ]  # fmt: skip
    assert report.checks[2].detail == "1 x NVIDIA H100 80GB HBM3, driver 580.159.04"
    assert report.checks[4].detail == "Ollama 0.12.10: llama3.2:3b has 2.5 GiB in VRAM"
    assert report.gpus[0].memory_total_mib == 81559.0 and report.gpus[0].power_draw_w == 123.48
    document = report.as_json()
    assert set(document) == {"name", "overall", "checks", "gpus"}
    assert "ssm.SendCommand" in faults.calls, "the command really goes through SendCommand"


def test_driver_failure_makes_it_unhealthy(checker) -> None:  # type: ignore[no-untyped-def]
    faults, health, instance = checker
    failure = (
        "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the "
        "latest NVIDIA driver is installed and running."
    )
    faults.ssm_outputs("Online", output(gpu=(failure, 9), **{"gpu-container-list": (failure, 9)}))
    report = health.check(instance)
    assert report.overall == "unhealthy"
    gpu = next(c for c in report.checks if c.name == "gpu")
    assert gpu.status == "fail" and "NVIDIA driver not loaded" in gpu.detail


def test_model_on_the_cpu_and_a_dead_service_degrade_it(checker) -> None:  # type: ignore[no-untyped-def]
    faults, health, instance = checker
    on_cpu = '{"version":"0.12.10"}\n{"models":[{"name":"llama3.2:3b","size_vram":0}]}'
    dead = ("curl: (7) Failed to connect to 127.0.0.1 port 6333", 7)
    faults.ssm_outputs("Online", output(ollama=(on_cpu, 0), **{"service-qdrant": dead}))
    report = health.check(instance)
    assert report.overall == "degraded"
    details = {c.name: (c.status, c.detail) for c in report.checks}
    assert details["ollama on gpu"] == ("fail", "llama3.2:3b is loaded on the CPU, not the GPU")
    assert details["qdrant"] == ("fail", "health probe failed: curl: (7) Failed to connect to 127.0.0.1 port 6333")


def test_agent_not_registered_and_failed_boot(checker) -> None:  # type: ignore[no-untyped-def]
    faults, health, instance = checker
    faults.ssm_outputs(None, "")
    report = health.check(instance)
    assert report.overall == "unhealthy" and report.checks[0].status == "fail" and len(report.checks) == 1
    failed = {"step": "gpu", "state": "failed", "time": "t", "error": "NVIDIA driver not ready after 30 attempts"}
    faults.ssm_outputs("Online", output(boot=(json.dumps(failed), 0)))
    boot = health.check(instance).checks[1]
    assert (boot.status, boot.detail) == ("fail", "step gpu failed: NVIDIA driver not ready after 30 attempts")


def test_wait_follows_the_boot_until_complete(checker) -> None:  # type: ignore[no-untyped-def]
    faults, health, instance = checker
    progress: list[str] = []
    states = iter(
        [
            json.dumps({"step": "docker", "state": "running", "time": "t"}),
            json.dumps({"step": "services", "state": "running", "time": "t"}),
            json.dumps(BOOT_DONE),  # the models are still downloading: the wait goes on to the first token
            json.dumps(BOOT_DONE),
            json.dumps(ANSWERED),
        ]
    )
    polls: list[float] = []

    def next_boot(_: float) -> None:
        polls.append(_)
        faults.ssm_outputs("Online", next(states))

    health._sleep = next_boot  # the poll interval advances the instance's boot
    faults.ssm_outputs("Online", json.dumps({"step": "gpu", "state": "running", "time": "t"}))
    health.wait(instance, timeout_s=600, on_progress=progress.append, poll_s=0)
    assert progress == ["boot step gpu: running", "boot step docker: running", "boot step services: running",
                        "boot complete; waiting for the first token from llama3.2:3b",
                        "boot step complete: done"]  # fmt: skip
    assert len(polls) == 5, "it stops polling once the first token is in"
    assert health.last_boot_status == ANSWERED


def test_wait_ends_at_a_complete_boot_when_no_model_is_configured(checker) -> None:  # type: ignore[no-untyped-def]
    faults, checked, instance = checker
    polls: list[float] = []
    no_model = CONFIG.model_copy(update={"ollama": CONFIG.ollama.model_copy(update={"models": []})})
    health = HealthChecker(checked._runner, no_model, sleep=polls.append)
    faults.ssm_outputs("Online", json.dumps(BOOT_DONE))
    health.wait(instance, timeout_s=600, poll_s=0)
    assert polls == []


def test_wait_ends_when_the_first_model_cannot_answer(checker) -> None:  # type: ignore[no-untyped-def]
    faults, health, instance = checker
    polls: list[float] = []
    health._sleep = polls.append
    faults.ssm_outputs("Online", json.dumps({**BOOT_DONE, "first_token_error": "llama3.2:3b: could not be pulled"}))
    health.wait(instance, timeout_s=600, poll_s=0)
    assert polls == []


def test_the_check_script_is_one_command_with_every_section(tmp_path: Path) -> None:
    import subprocess

    text = script(CONFIG)
    assert list(sections(CONFIG)) == ["boot", "gpu", "gpu-host-list", "gpu-container-list", "ollama",
                                      "service-ollama", "service-qdrant"]  # fmt: skip
    (tmp_path / "check.sh").write_text(text)
    result = subprocess.run(["bash", "-n", str(tmp_path / "check.sh")], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert '"model": "llama3.2:3b"' in text and "/api/generate" in text


def _record(name: str, instance: str) -> None:
    from geusemaker.cli.session import open_store

    store = open_store()
    store.upsert_deployment(name, "us-east-1", "running", CONFIG.model_dump(mode="json") | {"name": name}, None)
    store.update_facts(name, instance_id=instance, region="us-east-1", hourly_usd=0.2)


def test_health_command_json_and_status_shows_the_last_health(cli, checker, shared_sandbox: str) -> None:  # type: ignore[no-untyped-def]
    faults, _, instance = checker
    _record("hc", instance)
    faults.ssm_outputs("Online", output())
    result = cli("--endpoint-url", shared_sandbox, "health", "hc", "--output", "json")
    assert result.code == 0, result.err
    document = json.loads(result.out)
    assert document["overall"] == "healthy" and document["gpus"][0]["name"] == "NVIDIA H100 80GB HBM3"
    assert all(set(c) == {"name", "status", "detail"} for c in document["checks"])
    table = cli("--endpoint-url", shared_sandbox, "health", "hc")
    assert "NVIDIA H100 80GB HBM3" in table.out and "81,559 MiB" in table.out
    assert json.loads(cli("status", "hc", "-o", "json").out)[0]["health"] == "healthy"


def test_logs_reads_only_what_is_new(cli, checker, shared_sandbox: str) -> None:  # type: ignore[no-untyped-def]
    faults, _, instance = checker
    _record("lg", instance)
    faults.ssm_outputs("Online", "2026-11-23T10:00:00Z step docker: start\n\n@@GEUSEMAKER-CURSOR=4242\n")
    result = cli("--endpoint-url", shared_sandbox, "logs", "lg", "--tail", "20")
    assert result.code == 0, result.err
    assert result.out == "2026-11-23T10:00:00Z step docker: start\n"
    from geusemaker.cli.health_cmd import _read_logs

    target = AwsTarget(region="us-east-1", endpoint_url=shared_sandbox, access_key="t", secret_key="t")
    runner = SsmRunner(AwsClients(target), "us-east-1", delay_s=1)
    text, cursor = _read_logs(runner, instance, "boot", 20, "4242")
    assert (text, cursor) == ("2026-11-23T10:00:00Z step docker: start\n", "4242")
    sent = [c for c in faults.calls if c == "ssm.SendCommand"]
    assert sent, "logs go through SendCommand"
    bad = cli("--endpoint-url", shared_sandbox, "logs", "lg", "--service", "redis")
    assert bad.code == 2 and "--service" in bad.err


def test_health_in_the_sandbox_says_why_it_cannot_check(cli, shared_sandbox: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "s.yaml"
    config.write_text("name: sbx\nregion: us-east-1\nstorage:\n  data: none\n")
    assert cli("--sandbox", "deploy", "-c", str(config), "--yes").code == 0
    try:
        document = json.loads(cli("--sandbox", "health", "sbx", "-o", "json").out)
        assert document["overall"] == "unknown" and "sandbox" in document["checks"][0]["detail"]
    finally:
        assert cli("--sandbox", "destroy", "sbx", "--yes", "--delete-data").code == 0


def test_a_section_whose_output_ends_without_a_newline_is_still_read(tmp_path: Path) -> None:
    import subprocess

    from geusemaker.health.checks import split_sections

    section = script(validate_data({"name": "h", "tier": "cpu", "services": ["ollama"]})).splitlines()[0]
    shell = section + "\nsection boot 'cat status.json'\nsection service-ollama 'printf ok; exit 7'\n"
    (tmp_path / "status.json").write_text('{"step": "complete", "state": "done"}')  # as json.dump writes it
    result = subprocess.run(["bash", "-c", shell], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert split_sections(result.stdout) == {
        "boot": ('{"step": "complete", "state": "done"}\n', 0),
        "service-ollama": ("ok\n", 7),
    }
