"""Which ports the security group opens in access mode cidr."""

from __future__ import annotations

from geusemaker.models.config import DeploymentConfig
from geusemaker.models.services import SERVICES


def service_ingress(config: DeploymentConfig) -> list[tuple[int, str]]:
    """(port, CIDR) pairs: each public service's port for each allowed CIDR; none in mode ssm."""
    if config.access.mode != "cidr":
        return []
    ports = [SERVICES[s].port for s in config.services if SERVICES[s].public and SERVICES[s].port]
    return [(port, cidr) for port in ports if port for cidr in config.access.allowed_cidrs]
