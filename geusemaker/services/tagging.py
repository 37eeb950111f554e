"""The Resource Groups Tagging API: every resource in a region that carries one tag, page by page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from geusemaker.services.aws import AwsClients, translate_errors


def tagged_resources(clients: AwsClients, region: str, key: str, value: str) -> Iterator[dict[str, Any]]:
    """The ResourceTagMappingList entries (ARN and tags) of resources tagged `key=value` in `region`."""
    client = clients.client("resourcegroupstaggingapi", region)
    with translate_errors("tag:GetResources"):
        pages = client.get_paginator("get_resources").paginate(TagFilters=[{"Key": key, "Values": [value]}])
        for page in pages:
            yield from page["ResourceTagMappingList"]
