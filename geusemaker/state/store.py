"""The local state store: one SQLite file (WAL, mode 0600) holding deployments and their resources.

Every resource is recorded the moment AWS returns its id, so a crash at any point leaves nothing
that `destroy` cannot find.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 2
MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE deployments (
        name TEXT PRIMARY KEY,
        region TEXT NOT NULL,
        status TEXT NOT NULL,
        config TEXT NOT NULL,
        plan TEXT,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        detail TEXT
    );
    CREATE TABLE resources (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        deployment TEXT NOT NULL,
        kind TEXT NOT NULL,
        resource_id TEXT NOT NULL,
        region TEXT NOT NULL,
        data TEXT NOT NULL DEFAULT '{}',
        created_at REAL NOT NULL,
        deleted_at REAL,
        UNIQUE (deployment, kind, resource_id)
    );
    CREATE INDEX resources_by_deployment ON resources (deployment, deleted_at);
    """,
    2: """
    ALTER TABLE deployments ADD COLUMN facts TEXT NOT NULL DEFAULT '{}';
    """,
}


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


class StateStore:
    """Thread-safe access to the state database."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
        path.chmod(0o600)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, timeout=30, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._migrate()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:  # Ctrl-C included: undo the half-written transaction, then re-raise
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _migrate(self) -> None:
        with self._tx() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            for number in range(version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[number].split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {number}")

    @property
    def schema_version(self) -> int:
        with self._lock:
            return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    # -- deployments -------------------------------------------------------------------------
    def upsert_deployment(
        self, name: str, region: str, status: str, config: dict[str, Any], plan: dict[str, Any] | None
    ) -> None:
        now = time.time()
        with self._tx() as db:
            db.execute(
                """INSERT INTO deployments (name, region, status, config, plan, created_at, updated_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT(name) DO UPDATE SET region=excluded.region, status=excluded.status,
                   config=excluded.config, plan=excluded.plan, updated_at=excluded.updated_at, detail=NULL""",
                (name, region, status, json.dumps(config), json.dumps(plan) if plan else None, now, now),
            )

    def set_status(self, name: str, status: str, detail: str | None = None) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE deployments SET status=?, detail=?, updated_at=? WHERE name=?",
                (status, detail, time.time(), name),
            )

    def update_facts(self, name: str, **facts: Any) -> None:
        """Merge facts (instance id, public IP, market, health ...) into the deployment."""
        with self._tx() as db:
            row = db.execute("SELECT facts FROM deployments WHERE name=?", (name,)).fetchone()
            if row is None:
                return
            merged = {**json.loads(row["facts"]), **facts}
            db.execute(
                "UPDATE deployments SET facts=?, updated_at=? WHERE name=?", (json.dumps(merged), time.time(), name)
            )

    def get(self, name: str) -> DeploymentRecord | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM deployments WHERE name=?", (name,)).fetchone()
        return _deployment(row) if row else None

    def deployments(self) -> list[DeploymentRecord]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM deployments ORDER BY name").fetchall()
        return [_deployment(row) for row in rows]

    def remove(self, name: str) -> None:
        """Forget a deployment; refused while it has live resources."""
        with self._tx() as db:
            live = db.execute(
                "SELECT COUNT(*) FROM resources WHERE deployment=? AND deleted_at IS NULL", (name,)
            ).fetchone()[0]
            if live:
                raise ValueError(f"{name} still has {live} live resources")
            db.execute("DELETE FROM resources WHERE deployment=?", (name,))
            db.execute("DELETE FROM deployments WHERE name=?", (name,))

    # -- resources ---------------------------------------------------------------------------
    def record(self, name: str, kind: str, resource_id: str, region: str, **data: Any) -> None:
        """Record a created resource (idempotent; a re-created id becomes live again)."""
        with self._tx() as db:
            db.execute(
                """INSERT INTO resources (deployment, kind, resource_id, region, data, created_at)
                   VALUES (?, ?, ?, ?, ?, ?)
                   ON CONFLICT(deployment, kind, resource_id) DO UPDATE SET deleted_at=NULL, data=excluded.data""",
                (name, kind, resource_id, region, json.dumps(data), time.time()),
            )

    def mark_deleted(self, name: str, kind: str, resource_id: str) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE resources SET deleted_at=? WHERE deployment=? AND kind=? AND resource_id=?",
                (time.time(), name, kind, resource_id),
            )

    def resources(self, name: str, *, live_only: bool = True) -> list[ResourceRecord]:
        query = "SELECT * FROM resources WHERE deployment=?" + (" AND deleted_at IS NULL" if live_only else "")
        with self._lock:
            rows = self._db.execute(query + " ORDER BY id", (name,)).fetchall()
        return [
            ResourceRecord(
                r["kind"], r["resource_id"], r["region"], json.loads(r["data"]), r["created_at"], r["deleted_at"]
            )
            for r in rows
        ]


def _deployment(row: sqlite3.Row) -> DeploymentRecord:
    return DeploymentRecord(
        name=row["name"],
        region=row["region"],
        status=row["status"],
        config=json.loads(row["config"]),
        plan=json.loads(row["plan"]) if row["plan"] else None,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        detail=row["detail"],
        facts=json.loads(row["facts"]),
    )
