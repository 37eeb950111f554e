"""A damaged, empty or newer state file is refused with a way to recover; it is never silently reset."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from geusemaker.errors import DeploymentExistsError, StateError
from geusemaker.state.store import SCHEMA_VERSION, StateStore


def _real_state(path: Path) -> None:
    store = StateStore(path)
    store.create_deployment("alive", "us-east-1", "running", {"name": "alive"}, None, stack_id="s1")
    for index in range(200):  # enough pages that truncation cuts records
        store.record("alive", "ssm-parameter", f"/geusemaker/alive/{index}", "us-east-1")
    store.close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def _empty(path: Path) -> None:
    _real_state(path)
    path.write_bytes(b"")


def _truncated(path: Path) -> None:
    _real_state(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


def _garbage(path: Path) -> None:
    path.write_bytes(b"this is not a database\n" * 100)


def _newer(path: Path) -> None:
    _real_state(path)
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()


def _bad_json(path: Path) -> None:
    _real_state(path)
    db = sqlite3.connect(path)
    db.execute("UPDATE deployments SET config = '{\"name\": ' WHERE name = 'alive'")
    db.commit()
    db.close()


def _facts_not_an_object(path: Path) -> None:
    _real_state(path)
    db = sqlite3.connect(path)
    db.execute("UPDATE deployments SET facts = '[1, 2]' WHERE name = 'alive'")
    db.commit()
    db.close()


def _foreign_database(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE deployments (something TEXT)")
    db.commit()
    db.close()


def _a_folder(path: Path) -> None:
    path.mkdir(parents=True)


DAMAGE: dict[str, Callable[[Path], None]] = {
    "empty": _empty,
    "truncated": _truncated,
    "garbage": _garbage,
    "newer-schema": _newer,
    "bad-json": _bad_json,
    "facts-not-an-object": _facts_not_an_object,
    "foreign-database": _foreign_database,
    "a-folder": _a_folder,
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
@pytest.mark.parametrize(
    "command", [["status"], ["list"], ["destroy", "alive", "--yes", "--delete-data"], ["status", "alive"]]
)
def test_a_damaged_state_file_is_refused_with_a_recovery_hint(
    cli, gm_home: Path, damage: str, command: list[str]
) -> None:
    gm_home.mkdir(parents=True, exist_ok=True)
    state = gm_home / "state.db"
    DAMAGE[damage](state)
    before = state.read_bytes() if state.is_file() else None
    result = cli(*command)
    assert result.code == 2, result.text
    assert "bug" not in result.text and "Traceback" not in result.text
    assert str(state) in result.err.replace("\n", "")
    hint = "geusemaker list --discover" if damage != "newer-schema" else "Upgrade GeuseMaker"
    assert hint in result.err.replace("\n", " ")
    if before is not None:
        assert state.read_bytes() == before, "a refused state file is left exactly as it was"


def test_an_empty_state_file_is_never_started_over(gm_home: Path) -> None:
    gm_home.mkdir(parents=True)
    (gm_home / "state.db").write_bytes(b"")
    with pytest.raises(StateError, match="empty"):
        StateStore(gm_home / "state.db")
    assert (gm_home / "state.db").stat().st_size == 0


def test_a_new_state_file_is_created_whole_and_private(tmp_path: Path) -> None:
    path = tmp_path / "home" / "state.db"
    store = StateStore(path)
    assert store.schema_version == SCHEMA_VERSION and store.deployments() == []
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".")] == [], "no temporary file is left"


def test_a_name_is_claimed_once(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.db")
    store.create_deployment("one", "us-east-1", "deploying", {}, None, stack_id="a")
    with pytest.raises(DeploymentExistsError, match="already exists"):
        StateStore(tmp_path / "state.db").create_deployment("one", "us-east-1", "deploying", {}, None, stack_id="b")
    record = store.get("one")
    assert record is not None and record.facts == {"stack_id": "a"}


def test_the_same_id_in_two_regions_is_two_records(tmp_path: Path) -> None:
    """After a region failover the secrets' names repeat in the new region: each keeps its own region."""
    store = StateStore(tmp_path / "state.db")
    store.create_deployment("f", "us-east-1", "deploying", {}, None)
    store.record("f", "ssm-parameter", "/geusemaker/f/db", "us-east-1")
    store.mark_deleted("f", "ssm-parameter", "/geusemaker/f/db", "us-east-1")
    store.record("f", "ssm-parameter", "/geusemaker/f/db", "us-west-2")
    assert [(r.resource_id, r.region) for r in store.resources("f")] == [("/geusemaker/f/db", "us-west-2")]
    store.record("f", "ssm-parameter", "/geusemaker/f/db", "us-east-1")
    assert sorted(r.region for r in store.resources("f")) == ["us-east-1", "us-west-2"]


AS_NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-m", "geusemaker"]
needs_root = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv")


def _as_nobody(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GEUSEMAKER_HOME": str(home), "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    return subprocess.run([*AS_NOBODY, *args], capture_output=True, text=True, env=env, check=False, timeout=60)


@needs_root
def test_a_state_file_of_another_user_is_a_clear_error() -> None:
    """Run as `nobody` against a home whose state file belongs to root: PermissionError, said plainly."""
    top = Path(tempfile.mkdtemp(prefix="gm-perm-"))
    try:
        home = top / "home"
        StateStore(home / "state.db").close()
        for folder in (top, home):
            folder.chmod(0o755)
        result = _as_nobody(home, "status")
        assert result.returncode == 2, result.stderr
        assert "cannot be read or written" in result.stderr and "bug" not in result.stderr
    finally:
        shutil.rmtree(top)


@needs_root
def test_a_home_that_cannot_be_created_is_a_clear_error(tmp_path: Path) -> None:
    tmp_path.chmod(0o700)  # root's: nobody may not enter it
    result = _as_nobody(tmp_path / "home", "status")
    assert result.returncode == 2, result.stderr
    assert "GeuseMaker home" in result.stderr and "GEUSEMAKER_HOME" in result.stderr and "bug" not in result.stderr
