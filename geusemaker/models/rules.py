"""Shared by the config models: `RuleViolation` (an error that names its field) and the stored-config context."""

from __future__ import annotations

from pydantic import ValidationInfo


class RuleViolation(ValueError):
    """A cross-field rule broken at `path` (relative to the model that checks it)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path


#: validation context of a configuration read back from the state of a deployed stack
STORED_CONTEXT = {"stored": True}


def is_stored(info: ValidationInfo) -> bool:
    """Whether the configuration being validated is one already deployed: rules added since it was
    deployed (access, tags) must not lock its owner out of `health` and `logs`."""
    return bool(info.context and info.context.get("stored"))
