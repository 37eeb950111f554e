"""The local state store: one SQLite file (WAL, mode 0600) holding deployments and their resources.

Every resource is recorded the moment AWS returns its id, so a crash at any point leaves nothing
that `destroy` cannot find.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from geusemaker.errors import DeploymentExistsError, StateError
from geusemaker.models.status import DeploymentStatus
from geusemaker.state.records import DeploymentRecord, ResourceRecord, deployment_from_row, json_object
from geusemaker.state.schema import MIGRATIONS, SCHEMA_VERSION, create

T = TypeVar("T")
#: What a damaged or unreadable state file raises (decoding errors: a record edited or cut short).
_BROKEN = (sqlite3.Error, OSError, json.JSONDecodeError, TypeError, KeyError)
RECOVERY_HINT = (
    "Find your deployments in AWS with `geusemaker list --discover --region all`; move the file aside "
    "(keep it: it may still be readable), then remove what you no longer want with "
    "`geusemaker destroy NAME --discover`."
)


class StateStore:
    """Thread-safe access to the state database.

    A file that is empty, unreadable, not a database, or written by a newer GeuseMaker is refused
    with `StateError` (never silently replaced by a fresh one: that would forget running stacks).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._db = self._guard(self._open)

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not self.path.exists():
            create(self.path)
        if self.path.is_file() and self.path.stat().st_size == 0:
            raise StateError(f"the state file {self.path} is empty (0 bytes): it lost every record", hint=RECOVERY_HINT)
        self.path.chmod(0o600)
        db = sqlite3.connect(self.path, check_same_thread=False, timeout=30, isolation_level=None)
        try:
            db.row_factory = sqlite3.Row
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise StateError(
                    f"the state file {self.path} was written by a newer GeuseMaker "
                    f"(schema {version}; this version understands up to {SCHEMA_VERSION})",
                    hint="Upgrade GeuseMaker (pip install -U geusemaker); the file is left as it is.",
                )
            if version == 0 and db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]:
                raise StateError(f"{self.path} is a database, but not a GeuseMaker state file", hint=RECOVERY_HINT)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            self._db = db
            self._migrate()
        except BaseException:
            db.close()
            raise
        return db

    def _guard(self, action: Callable[[], T]) -> T:
        """Run `action`; turn every kind of broken state file into a `StateError` naming the file."""
        try:
            return action()
        except _BROKEN as exc:
            raise self._broken(exc) from None

    def _broken(self, exc: BaseException) -> StateError:
        where = f"the state file {self.path}"
        if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
            return StateError(
                f"{where} is locked by another process ({exc})",
                hint="Wait for the other geusemaker command to finish, then try again.",
            )
        if isinstance(exc, PermissionError):
            return StateError(
                f"{where} cannot be read or written: {exc.strerror}",
                hint=f"Check the owner and mode of {self.path} and its folder (yours, 0600 and 0700).",
            )
        if isinstance(exc, sqlite3.DatabaseError | OSError):
            return StateError(f"{where} cannot be used: {exc}", hint=RECOVERY_HINT)
        return StateError(f"{where} holds a damaged record ({type(exc).__name__}: {exc})", hint=RECOVERY_HINT)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                except BaseException:  # Ctrl-C included: undo the half-written transaction, then re-raise
                    if self._db.in_transaction:
                        self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            except _BROKEN as exc:
                raise self._broken(exc) from None

    def _read(self, action: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            return self._guard(lambda: action(self._db))

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
        return self._read(lambda db: int(db.execute("PRAGMA user_version").fetchone()[0]))

    # -- deployments -------------------------------------------------------------------------
    def create_deployment(
        self,
        name: str,
        region: str,
        status: DeploymentStatus,
        config: dict[str, Any],
        plan: dict[str, Any] | None,
        **facts: Any,
    ) -> None:
        """Record a new deployment; raise `DeploymentExistsError` when the name is taken (atomic)."""
        now = time.time()
        with self._tx() as db:
            existing = db.execute("SELECT status FROM deployments WHERE name=?", (name,)).fetchone()
            if existing is not None:
                raise DeploymentExistsError(
                    f"deployment {name!r} already exists (status {existing['status']})",
                    hint=f"See it with `geusemaker status {name}`, or remove it with `geusemaker destroy {name}`.",
                )
            db.execute(
                """INSERT INTO deployments (name, region, status, config, plan, created_at, updated_at, facts)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
                (name, region, status, json.dumps(config), json.dumps(plan) if plan else None, now, now,
                 json.dumps(facts)),
            )  # fmt: skip

    def reclaim_deployment(
        self, name: str, region: str, status: DeploymentStatus, config: dict[str, Any], plan: dict[str, Any] | None
    ) -> dict[str, Any]:
        """Start a redeploy on a deployment whose data was kept; returns its facts (its stack id stays).

        Refused (atomically) unless its status is `data-kept`, like `create_deployment` for a taken name.
        """
        with self._tx() as db:
            row = db.execute("SELECT status, facts FROM deployments WHERE name=?", (name,)).fetchone()
            if row is None or row["status"] != "data-kept":
                raise DeploymentExistsError(
                    f"deployment {name!r} "
                    + (f"already exists (status {row['status']})" if row else "no longer keeps any data"),
                    hint=f"See it with `geusemaker status {name}`.",
                )
            db.execute(
                """UPDATE deployments SET region=?, status=?, config=?, plan=?, updated_at=?, detail=NULL
                   WHERE name=?""",
                (region, status, json.dumps(config), json.dumps(plan) if plan else None, time.time(), name),
            )
            return json_object(row["facts"])

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

    def set_status(self, name: str, status: DeploymentStatus, detail: str | None = None) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE deployments SET status=?, detail=?, updated_at=? WHERE name=?",
                (status, detail, time.time(), name),
            )

    def save_plan(self, name: str, plan: dict[str, Any]) -> None:
        """The plan the stack now runs (a start's): what its group launches is priced from it."""
        with self._tx() as db:
            db.execute(
                "UPDATE deployments SET plan=?, updated_at=? WHERE name=?", (json.dumps(plan), time.time(), name)
            )

    def update_facts(self, name: str, **facts: Any) -> None:
        """Merge facts (instance id, public IP, market, health ...) into the deployment."""
        self._amend_facts(name, lambda old: {**old, **facts})

    def append_fact(self, name: str, key: str, item: Any) -> None:
        """Append `item` to the list fact `key` in one transaction (a missing or odd fact starts a list)."""
        self._amend_facts(name, lambda old: {**old, key: [*(v if isinstance(v := old.get(key), list) else []), item]})

    def _amend_facts(self, name: str, change: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        with self._tx() as db:
            row = db.execute("SELECT facts FROM deployments WHERE name=?", (name,)).fetchone()
            if row is not None:
                facts = json.dumps(change(json_object(row["facts"])))
                db.execute("UPDATE deployments SET facts=?, updated_at=? WHERE name=?", (facts, time.time(), name))

    def get(self, name: str) -> DeploymentRecord | None:
        row = self._read(lambda db: db.execute("SELECT * FROM deployments WHERE name=?", (name,)).fetchone())
        return self._guard(lambda: deployment_from_row(row)) if row else None

    def deployments(self) -> list[DeploymentRecord]:
        rows = self._read(lambda db: db.execute("SELECT * FROM deployments ORDER BY name").fetchall())
        return self._guard(lambda: [deployment_from_row(row) for row in rows])

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

    def forget(self, name: str) -> None:
        """Mark every resource of `name` deleted and remove the deployment (its resources are known gone)."""
        with self._tx() as db:
            db.execute("DELETE FROM resources WHERE deployment=?", (name,))
            db.execute("DELETE FROM deployments WHERE name=?", (name,))

    # -- resources ---------------------------------------------------------------------------
    def record(self, name: str, kind: str, resource_id: str, region: str, **data: Any) -> None:
        """Record a created resource (idempotent; a re-created id becomes live again)."""
        with self._tx() as db:
            db.execute(
                """INSERT INTO resources (deployment, kind, resource_id, region, data, created_at)
                   VALUES (?, ?, ?, ?, ?, ?)
                   ON CONFLICT(deployment, kind, resource_id, region)
                   DO UPDATE SET deleted_at=NULL, data=excluded.data""",
                (name, kind, resource_id, region, json.dumps(data), time.time()),
            )

    def mark_deleted(self, name: str, kind: str, resource_id: str, region: str | None = None) -> None:
        """Mark a resource deleted (in `region` only, when given: the same id may exist in two regions)."""
        where = "deployment=? AND kind=? AND resource_id=?" + (" AND region=?" if region else "")
        with self._tx() as db:
            db.execute(
                f"UPDATE resources SET deleted_at=? WHERE {where}",
                (time.time(), name, kind, resource_id, *([region] if region else [])),
            )

    def resources(self, name: str, *, live_only: bool = True) -> list[ResourceRecord]:
        query = "SELECT * FROM resources WHERE deployment=?" + (" AND deleted_at IS NULL" if live_only else "")
        rows = self._read(lambda db: db.execute(query + " ORDER BY id", (name,)).fetchall())
        return self._guard(
            lambda: [
                ResourceRecord(
                    r["kind"], r["resource_id"], r["region"], json_object(r["data"]), r["created_at"], r["deleted_at"]
                )
                for r in rows
            ]
        )
