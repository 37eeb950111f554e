"""The machine image of every region a plan may launch in, resolved concurrently."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from geusemaker.models.ami import ResolvedAmi
from geusemaker.planning.pool import read_pool
from geusemaker.services.ami import AmiResolver


def region_images(
    resolver: AmiResolver,
    regions: Sequence[str],
    architecture: str,
    tier: str,
    prefetched: Mapping[str, Any],
    max_workers: int,
) -> dict[str, ResolvedAmi]:
    """region -> image, reusing what the first planning round fetched (`prefetched["ami:REGION"]`) and
    asking AWS about the other regions at once, not one after another (each answer is two calls)."""
    images: dict[str, ResolvedAmi] = {}
    wanted = list(dict.fromkeys(regions))
    for region in wanted:
        known = prefetched.get(f"ami:{region}")
        if isinstance(known, ResolvedAmi) and known.architecture == architecture:
            images[region] = known
    missing = [region for region in wanted if region not in images]
    with read_pool(max_workers, "ami") as pool:
        resolved = pool.map(lambda region: resolver.resolve(region, architecture, tier), missing)  # type: ignore[arg-type]
        images |= dict(zip(missing, resolved, strict=True))
    return images
