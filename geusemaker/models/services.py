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
    #: (variable, secret): secrets the image reads from a file named by `variable` (compose secrets),
    #: so that they are not in the container's environment (docker inspect, the process environment)
    file_secrets: tuple[tuple[str, str], ...] = ()


SERVICES: dict[str, ServiceSpec] = {
    spec.name: spec
    for spec in (
        ServiceSpec("ollama", "ollama/ollama:0.12.10", 11434, 0, (),
                    "curl -fsS http://127.0.0.1:11434/api/version"),
        ServiceSpec("postgres", "postgres:16.6-alpine", 5432, 70, ("POSTGRES_PASSWORD",),
                    "docker exec geusemaker-postgres-1 pg_isready -U geusemaker", public=False,
                    file_secrets=(("POSTGRES_PASSWORD_FILE", "POSTGRES_PASSWORD"),)),
        # n8n 1.80 reads DB_POSTGRESDB_PASSWORD_FILE but ignores N8N_ENCRYPTION_KEY_FILE (later releases read it):
        # the key stays in the environment, out of reach of workflows (N8N_BLOCK_ENV_ACCESS_IN_NODE).
        ServiceSpec("n8n", "n8nio/n8n:1.80.0", 5678, 1000, ("POSTGRES_PASSWORD", "N8N_ENCRYPTION_KEY"),
                    "curl -fsS http://127.0.0.1:5678/healthz",
                    file_secrets=(("DB_POSTGRESDB_PASSWORD_FILE", "POSTGRES_PASSWORD"),)),
        ServiceSpec("qdrant", "qdrant/qdrant:v1.13.4", 6333, 0, ("QDRANT_API_KEY",),
                    "curl -fsS http://127.0.0.1:6333/readyz"),
        ServiceSpec("crawl4ai", "unclecode/crawl4ai:0.6.0-r1", 11235, None, ("CRAWL4AI_API_TOKEN",),
                    "curl -fsS http://127.0.0.1:11235/health"),
    )
}  # fmt: skip


def secret_names(services: Sequence[str]) -> list[str]:
    """The secrets a set of services needs, each once, in a stable order."""
    return sorted({name for service in services for name in SERVICES[service].secrets})


@dataclass(frozen=True)
class SecretFile:
    """One secret written at boot into a file that only its service's user may read, mounted by compose."""

    service: str
    variable: str
    secret: str
    uid: int

    @property
    def key(self) -> str:
        """The compose secret's name (also the file name on the host and under /run/secrets)."""
        return f"{self.service}_{self.secret.lower()}"

    @property
    def host_path(self) -> str:
        return f"{SECRET_FILES_DIR}/{self.key}"

    @property
    def container_path(self) -> str:
        return f"/run/secrets/{self.key}"


#: Where the boot writes the file-borne secrets (root-only directory; each file 0400, owned by its reader).
SECRET_FILES_DIR = "/etc/geusemaker/secrets"


def secret_files(services: Sequence[str]) -> list[SecretFile]:
    """The secrets the services read from files, one file per (service, secret)."""
    return [
        SecretFile(name, variable, secret, SERVICES[name].data_uid or 0)
        for name in services
        for variable, secret in SERVICES[name].file_secrets
    ]


def env_secret_names(services: Sequence[str]) -> list[str]:
    """The secrets some service still reads from its environment (the compose env file)."""
    return sorted(
        {
            secret
            for name in services
            for secret in SERVICES[name].secrets
            if secret not in {s for _, s in SERVICES[name].file_secrets}
        }
    )


def parameter_path(deployment: str) -> str:
    """SSM path under which a deployment's SecureString parameters live (ends with '/')."""
    return f"/geusemaker/{deployment}/"


def generate_secret_values(services: Sequence[str]) -> dict[str, str]:
    """Fresh random values for every secret the services need (URL-safe, 32 bytes of entropy)."""
    import secrets

    return {name: secrets.token_urlsafe(32) for name in secret_names(services)}
