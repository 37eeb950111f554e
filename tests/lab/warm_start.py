"""The lab's downloads: a cold boot pulls every image and model; a new instance on the kept data pulls nothing.

Image pulls are counted from the registry stand-in's access log (a GET of a manifest by tag is one pull),
model downloads from the Ollama stand-in's record of `/api/pull` (downloaded or already present).
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from geusemaker.health.ttft import FirstToken, first_token
from geusemaker.models.services import SERVICES
from tests.lab.machine import LabMachine, wait_for
from tests.lab.reading import BOOT_TIMEOUT_S
from tests.lab.rootfs import REGISTRY_LOG, mirror_path

#: A stack on the EBS data volume (Docker's images and Ollama's models on it), without the guard's stops.
ON_EBS: dict[str, Any] = {
    "name": "lab-warm",
    "region": "us-east-1",
    "tier": "gpu",
    "compute": {"gpu": "h100", "market": "on-demand"},
    "storage": {"data": "ebs", "ebs_gb": 20},
    "services": ["ollama", "n8n", "qdrant", "crawl4ai", "postgres"],
    "ollama": {"models": ["llama3.2:3b"]},
    "lifecycle": {"idle_stop_minutes": 0, "max_runtime_hours": 0},
}
MODEL_PULLS = "/opt/geusemaker/data/ollama/lab-pulls.log"


@dataclass(frozen=True)
class Boot:
    """One boot to the first token: what it downloaded and how long it took."""

    image_pulls: Counter[str]
    model_downloads: int
    model_pulls_present: int
    #: every model pull the data volume has seen, this boot's included
    model_pulls_total: Counter[str]
    report: FirstToken
    status: dict[str, Any]

    def facts(self) -> dict[str, Any]:
        return {
            "image pulls": dict(self.image_pulls),
            "model downloads": self.model_downloads,
            "boot to first token (s)": self.report.seconds and round(self.report.seconds, 1),
            "longest phases": {p.name: round(p.seconds, 1) for p in self.report.phases},
        }


def image_pulls(machine: LabMachine) -> Counter[str]:
    """Pulls per repository: manifest GETs in the registry's access log (dockerd asks for the tag with HEAD, then
    GETs the manifest by digest: one GET per image pulled)."""
    path = machine.root / REGISTRY_LOG
    text = path.read_text(errors="replace") if path.exists() else ""
    return Counter(re.findall(r'"GET /v2/(\S+)/manifests/\S+ HTTP/[\d.]+" 200', text))


def boot_to_first_token(machine: LabMachine, before: Counter[str]) -> Boot:
    """Power on, wait for the boot and the first token; what was pulled on the way (`before`: the model pulls
    the data volume had seen)."""
    started = time.time()
    machine.boot()
    status = machine.wait_boot(BOOT_TIMEOUT_S)
    assert (status["step"], status["state"], status.get("error")) == ("complete", "done", None), machine.report()

    def answered() -> dict[str, Any] | None:
        current = machine.status()
        assert "first_token_error" not in current, machine.report()
        return current if "first_token_at" in current else None

    status = dict(wait_for(answered, 300, "the first token", 2))
    total = _model_pulls(machine)
    pulls = total - before
    report = first_token(started, {}, status, model=machine.config.ollama.models[0])
    return Boot(image_pulls(machine), pulls["downloaded"], pulls["present"], total, report, status)


def _model_pulls(machine: LabMachine) -> Counter[str]:
    lines = machine.run(f"cat {MODEL_PULLS}", check=False).stdout.split("\n")
    return Counter(line.split()[0] for line in lines if line.strip())


def cold_boot(machine: LabMachine) -> Boot:
    """A first boot on an empty data volume pulls every image (from the registry) and every model."""
    boot = boot_to_first_token(machine, Counter())
    expected = {mirror_path(SERVICES[s].image).split(":", maxsplit=1)[0] for s in machine.config.services}
    assert set(boot.image_pulls) == expected, f"{boot.image_pulls} != {expected}"
    assert boot.model_downloads == len(machine.config.ollama.models), boot
    assert boot.report.seconds is not None, boot.report
    assert {"images", "models", "services"} <= set(boot.status["phases"]), boot.status
    return boot


def warm_start(machine: LabMachine, cold: Boot) -> Boot:
    """A new instance (a fresh root disk) on the kept data volume pulls no image and no model, and answers."""
    boot = boot_to_first_token(machine, cold.model_pulls_total)
    assert not boot.image_pulls, f"a start after stop pulled images: {dict(boot.image_pulls)}"
    assert (boot.model_downloads, boot.model_pulls_present) == (0, 0), boot
    models = machine.run("cat /var/lib/geusemaker/models.json").stdout
    assert '"pulled": ""' in models and f'"present": "{machine.config.ollama.models[0]}"' in models, models
    assert "images of ollama: all present, nothing to pull" in machine.log()
    assert boot.report.seconds is not None, boot.report
    return boot
