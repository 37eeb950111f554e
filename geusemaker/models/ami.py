"""Facts about the machine images GeuseMaker boots: where AWS publishes them and how they are named."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Architecture = Literal["x86_64", "arm64"]
UbuntuRelease = Literal["22.04", "24.04"]

DLAMI_OWNER = "898082745236"
CANONICAL_OWNER = "099720109477"
UBUNTU_CODENAMES: dict[str, str] = {"22.04": "jammy", "24.04": "noble"}
DEFAULT_UBUNTU: UbuntuRelease = "24.04"


def dlami_parameter(architecture: Architecture, release: UbuntuRelease) -> str:
    """Public SSM parameter holding the newest Deep Learning Base OSS Nvidia Driver GPU AMI id."""
    return f"/aws/service/deeplearning/ami/{architecture}/base-oss-nvidia-driver-gpu-ubuntu-{release}/latest/ami-id"


def dlami_name_prefix(architecture: Architecture, release: UbuntuRelease) -> str:
    """Image name without its date suffix; DescribeImages matches it with a trailing `*`."""
    arm = "ARM64 " if architecture == "arm64" else ""
    return f"Deep Learning {arm}Base OSS Nvidia Driver GPU AMI (Ubuntu {release})"


def _ubuntu_arch(architecture: Architecture) -> str:
    return "amd64" if architecture == "x86_64" else "arm64"


def ubuntu_parameter(architecture: Architecture, release: UbuntuRelease) -> str:
    """Canonical's public SSM parameter for the current Ubuntu server AMI (gp3 root)."""
    return (
        f"/aws/service/canonical/ubuntu/server/{release}/stable/current/{_ubuntu_arch(architecture)}/hvm/ebs-gp3/ami-id"
    )


def ubuntu_name_prefix(architecture: Architecture, release: UbuntuRelease) -> str:
    codename = UBUNTU_CODENAMES[release]
    return f"ubuntu/images/hvm-ssd-gp3/ubuntu-{codename}-{release}-{_ubuntu_arch(architecture)}-server-"


@dataclass(frozen=True)
class ResolvedAmi:
    """The image chosen for a deployment and how it was found."""

    image_id: str
    name: str
    architecture: Architecture
    source: str  # "ssm-parameter", "describe-images", "ubuntu-fallback"
    needs_driver_install: bool
    release: UbuntuRelease = DEFAULT_UBUNTU
