"""The boot scripts executed with bash in a temporary root, with stub binaries (tests/bootsim.py)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from geusemaker.config_io import validate_data
from geusemaker.models.data_layout import DataLayout
from geusemaker.models.services import SERVICES, generate_secret_values, parameter_path
from geusemaker.userdata.generator import BootContext, render
from tests.bootsim import NVIDIA_DRIVER_ERROR, BootSim


def _sim(
    tmp_path: Path, *, driver_install: bool = False, spot: bool = False, layout: DataLayout | None = None, **config: Any
) -> BootSim:
    document = {"name": "sim", "region": "eu-west-1", **config}
    userdata = render(
        BootContext(validate_data(document), "eu-west-1", needs_driver_install=driver_install, spot=spot,
                    file_system_id="fs-0123456789abcdef0", layout=layout)
    )  # fmt: skip
    sim = BootSim(tmp_path)
    sim.install(userdata)
    sim.attach_data_disk()  # the data volume the launch attached (read only where the layout has one)
    sim.set_secrets(generate_secret_values(userdata_services(document)), parameter_path("sim"))
    return sim


def userdata_services(document: dict[str, Any]) -> list[str]:
    return validate_data(document).services


def test_full_gpu_boot_succeeds_and_records_progress(tmp_path: Path) -> None:
    sim = _sim(tmp_path)
    disk = tmp_path / "data-disk"
    result = sim.run()
    assert result.returncode == 0, sim.log()
    status = sim.status()
    assert (status["step"], status["state"], status["error"]) == ("complete", "done", None)
    assert status["steps"] == {
        "boot": "running", "gpu": "done", "docker": "done", "storage": "done", "secrets": "done",
        "memory": "done", "services": "done", "guard": "done", "complete": "done",
    }  # fmt: skip
    assert status["gpu"] == {
        "count": 1,
        "model": "NVIDIA H100 80GB HBM3",
        "driver": "580.159.04",
        "memory_mib": [81559],
    }
    calls = sim.calls()
    for expected in (
        "nvidia-smi -pm 1",
        "nvidia-ctk runtime configure --runtime=docker --set-as-default",
        "systemctl restart docker",
        "docker run --rm --gpus all --entrypoint nvidia-smi ollama/ollama:0.12.10 -L",
        f"mkfs.ext4 -q -L gm-data {disk}",
        f"mount {disk} {sim.root}/opt/geusemaker/data",
        "chown 1000:1000 " + str(sim.root) + "/opt/geusemaker/data/n8n",
        "systemctl enable --now geusemaker-stack.service",
        "systemctl start --no-block geusemaker-models.service",
        "systemctl enable --now geusemaker-guard.timer",
    ):
        assert expected in calls, expected
    assert not any("nfs" in call for call in calls), "the default keeps everything on the data volume"
    assert not any(call.startswith("ubuntu-drivers") for call in calls)
    assert (sim.root / "etc/fstab").read_text() == "LABEL=gm-data /opt/geusemaker/data ext4 defaults,nofail 0 2\n"
    secrets = sim.root / "etc/geusemaker/secrets.env"
    assert secrets.stat().st_mode & 0o777 == 0o600
    names = {line.split("=", 1)[0] for line in secrets.read_text().splitlines()}
    assert names - {f"GM_MEM_{s.upper()}" for s in SERVICES} == {
        "N8N_ENCRYPTION_KEY", "QDRANT_API_KEY", "CRAWL4AI_API_TOKEN",
    }  # fmt: skip
    for service in ("ollama", "n8n", "qdrant", "postgres"):
        assert (sim.root / "opt/geusemaker/data" / service).stat().st_mode & 0o777 == 0o750


def test_flaky_driver_is_retried_until_it_answers(tmp_path: Path) -> None:
    sim = _sim(tmp_path)
    sim.fail_nvidia_smi(3)
    result = sim.run(GM_DRIVER_TRIES="5")
    assert result.returncode == 0, sim.log()
    log = sim.log()
    assert log.count("nvidia-smi attempt") == 3
    assert "couldn't communicate with the NVIDIA driver" in log
    assert sim.calls().count("sleep 10") == 3
    assert sim.status()["steps"]["gpu"] == "done"


def test_driver_that_never_answers_stops_the_boot_with_its_error(tmp_path: Path) -> None:
    sim = _sim(tmp_path)
    sim.fail_nvidia_smi("always")
    result = sim.run(GM_DRIVER_TRIES="4")
    assert result.returncode == 1
    status = sim.status()
    assert (status["step"], status["state"]) == ("gpu", "failed")
    assert "NVIDIA driver not ready after 4 attempts" in str(status["error"])
    assert NVIDIA_DRIVER_ERROR.split(".")[0] in str(status["error"])
    assert not any(call.startswith(("docker", "systemctl")) for call in sim.calls()), "nothing after the GPU step"


def test_plain_ubuntu_installs_the_driver_first(tmp_path: Path) -> None:
    sim = _sim(tmp_path, driver_install=True)
    assert sim.run().returncode == 0, sim.log()
    calls = sim.calls()
    install = calls.index("ubuntu-drivers install --gpgpu")
    assert install < calls.index("nvidia-smi -L")
    assert sim.status()["steps"]["gpu-driver"] == "done"


def test_a_rerun_skips_finished_steps(tmp_path: Path) -> None:
    sim = _sim(tmp_path)
    assert sim.run().returncode == 0
    first = len(sim.calls())
    assert sim.run().returncode == 0
    second = sim.calls()[first:]
    assert not any(call.startswith(("docker", "mount", "nvidia-ctk")) for call in second)
    assert "step docker: already done" in sim.log()


def test_missing_secret_fails_the_boot_clearly(tmp_path: Path) -> None:
    sim = _sim(tmp_path, services=["ollama", "qdrant"])
    (sim.stubs / "ssm-parameters.txt").write_text("")
    assert sim.run().returncode == 1
    status = sim.status()
    assert (status["step"], status["state"]) == ("secrets", "failed")
    assert "secret QDRANT_API_KEY is missing under /geusemaker/sim/" in str(status["error"])


def test_ebs_volume_is_formatted_when_empty_and_mounted(tmp_path: Path) -> None:
    sim = _sim(tmp_path, storage={"data": "ebs", "ebs_gb": 20}, tier="cpu", services=["ollama"])
    device = tmp_path / "fake-disk"
    device.write_text("")
    assert sim.run(GM_DATA_DEVICE=str(device)).returncode == 0, sim.log()
    calls = sim.calls()
    assert f"mkfs.ext4 -q -L gm-data {device}" in calls
    assert f"mount {device} {sim.root}/opt/geusemaker/data" in calls
    assert "LABEL=gm-data /opt/geusemaker/data ext4" in (sim.root / "etc/fstab").read_text()
    assert not any("nvidia" in call for call in calls), "tier cpu never touches the GPU"


# -- lifecycle guard ------------------------------------------------------------------------


def _guard(tmp_path: Path, **lifecycle: int) -> tuple[BootSim, Path]:
    sim = _sim(tmp_path, lifecycle=lifecycle, spot=True)
    (tmp_path / "uptime").write_text("600.12 1000.00\n")
    return sim, sim.root / "opt/geusemaker/guard.sh"


def _run_guard(sim: BootSim, script: Path, now: int, tmp_path: Path) -> None:
    result = sim.run(script, GM_NOW=str(now), GM_UPTIME_FILE=str(tmp_path / "uptime"))
    assert result.returncode == 0, result.stderr


def test_guard_shuts_down_after_the_idle_threshold_and_not_before(tmp_path: Path) -> None:
    sim, guard = _guard(tmp_path, idle_stop_minutes=30)
    t0 = 1_800_000_000
    for minute in (0, 10, 29):
        _run_guard(sim, guard, t0 + minute * 60, tmp_path)
        assert not any(c.startswith("shutdown") for c in sim.calls()), f"shut down after {minute} minutes"
    _run_guard(sim, guard, t0 + 30 * 60, tmp_path)
    assert any(c.startswith("shutdown -h now GeuseMaker: idle for 30 minutes") for c in sim.calls())
    status = sim.status()
    assert (status["step"], status["state"]) == ("guard", "terminating")
    assert "idle for 30 minutes" in str(status["error"])


@pytest.mark.parametrize("busy", ["gpu", "requests"])
def test_activity_resets_the_idle_clock(tmp_path: Path, busy: str) -> None:
    sim, guard = _guard(tmp_path, idle_stop_minutes=30)
    t0 = 1_800_000_000
    _run_guard(sim, guard, t0, tmp_path)
    if busy == "gpu":
        (sim.stubs / "gpu-util").write_text("87\n")
    else:
        sim.container_log("ollama", '[GIN] 2026/11/23 - 10:00:00 | 200 |  1.2s | 172.18.0.1 | POST "/api/generate"\n')
    _run_guard(sim, guard, t0 + 20 * 60, tmp_path)
    (sim.stubs / "gpu-util").write_text("0\n")
    sim.container_log("ollama", '[GIN] 2026/11/23 | 200 | 1ms | 127.0.0.1 | GET "/api/tags"\n')
    _run_guard(sim, guard, t0 + 40 * 60, tmp_path)  # idle since minute 40 only; health checks do not count
    _run_guard(sim, guard, t0 + 60 * 60, tmp_path)
    assert not any(c.startswith("shutdown") for c in sim.calls())
    _run_guard(sim, guard, t0 + 70 * 60, tmp_path)
    assert any(c.startswith("shutdown") for c in sim.calls())


def test_guard_hard_stop_at_max_runtime(tmp_path: Path) -> None:
    sim, guard = _guard(tmp_path, idle_stop_minutes=0, max_runtime_hours=2)
    (sim.stubs / "gpu-util").write_text("99\n")
    (tmp_path / "uptime").write_text(f"{2 * 3600 - 1}.50 0\n")
    _run_guard(sim, guard, 1, tmp_path)
    assert not any(c.startswith("shutdown") for c in sim.calls())
    (tmp_path / "uptime").write_text(f"{2 * 3600}.10 0\n")
    _run_guard(sim, guard, 2, tmp_path)
    assert "max_runtime_hours (2 h) reached" in str(sim.status()["error"])


def test_no_guard_when_both_limits_are_off(tmp_path: Path) -> None:
    userdata = render(BootContext(validate_data({"name": "s", "lifecycle": {"idle_stop_minutes": 0}}), "us-east-1"))
    assert "/opt/geusemaker/guard.sh" not in userdata.files
    assert "guard_enable" not in userdata.parts["boot.sh"]


def test_model_pull_retries_and_reports(tmp_path: Path) -> None:
    sim = _sim(tmp_path, ollama={"models": ["llama3.2:3b", "qwen2.5:0.5b"]})
    result = sim.run(sim.root / "opt/geusemaker/pull-models.sh")
    assert result.returncode == 0, sim.log()
    pulls = [c for c in sim.calls() if c.startswith("docker exec geusemaker-ollama-1 ollama pull")]
    assert pulls == [
        "docker exec geusemaker-ollama-1 ollama pull llama3.2:3b",
        "docker exec geusemaker-ollama-1 ollama pull qwen2.5:0.5b",
    ]
    assert (sim.root / "var/lib/geusemaker/models.json").read_text().startswith('{"pulled": "llama3.2:3b qwen2.5:0.5b"')


def test_the_database_password_reaches_postgres_and_n8n_only_as_files_their_users_read(tmp_path: Path) -> None:
    """The compose secrets the stack mounts exist after the boot: the value alone, 0400, owned by the reader."""
    import yaml

    document = {"name": "sim", "region": "eu-west-1"}
    userdata = render(BootContext(validate_data(document), "eu-west-1", file_system_id="fs-0123456789abcdef0"))
    sim = BootSim(tmp_path)
    sim.install(userdata)
    sim.attach_data_disk()
    values = generate_secret_values(userdata_services(document))
    sim.set_secrets(values, parameter_path("sim"))
    assert sim.run().returncode == 0, sim.log()
    compose = yaml.safe_load(userdata.compose)
    readers = {"postgres_postgres_password": 70, "n8n_postgres_password": 1000}
    assert {key: spec["file"] for key, spec in compose["secrets"].items()} == {
        key: f"/etc/geusemaker/secrets/{key}" for key in readers
    }
    for key, uid in readers.items():
        path = sim.root / "etc/geusemaker/secrets" / key
        assert path.read_bytes() == values["POSTGRES_PASSWORD"].encode(), "the value alone, without a newline"
        assert path.stat().st_mode & 0o777 == 0o400
        assert f"chown {uid}:{uid} {path}" in sim.calls()
    assert (sim.root / "etc/geusemaker/secrets").stat().st_mode & 0o777 == 0o700
    assert values["POSTGRES_PASSWORD"] not in (sim.root / "etc/geusemaker/secrets.env").read_text()
    assert not (sim.root / "etc/geusemaker/secrets.all").exists()


def test_a_command_failing_inside_a_step_marks_the_boot_failed(tmp_path: Path) -> None:
    sim = _sim(tmp_path)
    sim.fail("nvidia-ctk")
    assert sim.run().returncode != 0
    status = sim.status()
    assert (status["step"], status["state"]) == ("docker", "failed")
    assert "nvidia-ctk runtime configure" in str(status["error"])
    assert "FAILED in docker" in sim.log()
    started = [c for c in sim.calls() if c.startswith(("docker compose -p", "systemctl enable"))]
    # only the guard, enabled before storage: it stops an instance whose boot failed after the idle window
    assert started == ["systemctl enable --now geusemaker-guard.timer"], f"nothing after the failed step: {started}"


def test_packages_are_installed_from_fresh_lists(tmp_path: Path) -> None:
    sim = _sim(tmp_path, storage={"data": "efs"})  # the Deep Learning AMI path: Docker is there, nfs-common is not
    assert sim.run().returncode == 0, sim.log()
    apt = [c for c in sim.calls() if c.startswith("apt-get")]
    assert apt[0].endswith(" update")
    assert apt[1].endswith(" install nfs-common")


def test_the_idle_clock_starts_afresh_after_a_reboot(tmp_path: Path) -> None:
    sim, guard = _guard(tmp_path, idle_stop_minutes=30)
    t0 = 1_800_000_000
    _run_guard(sim, guard, t0, tmp_path)  # idle from t0, then stopped by hand for hours
    sim.reboot()
    _run_guard(sim, guard, t0 + 5 * 3600, tmp_path)
    assert not any(c.startswith("shutdown") for c in sim.calls()), "shut down at the first run after a start"
    _run_guard(sim, guard, t0 + 5 * 3600 + 30 * 60, tmp_path)
    assert any(c.startswith("shutdown") for c in sim.calls())


@pytest.mark.parametrize(
    ("source", "make_busy"),
    [
        ("n8n", lambda sim: (sim.stubs / "psql-out").write_text("2\n")),
        ("qdrant", lambda sim: sim.container_log("qdrant", '1.2.3.4 "POST /collections/c/points/search HTTP/1.1" 200')),
        ("crawl4ai", lambda sim: sim.container_log("crawl4ai", 'INFO: 172.18.0.1:1 - "POST /crawl HTTP/1.1" 200 OK\n')),
        ("ssm", lambda sim: (sim.stubs / "ssm-session").write_text("")),
        ("model download", lambda sim: (sim.stubs / "active-geusemaker-models.service").write_text("")),
    ],
)  # fmt: skip
def test_activity_on_any_service_keeps_the_instance_up(tmp_path: Path, source: str, make_busy: Any) -> None:
    sim, guard = _guard(tmp_path, idle_stop_minutes=30)
    t0 = 1_800_000_000
    _run_guard(sim, guard, t0, tmp_path)
    make_busy(sim)
    _run_guard(sim, guard, t0 + 40 * 60, tmp_path)
    assert not any(c.startswith("shutdown") for c in sim.calls()), source


def test_health_probes_are_not_activity(tmp_path: Path) -> None:
    sim, guard = _guard(tmp_path, idle_stop_minutes=30)
    t0 = 1_800_000_000
    _run_guard(sim, guard, t0, tmp_path)
    sim.container_log("qdrant", '172.18.0.1 "GET /readyz HTTP/1.1" 200\n')
    sim.container_log("ollama", '[GIN] 2026/11/23 | 200 | 1s | 172.18.0.1 | POST "/api/generate"\n')
    ledger = sim.root / "run/geusemaker/health-probes"
    ledger.write_text(f"{int(time.time())}\n")  # written by the health script before its generate request
    _run_guard(sim, guard, t0 + 30 * 60, tmp_path)
    assert any(c.startswith("shutdown") for c in sim.calls())
