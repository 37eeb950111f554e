"""Nothing destroyed that this run or this stack did not create: same-name deploys, hostile names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.awsfakes import count_resources, tagged_resources
from tests.conftest import run_cli


def _config(tmp_path: Path, name: str, extra: str = "") -> str:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"name: {name}\nregion: us-east-1\ncompute:\n  gpu: t4\n{extra}")
    return str(path)


def _other_install(tmp_path: Path, shared_sandbox: str, label: str) -> dict[str, str]:
    """The environment of a second GeuseMaker install (own home and state) using the same sandbox."""
    home = tmp_path / f"install-{label}"
    home.mkdir()
    (home / "sandbox.json").write_bytes((Path(os.environ["GEUSEMAKER_HOME"]) / "sandbox.json").read_bytes())
    return {"GEUSEMAKER_HOME": str(home)}


def _one_stack_more(before: dict[str, int], after: dict[str, int]) -> bool:
    return (
        after["vpcs"] == before["vpcs"] + 1
        and after["instances"] == before["instances"] + 1
        and after["file_systems"] == before["file_systems"]  # the default: a data volume (and its root), no EFS
        and after["volumes"] >= before["volumes"] + 1
        and after["ssm_parameters"] == before["ssm_parameters"] + 4
        and after["iam_roles"] == before["iam_roles"] + 1
        and after["launch_templates"] == before["launch_templates"] + 1
    )


def test_another_install_deploying_the_same_name_never_deletes_the_first(tmp_path: Path, shared_sandbox: str) -> None:
    """Its deploy is refused before it creates anything (the name is used by a stack it does not know)."""
    config = _config(tmp_path, "same")
    before = count_resources(shared_sandbox)
    first = run_cli("--sandbox", "deploy", "-c", config, "--yes")
    assert first.code == 0, first.err
    up = count_resources(shared_sandbox)
    assert _one_stack_more(before, up)
    second = run_cli("--sandbox", "deploy", "-c", config, "--yes", env=_other_install(tmp_path, shared_sandbox, "b"))
    assert second.code == 3 and "already used in this AWS account" in second.err, second.err
    assert count_resources(shared_sandbox) == up, "the first stack is untouched"
    status = json.loads(run_cli("--sandbox", "status", "same", "--refresh", "-o", "json").out)
    assert status[0]["status"] == "running"
    assert run_cli("--sandbox", "destroy", "same", "--yes", "--delete-data").code == 0
    assert count_resources(shared_sandbox) == before


@pytest.mark.parametrize("other_install", [False, True], ids=["same-home", "two-installs"])
def test_two_same_name_deploys_started_together_leave_exactly_one_stack(
    tmp_path: Path, shared_sandbox: str, other_install: bool
) -> None:
    config = _config(tmp_path, "twin")
    before = count_resources(shared_sandbox)
    second_env = _other_install(tmp_path, shared_sandbox, "twin") if other_install else {}
    command = [sys.executable, "-m", "geusemaker", "--sandbox", "deploy", "-c", config, "--yes", "-o", "json"]
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Stagger: the second starts once the first has begun planning (its planner has asked AWS something).
    started = threading.Event()
    assert first.stderr is not None
    reader = threading.Thread(target=lambda: (first.stderr.read(1), started.set()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    assert started.wait(120)
    second = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **second_env}
    )
    outcomes = [process.communicate(timeout=300) for process in (first, second)]
    codes = [first.returncode, second.returncode]
    errors = [err for _, err in outcomes]
    assert all("bug" not in err for err in errors), errors
    if not other_install:  # one state store: one claims the name, the other is refused before creating anything
        assert sorted(code == 0 for code in codes) == [False, True], (codes, errors)
        loser = errors[codes.index(next(code for code in codes if code != 0))]
        assert "is busy" in loser or "already exists" in loser, loser
    # Two installs may both lose (each finds a name the other took first); never may a loser delete a winner.
    assert codes.count(0) <= 1, (codes, errors)
    after = count_resources(shared_sandbox)
    if 0 not in codes:
        assert after == before, "both rolled back exactly what each created"
        return
    assert _one_stack_more(before, after), "the winner's stack is whole"
    winner_env = second_env if codes[1] == 0 else {}
    status = json.loads(run_cli("--sandbox", "status", "twin", "--refresh", "-o", "json", env=winner_env).out)
    assert status[0]["status"] == "running"
    assert run_cli("--sandbox", "destroy", "twin", "--yes", "--delete-data", env=winner_env).code == 0
    assert count_resources(shared_sandbox) == before


def _files_outside_sqlite_journals(root: Path) -> list[str]:
    """Every path below `root`, less SQLite's -wal/-shm files, which come and go with connections."""
    return sorted(str(p) for p in root.rglob("*") if not p.name.endswith(("-wal", "-shm")))


HOSTILE_NAMES = ["*", "def-?", "", "../../../x", "a/b", "DEF-ONE", " def-one", "def-one*", "-", "x" * 41, "def-one\n"]


def test_destroy_refuses_every_name_outside_the_rule_and_touches_nothing(
    cli, tmp_path: Path, shared_sandbox: str, gm_home: Path
) -> None:
    for name in ("def-one", "def-two"):
        assert cli("--sandbox", "deploy", "-c", _config(tmp_path, name, "storage:\n  data: none\n"), "--yes").code == 0
    try:
        before = count_resources(shared_sandbox)
        outside = _files_outside_sqlite_journals(tmp_path)
        for name in HOSTILE_NAMES:
            for command in (
                ["destroy", name, "--discover", "--yes", "--delete-data"],
                ["destroy", name, "--yes"],
                ["status", name],
            ):
                result = cli("--sandbox", *command)
                assert result.code == 2, (name, command, result.text)
                assert "not a deployment name" in result.err and "bug" not in result.text, (name, result.err)
            assert count_resources(shared_sandbox) == before, f"destroy {name!r} deleted something"
        assert _files_outside_sqlite_journals(tmp_path) == outside, "no file was created or moved"
        assert tagged_resources(shared_sandbox, "def-one") and tagged_resources(shared_sandbox, "def-two")
    finally:
        for name in ("def-one", "def-two"):
            assert cli("--sandbox", "destroy", name, "--yes", "--delete-data").code == 0


def test_discovery_matches_the_name_exactly(cli, tmp_path: Path, shared_sandbox: str) -> None:
    """`def-1` is not `def-10`, and a name that was never deployed is reported as not found."""
    assert cli("--sandbox", "deploy", "-c", _config(tmp_path, "def-10", "storage:\n  data: none\n"), "--yes").code == 0
    try:
        before = count_resources(shared_sandbox)
        result = cli("--sandbox", "--region", "us-east-1", "destroy", "def-1", "--discover", "--yes", "--delete-data")
        assert result.code == 0 and "nothing tagged def-1 was found" in result.err, result.err
        assert "destroyed" not in result.err
        assert count_resources(shared_sandbox) == before
    finally:
        assert cli("--sandbox", "destroy", "def-10", "--yes", "--delete-data").code == 0


def test_discovery_finds_fleets_and_iam_leftovers_and_forgets_terminated_instances(
    cli, tmp_path: Path, shared_sandbox: str
) -> None:
    from tests.awsfakes import boto_client

    other = _other_install(tmp_path, shared_sandbox, "lost")
    assert run_cli("--sandbox", "deploy", "-c", _config(tmp_path, "lost", "storage:\n  data: none\n"), "--yes",
                   env=other).code == 0  # fmt: skip
    ec2 = boto_client(shared_sandbox, "ec2")

    def active_fleets() -> list[str]:
        fleets = ec2.describe_fleets()["Fleets"]
        return [
            f["FleetId"] for f in fleets
            if f["FleetState"] == "active" and {"Key": "geusemaker:deployment", "Value": "lost"} in f.get("Tags", [])
        ]  # fmt: skip

    assert len(active_fleets()) == 1
    listed = {d["name"]: d for d in json.loads(cli("--sandbox", "list", "--discover", "--region", "us-east-1",
                                                   "-o", "json").out)}  # fmt: skip
    assert listed["lost"]["in_state"] is False and listed["lost"]["region"] == "us-east-1"
    gone = cli("--sandbox", "--region", "us-east-1", "destroy", "lost", "--discover", "--yes", "--delete-data")
    assert gone.code == 0, gone.err
    assert active_fleets() == [], "the instant fleet is deleted too"
    listed = json.loads(cli("--sandbox", "list", "--discover", "--region", "us-east-1", "-o", "json").out)
    assert "lost" not in [d["name"] for d in listed], "its terminated instance is not an orphan"

    iam = boto_client(shared_sandbox, "iam")
    tags = [{"Key": "geusemaker:deployment", "Value": "iam-only"}, {"Key": "geusemaker:managed", "Value": "true"}]
    iam.create_role(RoleName="geusemaker-iam-only", Path="/geusemaker/", AssumeRolePolicyDocument="{}", Tags=tags)
    try:
        listed = {d["name"]: d for d in json.loads(cli("--sandbox", "list", "--discover", "--region", "us-east-1",
                                                       "-o", "json").out)}  # fmt: skip
        assert listed["iam-only"]["region"] == "global" and listed["iam-only"]["resources"] == 1
        assert (
            cli(
                "--sandbox", "--region", "us-east-1", "destroy", "iam-only", "--discover", "--yes", "--delete-data"
            ).code
            == 0
        )
        assert "geusemaker-iam-only" not in [r["RoleName"] for r in iam.list_roles()["Roles"]]
    finally:
        for role in iam.list_roles(PathPrefix="/geusemaker/")["Roles"]:
            if role["RoleName"] == "geusemaker-iam-only":
                iam.delete_role(RoleName=role["RoleName"])


def test_list_discover_works_with_a_damaged_state(cli, tmp_path: Path, shared_sandbox: str, gm_home: Path) -> None:
    """The recovery the damaged-state error suggests is usable as it stands."""
    other = _other_install(tmp_path, shared_sandbox, "found")
    config = _config(tmp_path, "found", "storage:\n  data: none\n")
    assert run_cli("--sandbox", "deploy", "-c", config, "--yes", env=other).code == 0
    try:
        (gm_home / "state.db").write_bytes(b"")
        plain = cli("--sandbox", "list")
        assert plain.code == 2 and "empty" in plain.err
        listed = cli("--sandbox", "list", "--discover", "--region", "us-east-1", "-o", "json")
        assert listed.code == 0, listed.err
        assert "warning" in listed.err and "empty" in listed.err
        assert "found" in [d["name"] for d in json.loads(listed.out)]
    finally:
        assert run_cli("--sandbox", "destroy", "found", "--yes", "--delete-data", env=other).code == 0
