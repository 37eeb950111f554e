"""The rule for deployment names, shared by the configuration and every command that takes a name.

A name becomes a tag value (where AWS filters treat `*` and `?` as wildcards), part of an SSM path,
an IAM role name and a file name in the GeuseMaker home, so nothing outside the rule is accepted.
"""

from __future__ import annotations

import re

#: \Z rather than $ (which also matches before a final newline), so that re.match is exact too
NAME_PATTERN = r"^[a-z]([a-z0-9-]{0,38}[a-z0-9])?\Z"
NAME_RULE = "1-40 characters: lowercase letters, digits and '-', starting with a letter and not ending with '-'"
_NAME = re.compile(NAME_PATTERN)


def name_problem(name: str) -> str | None:
    """Why `name` is not a deployment name (None when it is one)."""
    if _NAME.fullmatch(name):
        return None
    shown = repr(name if len(name) <= 60 else name[:57] + "...")
    return f"{shown} is not a deployment name ({NAME_RULE})"
