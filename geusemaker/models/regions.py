"""AWS region names: which exist, which a new account must enable first, and checking a name."""

from __future__ import annotations

import difflib

#: Regions every account can use.
DEFAULT_REGIONS: tuple[str, ...] = (
    "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ap-southeast-1", "ap-southeast-2",
    "ca-central-1", "eu-central-1", "eu-north-1", "eu-west-1", "eu-west-2", "eu-west-3", "sa-east-1",
    "us-east-1", "us-east-2", "us-west-1", "us-west-2",
)  # fmt: skip
#: Regions launched since March 2019: disabled in an account until its owner enables them.
OPT_IN_REGIONS: tuple[str, ...] = (
    "af-south-1", "ap-east-1", "ap-east-2", "ap-south-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5",
    "ap-southeast-6", "ap-southeast-7", "ca-west-1", "eu-central-2", "eu-south-1", "eu-south-2", "il-central-1",
    "me-central-1", "me-south-1", "mx-central-1",
)  # fmt: skip
#: Regions of the other partitions (separate accounts and credentials).
OTHER_PARTITION_REGIONS: tuple[str, ...] = ("cn-north-1", "cn-northwest-1", "us-gov-east-1", "us-gov-west-1")
KNOWN_REGIONS: frozenset[str] = frozenset(DEFAULT_REGIONS + OPT_IN_REGIONS + OTHER_PARTITION_REGIONS)
AUTO = "auto"
MAX_REGION_LENGTH = 30


def enable_region_command(region: str) -> str:
    """The AWS CLI command that enables an opt-in region for the account."""
    return f"aws account enable-region --region-name {region}"


def region_problem(text: str, *, allow_auto: bool = True) -> str | None:
    """Why `text` is not a region name (with a did-you-mean), or None when it is one."""
    shown = text if len(text) <= MAX_REGION_LENGTH and text.isprintable() else ascii(text[:MAX_REGION_LENGTH])
    if text in KNOWN_REGIONS or (allow_auto and text == AUTO):
        return None
    allowed = " or auto" if allow_auto else ""
    if len(text) <= MAX_REGION_LENGTH and text.isascii():
        close = difflib.get_close_matches(text, sorted(KNOWN_REGIONS), n=2, cutoff=0.75)
        if close:
            return f"'{shown}' is not an AWS region; did you mean {' or '.join(close)}?"
    return f"'{shown}' is not an AWS region (like us-east-1, eu-west-1){allowed}"


def normalize_region(text: str) -> str:
    """Lower-case and trim a region name the user typed (nothing else is forgiven)."""
    return text.strip().lower() if text.isascii() else text
