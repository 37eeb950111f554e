"""The services of a stack: pinned images, ports, data directory owners, secrets and health probes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceSpec:
    """What GeuseMaker needs to know about one service it runs."""

    name: str
    image: str
    port: int | None
    #: uid that owns the service's data directory on the instance (None: no data directory)
    data_uid: int | None
    #: names of the generated secrets it reads (environment variable names)
    secrets: tuple[str, ...]
    #: a shell command, run on the instance, that succeeds when the service is healthy
    health: str
    #: exposed outside 127.0.0.1 in access mode cidr
    public: bool = True


SERVICES: dict[str, ServiceSpec] = {
    spec.name: spec
    for spec in (
        ServiceSpec("ollama", "ollama/ollama:0.12.10", 11434, 0, (),
                    "curl -fsS http://127.0.0.1:11434/api/version"),
        ServiceSpec("postgres", "postgres:16.6-alpine", 5432, 70, ("POSTGRES_PASSWORD",),
                    "docker exec geusemaker-postgres-1 pg_isready -U geusemaker", public=False),
        ServiceSpec("n8n", "n8nio/n8n:1.80.0", 5678, 1000, ("POSTGRES_PASSWORD", "N8N_ENCRYPTION_KEY"),
                    "curl -fsS http://127.0.0.1:5678/healthz"),
        ServiceSpec("qdrant", "qdrant/qdrant:v1.13.4", 6333, 0, ("QDRANT_API_KEY",),
                    "curl -fsS http://127.0.0.1:6333/readyz"),
        ServiceSpec("crawl4ai", "unclecode/crawl4ai:0.6.0-r1", 11235, None, ("CRAWL4AI_API_TOKEN",),
                    "curl -fsS http://127.0.0.1:11235/health"),
    )
}  # fmt: skip


def secret_names(services: Sequence[str]) -> list[str]:
    """The secrets a set of services needs, each once, in a stable order."""
    return sorted({name for service in services for name in SERVICES[service].secrets})


def parameter_path(deployment: str) -> str:
    """SSM path under which a deployment's SecureString parameters live (ends with '/')."""
    return f"/geusemaker/{deployment}/"


def generate_secret_values(services: Sequence[str]) -> dict[str, str]:
    """Fresh random values for every secret the services need (URL-safe, 32 bytes of entropy)."""
    import secrets

    return {name: secrets.token_urlsafe(32) for name in secret_names(services)}
