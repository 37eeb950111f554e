"""`RuleViolation`: a validation error that names the field it is about."""

from __future__ import annotations


class RuleViolation(ValueError):
    """A cross-field rule broken at `path` (relative to the model that checks it)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path
