"""The SQLite state store and the per-deployment lock."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from geusemaker.errors import LockedError
from geusemaker.state.lock import deployment_lock
from geusemaker.state.store import SCHEMA_VERSION, StateStore


def test_new_store_is_private_wal_and_current(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.db")
    assert (tmp_path / "state.db").stat().st_mode & 0o777 == 0o600
    assert store.schema_version == SCHEMA_VERSION
    mode = sqlite3.connect(tmp_path / "state.db").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_old_schema_is_migrated_in_place(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    from geusemaker.state.store import MIGRATIONS

    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[1])
    db.execute("PRAGMA user_version = 1")
    db.execute("INSERT INTO deployments VALUES ('old', 'us-east-1', 'running', '{}', NULL, 1, 1, NULL)")
    db.commit()
    db.close()
    store = StateStore(path)
    assert store.schema_version == SCHEMA_VERSION
    old = store.get("old")
    assert old is not None and old.facts == {}


def test_resources_are_recorded_deleted_and_the_deployment_forgotten(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.db")
    store.upsert_deployment("s", "eu-west-1", "deploying", {"name": "s"}, None)
    store.record("s", "vpc", "vpc-1", "eu-west-1")
    store.record("s", "subnet", "subnet-1", "eu-west-1", zone="eu-west-1a")
    store.record("s", "vpc", "vpc-1", "eu-west-1")  # idempotent
    assert [(r.kind, r.resource_id, r.data) for r in store.resources("s")] == [
        ("vpc", "vpc-1", {}),
        ("subnet", "subnet-1", {"zone": "eu-west-1a"}),
    ]
    with pytest.raises(ValueError, match="2 live resources"):
        store.remove("s")
    store.mark_deleted("s", "vpc", "vpc-1")
    store.mark_deleted("s", "subnet", "subnet-1")
    assert store.resources("s") == [] and len(store.resources("s", live_only=False)) == 2
    store.update_facts("s", instance_id="i-1")
    store.update_facts("s", public_ip="203.0.113.1")
    record = store.get("s")
    assert record is not None and record.facts == {"instance_id": "i-1", "public_ip": "203.0.113.1"}
    store.remove("s")
    assert store.get("s") is None and store.deployments() == []


def test_records_survive_a_killed_writer(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    code = (
        "import os, sys; from geusemaker.state.store import StateStore;"
        f"s = StateStore(__import__('pathlib').Path({str(path)!r}));"
        "s.upsert_deployment('k', 'us-east-1', 'deploying', {}, None);"
        "s.record('k', 'vpc', 'vpc-9', 'us-east-1'); os._exit(9)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 9
    assert [r.resource_id for r in StateStore(path).resources("k")] == ["vpc-9"]


def test_lock_refuses_a_second_holder_and_frees_on_exit(tmp_path: Path) -> None:
    code = (
        "import sys, time; from pathlib import Path; from geusemaker.state.lock import deployment_lock\n"
        f"with deployment_lock(Path({str(tmp_path)!r}), 'x'):\n    print('held', flush=True); sys.stdin.read()\n"
    )  # holds the lock until the test lets go (no sleep that a slow machine could outlast)
    holder = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    try:
        with pytest.raises(LockedError) as caught, deployment_lock(tmp_path, "x"):
            pass
        assert str(holder.pid) in caught.value.message
        with deployment_lock(tmp_path, "y"):
            pass
    finally:
        holder.kill()
        holder.wait()
    with deployment_lock(tmp_path, "x"):
        assert (tmp_path / "x.lock").read_text() == str(os.getpid())
