"""The tags GeuseMaker puts on every resource, so that a deployment's resources can always be found,
and the rules a user's own tags must follow to be accepted by every AWS service the stack uses."""

from __future__ import annotations

import unicodedata

TAG_DEPLOYMENT = "geusemaker:deployment"
TAG_MANAGED = "geusemaker:managed"
TAG_KIND = "geusemaker:kind"

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
