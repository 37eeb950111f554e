"""What the sandbox adds to moto so that it looks like a real AWS account with GPU quotas and DLAMIs."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import get_args

from geusemaker.models.ami import (
    CANONICAL_OWNER,
    DLAMI_OWNER,
    Architecture,
    UbuntuRelease,
    dlami_name_prefix,
    dlami_parameter,
    ubuntu_name_prefix,
    ubuntu_parameter,
)
from geusemaker.models.quotas import QUOTA_NAMES

#: EC2 vCPU quotas the sandbox serves, with their Service Quotas names.
EC2_VCPU_QUOTAS: dict[str, str] = {
    code: QUOTA_NAMES[code] for code in ("L-DB2E81BA", "L-417A185B", "L-3819A6DF", "L-7212CCBC", "L-1216C47A")
}
DEFAULT_SANDBOX_QUOTA = 64.0

# Image dates: the newest is what the SSM parameter points at; the older one tests "newest wins".
IMAGE_DATES = ("20250901", "20251115")


@dataclass(frozen=True)
class SeedImage:
    """One image the sandbox registers in a region, and the SSM parameter that names it (if any)."""

    image_id: str
    name: str
    owner_id: str
    architecture: Architecture
    created: datetime
    parameter: str | None


def image_id_for(region: str, name: str) -> str:
    """Stable fake AMI id, the same on every sandbox start."""
    return "ami-" + hashlib.sha256(f"{region}|{name}".encode()).hexdigest()[:17]


def seed_images(region: str) -> list[SeedImage]:
    """DLAMI and Canonical Ubuntu images for every architecture and Ubuntu release, two dates each."""
    images = []
    for architecture in get_args(Architecture):
        for release in get_args(UbuntuRelease):
            for index, date in enumerate(IMAGE_DATES):
                newest = index == len(IMAGE_DATES) - 1
                created = datetime.strptime(date, "%Y%m%d").replace(tzinfo=UTC)
                for owner, name, parameter in (
                    (DLAMI_OWNER, f"{dlami_name_prefix(architecture, release)} {date}", dlami_parameter),
                    (CANONICAL_OWNER, f"{ubuntu_name_prefix(architecture, release)}{date}", ubuntu_parameter),
                ):
                    images.append(
                        SeedImage(
                            image_id=image_id_for(region, name),
                            name=name,
                            owner_id=owner,
                            architecture=architecture,
                            created=created,
                            parameter=parameter(architecture, release) if newest else None,
                        )
                    )
    return images


def placement_score(region: str, zone_or_region: str, instance_types: tuple[str, ...], capacity: int) -> int:
    """A stable 1-10 spot placement score (the sandbox has no real spot market)."""
    digest = hashlib.sha256(f"{region}|{zone_or_region}|{','.join(sorted(instance_types))}".encode()).digest()
    score = 3 + digest[0] % 8  # 3..10
    return max(1, score - (capacity - 1) // 4)
