"""Remove AWS credentials from text before it is shown or logged."""

from __future__ import annotations

import re

#: Access key ids (long-term AKIA, temporary ASIA) and the other unique-id prefixes AWS uses.
_KEY_ID = re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|APKA|AROA)[A-Z0-9]{16}(?![A-Z0-9])")
#: A secret key or session token written as `name = value`, `name: value` or `"name": "value"`.
_SECRET = re.compile(
    r"(?i)((?:aws_)?(?:secret_?access_?key|session_?token|security_?token)[\"']?\s*[:=]\s*[\"']?)([A-Za-z0-9/+=]{8,})"
)


def redact(text: str) -> str:
    """`text` with access key ids, secret keys and session tokens replaced by a marker."""
    text = _KEY_ID.sub(lambda m: m.group(0)[:4] + "…(redacted)", text)
    return _SECRET.sub(lambda m: m.group(1) + "(redacted)", text)
