"""Who may reach the stack: the `access` section, which services each mode exposes, and its warnings.

Mode `ssm` opens no port. Mode `cidr` opens, to `allowed_cidrs` only, the services that
authenticate every request (n8n with its login, Qdrant with the generated API key); a service
without authentication (Ollama, Crawl4AI) is opened only when named in `expose_unauthenticated`.
A CIDR wider than `/16` (IPv4) or `/48` (IPv6) that is not a private range needs
`allow_wide_cidrs: true`. Every exposure that deserves a second look is returned as a warning.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Annotated, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from geusemaker.models.rules import RuleViolation, is_stored
from geusemaker.models.services import SERVICES

if TYPE_CHECKING:
    from geusemaker.models.config import DeploymentConfig

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
UnauthenticatedService = Literal["ollama", "crawl4ai"]

#: services that answer only an authenticated request, and how
AUTHENTICATED: dict[str, str] = {"n8n": "its own login", "qdrant": "the generated API key"}
#: what travels in clear when an authenticated service is served over plain HTTP
CREDENTIALS: dict[str, str] = {"n8n": "n8n's login and session cookie", "qdrant": "Qdrant's API key"}
UNAUTHENTICATED: tuple[UnauthenticatedService, ...] = ("ollama", "crawl4ai")
#: a public CIDR with a shorter prefix than this counts as wide (needs allow_wide_cidrs)
WIDE_PREFIX = {4: 16, 6: 48}
MAX_CIDR_CHARS = 64


def parse_cidr(text: str) -> Network:
    """A CIDR block without host bits, or `ValueError` with a message that says what to write."""
    try:
        return ipaddress.ip_network(text, strict=True)
    except ValueError:
        pass
    try:
        loose = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise ValueError(f"{text!r} is not a CIDR block (like 203.0.113.7/32)") from None
    host = text.split("/", 1)[0]
    single = f"{host}/{loose.max_prefixlen}"
    raise ValueError(
        f"{text!r} has host bits set after the /{loose.prefixlen} prefix: write {single} for that one address"
        f" or {loose} for the whole block"
    )


def is_wide(network: Network) -> bool:
    """Whether a block reaches a large part of the internet (private ranges never do)."""
    return network.prefixlen < WIDE_PREFIX[network.version] and not network.is_private


def _describe_block(network: Network) -> str:
    if network.prefixlen == 0:
        return "the whole internet"
    return f"{network.num_addresses:,} addresses"


class AccessConfig(BaseModel):
    """How the user reaches the services: SSM port forwarding only, or inbound CIDRs."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, strict=True)

    mode: Literal["ssm", "cidr"] = Field(
        default="ssm", description="ssm: no inbound ports; cidr: open authenticated services to allowed_cidrs"
    )
    allowed_cidrs: list[Annotated[str, StringConstraints(max_length=MAX_CIDR_CHARS)]] = Field(
        default_factory=list, max_length=20, description="CIDR blocks allowed in (mode cidr only)"
    )
    expose_unauthenticated: list[UnauthenticatedService] = Field(
        default_factory=list,
        description="also open these services, which have no authentication: ollama, crawl4ai (mode cidr only)",
    )
    allow_wide_cidrs: StrictBool = Field(
        default=False,
        description="allow public CIDRs wider than /16 (IPv6: /48), such as 0.0.0.0/0 and ::/0 (mode cidr only)",
    )

    @field_validator("allowed_cidrs")
    @classmethod
    def _cidrs(cls, value: list[str], info: ValidationInfo) -> list[str]:
        normalized = [str(parse_cidr(cidr)) for cidr in value]
        repeated = sorted({cidr for cidr in normalized if normalized.count(cidr) > 1})
        if repeated and not is_stored(info):
            raise ValueError(f"listed more than once: {', '.join(repeated)}")
        return normalized

    @field_validator("expose_unauthenticated")
    @classmethod
    def _unique(cls, value: list[UnauthenticatedService]) -> list[UnauthenticatedService]:
        if len(set(value)) != len(value):
            raise ValueError("services are listed more than once")
        return value

    @model_validator(mode="after")
    def _rules(self, info: ValidationInfo) -> Self:
        if self.mode == "ssm":
            for key in ("allowed_cidrs", "expose_unauthenticated", "allow_wide_cidrs"):
                if getattr(self, key):
                    raise RuleViolation(key, f"{key} is only used with mode: cidr (mode is ssm, which opens no ports)")
            return self
        if not self.allowed_cidrs:
            raise RuleViolation("allowed_cidrs", "mode cidr needs at least one entry in allowed_cidrs")
        wide = [cidr for cidr in self.allowed_cidrs if is_wide(ipaddress.ip_network(cidr))]
        if wide and not self.allow_wide_cidrs and not is_stored(info):
            raise RuleViolation(
                "allowed_cidrs",
                f"{', '.join(wide)} opens the stack to {_describe_block(ipaddress.ip_network(wide[0]))};"
                " list your own address or network (like 203.0.113.7/32), or set access.allow_wide_cidrs: true"
                " if you really mean it",
            )
        return self


def exposed_services(config: DeploymentConfig) -> list[str]:
    """The services reachable from `allowed_cidrs` (none in mode ssm), in the stack's order."""
    access = config.access
    if access.mode != "cidr":
        return []
    return [s for s in config.services if s in AUTHENTICATED or s in access.expose_unauthenticated]


def exposure_problem(config: DeploymentConfig) -> RuleViolation | None:
    """A rule between `access` and `services` that is broken, if any."""
    access = config.access
    missing = [s for s in access.expose_unauthenticated if s not in config.services]
    if missing:
        opened = ", ".join(missing)
        return RuleViolation("expose_unauthenticated", f"{opened} is not in services, so it cannot be opened")
    if access.mode == "cidr" and not exposed_services(config):
        return RuleViolation(
            "mode",
            "mode cidr opens n8n and qdrant (they authenticate every request), and this stack runs neither;"
            f" name what to open in access.expose_unauthenticated ({', '.join(UNAUTHENTICATED)}) or use mode: ssm",
        )
    return None


def service_ingress(config: DeploymentConfig) -> list[tuple[int, str]]:
    """(port, CIDR) pairs: each exposed service's port for each allowed CIDR; none in mode ssm."""
    ports = [port for s in exposed_services(config) if (port := SERVICES[s].port)]
    return [(port, cidr) for port in ports for cidr in config.access.allowed_cidrs]


def exposure_warnings(config: DeploymentConfig) -> list[str]:
    """What a careful user should know before this stack is reachable from outside (empty in mode ssm)."""
    exposed = exposed_services(config)
    if not exposed:
        return []
    cidrs = ", ".join(config.access.allowed_cidrs)
    warnings = []
    for cidr in config.access.allowed_cidrs:
        network = ipaddress.ip_network(cidr)
        if is_wide(network):
            warnings.append(f"{cidr} opens {', '.join(exposed)} to {_describe_block(network)} (allow_wide_cidrs)")
    for service in exposed:
        if service in UNAUTHENTICATED:
            warnings.append(
                f"{service} (port {SERVICES[service].port}) has no authentication: anyone from {cidrs} can use it"
                " (access.expose_unauthenticated)"
            )
    secrets = [CREDENTIALS[s] for s in exposed if s in CREDENTIALS]
    if secrets:
        warnings.append(
            f"plain HTTP from {cidrs}: {' and '.join(secrets)} travel unencrypted; for private use prefer"
            " access.mode: ssm with `geusemaker connect`, or put TLS in front"
        )
    if "n8n" in exposed:
        warnings.append("n8n: the first visitor creates its owner account; create yours right after the deploy")
    return warnings


def n8n_secure_cookie(config: DeploymentConfig) -> bool:
    """n8n's secure cookie stays on unless n8n is served over plain HTTP to `allowed_cidrs`."""
    return "n8n" not in exposed_services(config)


def exposure_json(config: DeploymentConfig) -> dict[str, object]:
    """The access section as `--output json` shows it: the mode, what is reachable from where, and the warnings."""
    return {
        "mode": config.access.mode,
        "exposed_services": exposed_services(config),
        "allowed_cidrs": list(config.access.allowed_cidrs),
        "warnings": exposure_warnings(config),
    }
