"""The tags GeuseMaker puts on every resource, so that a deployment's resources can always be found."""

from __future__ import annotations

TAG_DEPLOYMENT = "geusemaker:deployment"
TAG_MANAGED = "geusemaker:managed"
TAG_KIND = "geusemaker:kind"


def tag_dict(deployment: str, kind: str, user_tags: dict[str, str] | None = None) -> dict[str, str]:
    """User tags, then ours (ours win), plus a readable Name."""
    return {
        **(user_tags or {}),
        "Name": f"geusemaker-{deployment}-{kind}",
        TAG_DEPLOYMENT: deployment,
        TAG_MANAGED: "true",
        TAG_KIND: kind,
    }


def tag_list(deployment: str, kind: str, user_tags: dict[str, str] | None = None) -> list[dict[str, str]]:
    """The same tags in AWS's [{"Key": ..., "Value": ...}] form."""
    return [{"Key": key, "Value": value} for key, value in tag_dict(deployment, kind, user_tags).items()]
