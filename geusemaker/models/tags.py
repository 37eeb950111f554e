"""The tags GeuseMaker puts on every resource, so that a deployment's resources can always be found.

Every resource carries the deployment's name and its stack id (generated once per stack and kept
in the local state), so resources of another stack with the same name are never taken for ours.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

TAG_DEPLOYMENT = "geusemaker:deployment"
TAG_MANAGED = "geusemaker:managed"
TAG_KIND = "geusemaker:kind"
TAG_STACK_ID = "geusemaker:stack-id"


def stack_tags(user_tags: Mapping[str, str], stack_id: str) -> dict[str, str]:
    """The tags a stack passes to every create call: the user's plus the stack's unique id."""
    return {**user_tags, TAG_STACK_ID: stack_id}


def tag_dict(deployment: str, kind: str, user_tags: dict[str, str] | None = None) -> dict[str, str]:
    """User tags (with the stack id from `stack_tags`), then ours (ours win), plus a readable Name."""
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


def as_dict(tags: Iterable[Mapping[str, str]] | Mapping[str, str] | None) -> dict[str, str]:
    """AWS's tag list ([{"Key": k, "Value": v}]) or a plain mapping, as a dict."""
    if tags is None:
        return {}
    if isinstance(tags, Mapping):
        return dict(tags)
    return {str(t.get("Key", "")): str(t.get("Value", "")) for t in tags}


def owned(
    tags: Iterable[Mapping[str, str]] | Mapping[str, str] | None, deployment: str, stack_id: str | None = None
) -> bool:
    """True when the tags say the resource belongs to `deployment` (and to `stack_id`, when given).

    Exact comparison: AWS tag filters treat `*` and `?` as wildcards, so every filtered answer
    is checked again here.
    """
    found = as_dict(tags)
    if found.get(TAG_DEPLOYMENT) != deployment:
        return False
    return stack_id is None or found.get(TAG_STACK_ID) == stack_id
