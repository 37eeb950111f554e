"""moto made fast enough for a sandbox that lives for hours: its EC2 tag reads no longer scan every tag.

moto reads one resource's tags through `describe_tags` filtered by resource id, which walks every
tag of the region; a tag filter on a describe (snapshots, volumes, instances) does that once per
candidate, so a sandbox holding a few thousand tags answered a snapshot search in seconds. The tag
store is a dict by resource id: the same answer is one lookup.
"""

from __future__ import annotations

from typing import Any


def install() -> None:
    """Replace moto's per-resource tag read with a direct lookup (idempotent)."""
    from moto.ec2.models.core import TaggedEC2Resource
    from moto.ec2.utils import EC2_PREFIX_TO_RESOURCE, get_prefix

    if getattr(TaggedEC2Resource.get_tags, "geusemaker_patch", False):
        return

    def get_tags(self: Any) -> list[dict[str, str]]:
        resource_id = getattr(self, "id", None)
        if not resource_id:
            return []
        tags = dict(self.ec2_backend.tags.get(resource_id, {}))
        resource_type = EC2_PREFIX_TO_RESOURCE.get(get_prefix(resource_id), "")
        return [
            {"resource_id": resource_id, "key": key, "value": value, "resource_type": resource_type}
            for key, value in tags.items()
        ]

    get_tags.geusemaker_patch = True  # type: ignore[attr-defined]
    TaggedEC2Resource.get_tags = get_tags  # type: ignore[method-assign]
