"""Find the machine image: Deep Learning AMI via SSM, then DescribeImages, then plain Ubuntu."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from geusemaker.errors import AwsError, UsageError, UserError
from geusemaker.models.ami import (
    CANONICAL_OWNER,
    DEFAULT_UBUNTU,
    Architecture,
    ResolvedAmi,
    UbuntuRelease,
    dlami_name_prefix,
    dlami_parameter,
    ubuntu_name_prefix,
    ubuntu_parameter,
)
from geusemaker.services.aws import AwsClients, translate_errors
from geusemaker.services.cache import JsonCache


class AmiResolver:
    """Resolves (region, architecture, tier) to an image, caching answers on disk for a day."""

    def __init__(self, clients: AwsClients, cache: JsonCache | None = None) -> None:
        self._clients = clients
        self._cache = cache
        self.notes: list[str] = []

    def resolve(
        self, region: str, architecture: Architecture, tier: str, release: UbuntuRelease = DEFAULT_UBUNTU
    ) -> ResolvedAmi:
        """The image to boot; GPU tier prefers the Deep Learning AMI, CPU tier uses Ubuntu."""
        key = f"{self._clients.target.endpoint_url or 'aws'}|{region}|{architecture}|{tier}|{release}"
        cached = self._cache.get(key) if self._cache else None
        if isinstance(cached, dict):
            return ResolvedAmi(**cached)
        ami = self._lookup(region, architecture, tier, release)
        if self._cache:
            self._cache.put(key, asdict(ami))
        return ami

    def _lookup(self, region: str, architecture: Architecture, tier: str, release: UbuntuRelease) -> ResolvedAmi:
        if tier == "gpu":
            found = self._from_parameter(region, dlami_parameter(architecture, release))
            source = "ssm-parameter"
            if found is None:
                found = self._newest(region, ["amazon"], dlami_name_prefix(architecture, release), architecture)
                source = "describe-images"
            if found is not None:
                return _resolved(found, architecture, source, needs_driver_install=False, release=release)
            self.notes.append(f"no Deep Learning AMI in {region}; using Ubuntu {release} and installing the driver")
        found = self._from_parameter(region, ubuntu_parameter(architecture, release))
        if found is None:
            found = self._newest(region, [CANONICAL_OWNER], ubuntu_name_prefix(architecture, release), architecture)
        if found is None:
            raise UserError(f"no usable {architecture} image found in {region}", details=self.notes)
        source = "ubuntu-fallback" if tier == "gpu" else "ubuntu"
        return _resolved(found, architecture, source, needs_driver_install=tier == "gpu", release=release)

    def _from_parameter(self, region: str, name: str) -> dict[str, Any] | None:
        try:
            with translate_errors("ssm:GetParameter"):
                image_id = self._clients.client("ssm", region).get_parameter(Name=name)["Parameter"]["Value"]
            with translate_errors("ec2:DescribeImages"):
                images = self._clients.client("ec2", region).describe_images(ImageIds=[image_id])["Images"]
        except AwsError as exc:
            self.notes.append(f"{name}: {exc.message}")
            return None
        return images[0] if images else None

    def _newest(self, region: str, owners: list[str], prefix: str, architecture: str) -> dict[str, Any] | None:
        filters = [
            {"Name": "name", "Values": [f"{prefix}*"]},
            {"Name": "architecture", "Values": [architecture]},
            {"Name": "state", "Values": ["available"]},
        ]
        try:
            with translate_errors("ec2:DescribeImages"):
                images = self._clients.client("ec2", region).describe_images(Owners=owners, Filters=filters)["Images"]
        except AwsError as exc:
            self.notes.append(f"DescribeImages {prefix}*: {exc.message}")
            return None
        return max(images, key=lambda image: image.get("CreationDate", "")) if images else None


def _resolved(
    image: dict[str, Any],
    architecture: Architecture,
    source: str,
    *,
    needs_driver_install: bool,
    release: UbuntuRelease,
) -> ResolvedAmi:
    found_arch = image.get("Architecture", architecture)
    if found_arch != architecture:
        raise UsageError(
            f"image {image['ImageId']} ({image.get('Name', '')}) is {found_arch} "
            f"but the instance type is {architecture}",
            hint="GPU families here are x86_64; pick an instance type whose architecture matches the image.",
        )
    return ResolvedAmi(
        image_id=image["ImageId"],
        name=str(image.get("Name", "")),
        architecture=architecture,
        source=source,
        needs_driver_install=needs_driver_install,
        release=release,
    )
