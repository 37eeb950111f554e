"""The tags GeuseMaker puts on every resource, so that a deployment's resources can always be found,
and the rules a user's own tags must follow to be accepted by every AWS service the stack uses.

Every resource carries the deployment's name and its stack id (generated once per stack and kept
in the local state), so resources of another stack with the same name are never taken for ours.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping

TAG_DEPLOYMENT = "geusemaker:deployment"
TAG_MANAGED = "geusemaker:managed"
TAG_KIND = "geusemaker:kind"
TAG_STACK_ID = "geusemaker:stack-id"


def stack_tags(user_tags: Mapping[str, str], stack_id: str) -> dict[str, str]:
    """The tags a stack passes to every create call: the user's plus the stack's unique id."""
    return {**user_tags, TAG_STACK_ID: stack_id}


#: AWS's common tag character set (EC2, EFS, IAM, SSM): letters, digits, spaces and these
TAG_PUNCTUATION = frozenset("_.:/=+-@")
MAX_USER_TAGS = 40
#: keys GeuseMaker sets itself; a user tag may not replace them
OWN_KEYS = frozenset({"Name"})
RESERVED_PREFIXES = ("aws:", "geusemaker:")


def _bad_character(text: str) -> str | None:
    for char in text:
        category = unicodedata.category(char)
        if char in TAG_PUNCTUATION or category[0] in "LN" or category == "Zs":
            continue
        return repr(char)
    return None


def user_tag_problem(key: str, value: str) -> str | None:
    """Why AWS (or GeuseMaker) would refuse this tag, or None when it is fine."""
    shown = key if len(key) <= 40 else key[:37] + "..."
    if not 1 <= len(key) <= 128:
        return f"tag key '{shown}' must be 1-128 characters"
    if key.lower().startswith(RESERVED_PREFIXES):
        return f"tag key '{shown}' uses a reserved prefix (aws:, geusemaker:)"
    if key in OWN_KEYS:
        return f"tag key '{key}' is set by GeuseMaker (geusemaker-<name>-<kind>); use another key"
    if key != key.strip():
        return f"tag key '{shown}' starts or ends with a space"
    if len(value) > 256:
        return f"tag '{shown}' value is longer than 256 characters"
    for part, text in (("key", key), ("value", value)):
        bad = _bad_character(text)
        if bad:
            return f"tag {part} of '{shown}' contains {bad}; AWS allows letters, digits, spaces and _ . : / = + - @"
    return None


def validate_user_tags(tags: dict[str, str]) -> dict[str, str]:
    """The user's tags unchanged, or `ValueError` naming the first one AWS would refuse."""
    if len(tags) > MAX_USER_TAGS:
        raise ValueError(f"{len(tags)} tags given; AWS allows 50 per resource and GeuseMaker uses up to 10")
    for key, value in tags.items():
        problem = user_tag_problem(key, value)
        if problem:
            raise ValueError(problem)
    return tags


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
