"""The state file's schema: numbered migrations, and the atomic creation of a new, current file."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from pathlib import Path

SCHEMA_VERSION = 3
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
    # The same id may exist in two regions (SSM parameter names after a region failover).
    3: """
    CREATE TABLE resources_v3 (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        deployment TEXT NOT NULL,
        kind TEXT NOT NULL,
        resource_id TEXT NOT NULL,
        region TEXT NOT NULL,
        data TEXT NOT NULL DEFAULT '{}',
        created_at REAL NOT NULL,
        deleted_at REAL,
        UNIQUE (deployment, kind, resource_id, region)
    );
    INSERT INTO resources_v3 SELECT id, deployment, kind, resource_id, region, data, created_at, deleted_at
        FROM resources;
    DROP TABLE resources;
    ALTER TABLE resources_v3 RENAME TO resources;
    CREATE INDEX resources_by_deployment ON resources (deployment, deleted_at);
    """,
}


def create(path: Path) -> None:
    """Create an empty, current, private state file atomically (a crash never leaves a 0-byte file)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.new")
    fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    os.close(fd)
    try:
        db = sqlite3.connect(tmp, isolation_level=None)
        try:
            for number in range(1, SCHEMA_VERSION + 1):
                db.executescript(MIGRATIONS[number])
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        finally:
            db.close()
        with contextlib.suppress(FileExistsError):  # never replace a file another process created meanwhile
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
