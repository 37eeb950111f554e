"""What the state store holds: deployments and the AWS resources they created."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ResourceRecord:
    """One AWS resource a deployment created, and what deleting it needs."""

    kind: str
    resource_id: str
    region: str
    data: dict[str, Any] = field(default_factory=dict)
    created_at: float = 0.0
    deleted_at: float | None = None

    @property
    def live(self) -> bool:
        return self.deleted_at is None


@dataclass(frozen=True)
class DeploymentRecord:
    """A deployment as the state store knows it."""

    name: str
    region: str
    status: str
    config: dict[str, Any]
    plan: dict[str, Any] | None
    created_at: float
    updated_at: float
    detail: str | None
    facts: dict[str, Any]


def json_object(text: str) -> dict[str, Any]:
    """A JSON object from the state; anything else is a damaged record."""
    value = json.loads(text)
    if not isinstance(value, dict):
        raise TypeError(f"expected a JSON object, found {type(value).__name__}")
    return value


def deployment_from_row(row: sqlite3.Row) -> DeploymentRecord:
    """The deployment of one `deployments` row."""
    plan = json_object(row["plan"]) if row["plan"] else None
    return DeploymentRecord(
        name=row["name"],
        region=row["region"],
        status=row["status"],
        config=json_object(row["config"]),
        plan=plan,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        detail=row["detail"],
        facts=json_object(row["facts"]),
    )
