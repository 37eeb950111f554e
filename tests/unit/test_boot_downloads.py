"""The boot's downloads and first token, run with bash and stand-in binaries (tests/bootsim.py).

Images and models download concurrently on a cold boot; a boot that finds them on the data volume downloads
nothing; the first model is asked for one token once it is in, and status.json records when, with the phases.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from geusemaker.config_io import validate_data
from geusemaker.models.services import generate_secret_values, parameter_path
from geusemaker.userdata.generator import BootContext, render
from tests.bootsim import BootSim

MODEL = "llama3.2:3b"


def _sim(tmp_path: Path, **config: Any) -> BootSim:
    document = {"name": "sim", "region": "eu-west-1", "ollama": {"models": [MODEL]}, **config}
    stack = validate_data(document)
    sim = BootSim(tmp_path)
    sim.install(render(BootContext(stack, "eu-west-1", file_system_id="fs-0123456789abcdef0")))
    sim.set_secrets(generate_secret_values(stack.services), parameter_path("sim"))
    return sim


def _boot(sim: BootSim, tmp_path: Path) -> int:
    """The whole boot, on a data volume (the default layout) standing in as an empty file."""
    device = tmp_path / "fake-disk"
    device.write_text("")
    return sim.run(GM_DATA_DEVICE=str(device)).returncode


def _models_done(sim: BootSim) -> dict[str, Any]:
    """Wait (generously) for the background model puller to write its result."""
    result = sim.root / "var/lib/geusemaker/models.json"
    deadline = time.monotonic() + 60
    while not result.exists():
        assert time.monotonic() < deadline, f"the model puller never finished:\n{sim.log()}"
        time.sleep(0.2)
    return dict(json.loads(result.read_text()))


def test_a_cold_boot_pulls_models_while_the_other_images_download(tmp_path: Path) -> None:
    sim = _sim(tmp_path)
    (sim.stubs / "no-images").write_text("")  # Docker's store is empty: every image is pulled
    (sim.stubs / "run-models").write_text("")  # systemctl runs the model puller in the background
    started = time.time()
    assert _boot(sim, tmp_path) == 0, sim.log()
    assert _models_done(sim) == {"pulled": MODEL, "present": "", "failed": ""}
    calls = sim.calls()
    compose = [c for c in calls if c.startswith("docker compose -p")]
    others = " ".join(s for s in validate_data({"name": "sim"}).services if s != "ollama")
    assert compose[0].endswith("pull --quiet ollama"), compose
    assert compose[1].endswith("up -d ollama"), compose
    assert compose[2].endswith(f"pull --quiet {others}"), compose
    ollama_up = calls.index(compose[1])
    puller = calls.index("systemctl start --no-block geusemaker-models.service")
    model_pull = calls.index(f"docker exec geusemaker-ollama-1 ollama pull {MODEL}")
    others_ended = calls.index(f"docker pull-ended {others}")
    stack = calls.index("systemctl enable --now geusemaker-stack.service")
    assert ollama_up < puller < calls.index(compose[2]), "the puller starts once Ollama runs, before the other pulls"
    assert model_pull < others_ended, "the model pull began only after the last image pull ended"
    assert others_ended < stack
    status = sim.status()
    phases = status["phases"]
    assert set(phases) == {"images", "models", "services", "first-token"}, phases
    for name, edges in phases.items():
        assert started - 1 <= edges["start"] <= edges["end"] <= time.time(), (name, edges)
    assert phases["models"]["start"] < phases["images"]["end"], "models and images did not overlap"
    assert phases["first-token"]["start"] >= phases["models"]["end"]
    assert phases["first-token"]["start"] <= status["first_token_at"] <= phases["first-token"]["end"]


def test_the_first_token_request_streams_one_token_with_the_configured_keep_alive(tmp_path: Path) -> None:
    sim = _sim(tmp_path, ollama={"models": [MODEL, "qwen2.5:0.5b"], "keep_alive": "-1"})
    result = sim.run(sim.root / "opt/geusemaker/pull-models.sh")
    assert result.returncode == 0, sim.log()
    generate = [c for c in sim.calls() if c.startswith("curl") and c.endswith("/api/generate")]
    assert len(generate) == 1, generate
    body = json.loads(generate[0].split(" -d ", 1)[1].rsplit(" ", 1)[0])
    assert body == {"model": MODEL, "prompt": "Hello", "stream": True, "options": {"num_predict": 1}, "keep_alive": -1}
    assert isinstance(sim.status()["first_token_at"], float)
    assert "first_token_error" not in sim.status()
    probes = (sim.root / "run/geusemaker/health-probes").read_text().split()
    assert len(probes) == 1 and abs(int(probes[0]) - time.time()) < 600, "the guard must see the probe as ours"


def test_a_boot_that_finds_everything_on_the_data_volume_downloads_nothing(tmp_path: Path) -> None:
    sim = _sim(tmp_path, storage={"data": "ebs", "ebs_gb": 20}, tier="cpu")
    (sim.stubs / f"model-{MODEL}").write_text("")  # `ollama show` finds the model
    (sim.stubs / "run-models").write_text("")
    assert _boot(sim, tmp_path) == 0, sim.log()
    assert _models_done(sim) == {"pulled": "", "present": MODEL, "failed": ""}
    calls = sim.calls()
    assert not [c for c in calls if " pull" in c and c.startswith("docker")], "something was downloaded"
    assert "images of ollama: all present, nothing to pull" in sim.log()
    assert isinstance(sim.status()["first_token_at"], float)


def test_a_model_that_cannot_answer_records_why_and_fails_the_puller(tmp_path: Path) -> None:
    sim = _sim(tmp_path)
    (sim.stubs / "generate").write_text('{"error":"model requires more system memory (5.4 GiB) than is available"}\n')
    result = sim.run(sim.root / "opt/geusemaker/pull-models.sh")
    assert result.returncode == 1
    status = sim.status()
    assert "first_token_at" not in status
    assert "more system memory" in status["first_token_error"], status
    assert status["first_token_error"].startswith(f"{MODEL}: ")


def test_a_model_that_cannot_be_pulled_is_the_reason_given(tmp_path: Path) -> None:
    sim = _sim(tmp_path)
    sim.fail("docker")
    result = sim.run(sim.root / "opt/geusemaker/pull-models.sh", GM_PULL_DELAY="0")
    assert result.returncode == 1
    assert sim.status()["first_token_error"] == f"{MODEL}: could not be pulled"
    assert not [c for c in sim.calls() if c.endswith("/api/generate")], "no first-token request without the model"


def test_a_stack_without_models_pulls_every_image_at_once_and_has_no_puller(tmp_path: Path) -> None:
    sim = _sim(tmp_path, tier="cpu", services=["qdrant", "postgres"], ollama={"models": []})
    (sim.stubs / "no-images").write_text("")
    assert _boot(sim, tmp_path) == 0, sim.log()
    compose = [c for c in sim.calls() if c.startswith("docker compose -p")]
    assert [c.rsplit(" pull ", 1)[-1] for c in compose] == ["--quiet qdrant postgres"], compose
    assert (
        "/opt/geusemaker/pull-models.sh"
        not in render(BootContext(validate_data({"name": "s", "ollama": {"models": []}}), "us-east-1")).files
    )
    assert set(sim.status()["phases"]) == {"images", "services"}


def test_the_first_token_request_is_not_activity_for_the_idle_guard(tmp_path: Path) -> None:
    sim = _sim(tmp_path, lifecycle={"idle_stop_minutes": 30})
    assert sim.run(sim.root / "opt/geusemaker/pull-models.sh").returncode == 0, sim.log()
    sim.container_log("ollama", '[GIN] 2026/11/25 - 10:00:00 | 200 | 2.1s | 172.18.0.1 | POST "/api/generate"\n')
    (tmp_path / "uptime").write_text("600.00 0\n")
    guard = sim.run(sim.root / "opt/geusemaker/guard.sh", GM_UPTIME_FILE=str(tmp_path / "uptime"))
    assert guard.returncode == 0, guard.stderr
    assert (sim.root / "run/geusemaker/activity").read_text().strip() == "", "the boot's own request kept it up"
    assert (sim.root / "run/geusemaker/idle_since").exists(), "the idle clock runs"
