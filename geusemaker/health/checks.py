"""The health checks: one shell script (sections) sent over SSM, and a parser per section."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from geusemaker.health.nvidia import (
    HEALTH_QUERY_FIELDS,
    GpuReading,
    NvidiaSmiError,
    check_output,
    parse_list,
    parse_query_gpu,
)
from geusemaker.models.config import DeploymentConfig
from geusemaker.models.market import Check
from geusemaker.models.services import SERVICES

STATUS_FILE = "/var/lib/geusemaker/status.json"
PROBE_LEDGER = "/run/geusemaker/health-probes"
OLLAMA = "http://127.0.0.1:11434"
_SECTION = re.compile(r"^=== BEGIN (?P<name>[\w-]+)\n(?P<body>.*?)^=== END (?P=name) rc=(?P<rc>\d+)$", re.S | re.M)


@dataclass(frozen=True)
class HealthReport:
    name: str
    overall: str  # healthy / degraded / unhealthy / unknown
    checks: tuple[Check, ...]
    gpus: tuple[GpuReading, ...] = field(default=())

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "overall": self.overall,
            "checks": [c.as_json() for c in self.checks],
            "gpus": [g.as_json() for g in self.gpus],
        }


def sections(config: DeploymentConfig) -> dict[str, str]:
    """Section name -> shell, in the order they run."""
    parts = {"boot": f"cat {STATUS_FILE}"}
    if config.tier == "gpu":
        parts["gpu"] = f"nvidia-smi --query-gpu={HEALTH_QUERY_FIELDS} --format=csv"
        parts["gpu-host-list"] = "nvidia-smi -L"
        parts["gpu-container-list"] = "docker exec geusemaker-ollama-1 nvidia-smi -L"
    if "ollama" in config.services:
        probe = f"curl -fsS {OLLAMA}/api/version && echo"
        if config.ollama.models:
            request = json.dumps({"model": config.ollama.models[0], "prompt": "ok", "stream": False,
                                  "options": {"num_predict": 1}})  # fmt: skip
            # the ledger tells the lifecycle guard that this request is a probe, not activity
            probe += f" && mkdir -p /run/geusemaker && date +%s >>{PROBE_LEDGER}"
            probe += f" && curl -fsS -m 120 -o /dev/null -d {shlex.quote(request)} {OLLAMA}/api/generate"
        parts["ollama"] = probe + f" && curl -fsS {OLLAMA}/api/ps"
    for service in config.services:
        parts[f"service-{service}"] = SERVICES[service].health
    return parts


def script(config: DeploymentConfig) -> str:
    """One script running every section; each prints its output between markers with its exit code."""
    # the output is captured so that the end marker starts a line even when the output does not end one
    # (status.json, most JSON answers)
    lines = ['section() { local out rc; echo "=== BEGIN $1"; out=$(bash -c "$2" 2>&1); rc=$?; '
             'printf \'%s\\n\' "$out"; echo "=== END $1 rc=$rc"; }']  # fmt: skip
    lines += [f"section {name} {shlex.quote(command)}" for name, command in sections(config).items()]
    return "\n".join(lines) + "\n"


def split_sections(output: str) -> dict[str, tuple[str, int]]:
    return {m.group("name"): (m.group("body"), int(m.group("rc"))) for m in _SECTION.finditer(output)}


def evaluate(config: DeploymentConfig, agent: str | None, output: str) -> HealthReport:
    """Turn the agent status and the script's output into checks and an overall verdict."""
    found = split_sections(output)
    checks = [_agent(agent)]
    gpus: list[GpuReading] = []
    if agent == "Online":
        checks.append(_boot(found.get("boot")))
        if config.tier == "gpu":
            gpu_check, gpus = _gpu(found.get("gpu"))
            checks += [gpu_check, _gpu_in_container(found.get("gpu-host-list"), found.get("gpu-container-list"))]
        if "ollama" in config.services:
            checks.append(_ollama(found.get("ollama"), config))
        checks += [_service(name, found.get(f"service-{name}")) for name in config.services]
    return HealthReport(config.name, _overall(checks), tuple(checks), tuple(gpus))


def _overall(checks: list[Check]) -> str:
    critical = {"ssm agent", "boot", "gpu"}
    if any(c.status == "fail" and c.name in critical for c in checks):
        return "unhealthy"
    if all(c.status == "ok" for c in checks):
        return "healthy"
    return "degraded"


def _agent(status: str | None) -> Check:
    if status == "Online":
        return Check("ssm agent", "ok", "online")
    if status is None:
        return Check("ssm agent", "fail", "not registered yet (still booting, or the instance cannot reach SSM)")
    return Check("ssm agent", "fail", f"agent is {status}")


def _boot(section: tuple[str, int] | None) -> Check:
    if section is None or section[1] != 0:
        return Check("boot", "warn", "no boot status yet")
    try:
        status = json.loads(section[0])
    except ValueError:
        return Check("boot", "warn", "the boot status file is unreadable")
    step, state = status.get("step"), status.get("state")
    if state == "failed":
        return Check("boot", "fail", f"step {step} failed: {status.get('error')}")
    if step == "complete" and state == "done":
        return Check("boot", "ok", f"complete at {status.get('time')}")
    if step == "guard":
        return Check("boot", "warn", f"the lifecycle guard is {state}: {status.get('error')}")
    return Check("boot", "warn", f"step {step} {state} (since {status.get('time')})")


def _gpu(section: tuple[str, int] | None) -> tuple[Check, list[GpuReading]]:
    if section is None:
        return Check("gpu", "unknown", "not checked"), []
    try:
        check_output(section[0], section[1])
        readings = parse_query_gpu(section[0])
    except NvidiaSmiError as exc:
        return Check("gpu", "fail", str(exc)), []
    if not readings:
        return Check("gpu", "fail", "nvidia-smi lists no GPU"), []
    first = readings[0]
    detail = f"{len(readings)} x {first.name}, driver {first.driver_version}"
    errors = sum(r.ecc_errors_uncorrected or 0 for r in readings)
    if errors:
        return Check("gpu", "warn", f"{detail}; {errors} uncorrected ECC errors"), readings
    return Check("gpu", "ok", detail), readings


def _gpu_in_container(host: tuple[str, int] | None, container: tuple[str, int] | None) -> Check:
    name = "gpu in ollama container"
    if container is None or host is None:
        return Check(name, "unknown", "not checked")
    try:
        check_output(container[0], container[1])
        inside = {gpu.uuid for gpu in parse_list(container[0])}
        outside = {gpu.uuid for gpu in parse_list(host[0])}
    except NvidiaSmiError as exc:
        return Check(name, "fail", f"the container sees no GPU: {exc}")
    if inside == outside and inside:
        return Check(name, "ok", f"sees all {len(inside)} GPUs")
    return Check(name, "fail", f"sees {len(inside)} of {len(outside)} GPUs")


def _ollama(section: tuple[str, int] | None, config: DeploymentConfig) -> Check:
    name = "ollama on gpu" if config.tier == "gpu" else "ollama"
    if section is None or section[1] != 0:
        return Check(name, "fail", "the Ollama API does not answer" + (f": {_last(section[0])}" if section else ""))
    lines = [line for line in section[0].splitlines() if line.strip().startswith("{")]
    try:
        version = json.loads(lines[0]).get("version")
        loaded = json.loads(lines[-1]).get("models", []) if len(lines) > 1 else []
    except (ValueError, IndexError):
        return Check(name, "warn", "unexpected answer from the Ollama API")
    if not config.ollama.models:
        return Check(name, "ok", f"Ollama {version} answers (no model configured)")
    if not loaded:
        return Check(name, "warn", f"Ollama {version}: {config.ollama.models[0]} is not loaded (still pulling?)")
    model = loaded[0]
    vram = int(model.get("size_vram", 0))
    if config.tier == "gpu" and vram <= 0:
        return Check(name, "fail", f"{model.get('name')} is loaded on the CPU, not the GPU")
    return Check(name, "ok", f"Ollama {version}: {model.get('name')} has {vram / 2**30:.1f} GiB in VRAM")


def _service(service: str, section: tuple[str, int] | None) -> Check:
    if section is None:
        return Check(service, "unknown", "not checked")
    if section[1] == 0:
        return Check(service, "ok", "answers its health probe")
    return Check(service, "fail", f"health probe failed: {_last(section[0])}")


def _last(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:160] if lines else "no output"
