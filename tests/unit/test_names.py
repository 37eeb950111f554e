"""One name rule for configs and commands; names never become paths outside the GeuseMaker home."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from geusemaker.errors import UsageError
from geusemaker.models.config import DeploymentConfig
from geusemaker.models.names import name_problem
from geusemaker.paths import inside
from geusemaker.state.lock import deployment_lock

BAD = ["", "*", "def-?", "../../../x", "a/b", "A", "1abc", "abc-", "-", "a" * 41, "a b", "a\n", "é", "a\\b", "."]
GOOD = ["a", "my-llm", "a" * 40, "x1-2-3"]


@pytest.mark.parametrize("name", BAD)
def test_bad_names_are_refused_the_same_way_everywhere(name: str) -> None:
    assert name_problem(name) is not None
    with pytest.raises(ValidationError):
        DeploymentConfig.model_validate({"name": name})


@pytest.mark.parametrize("name", ["../../../x", "a/b", "../x", "/etc/passwd"])
def test_a_lock_file_is_never_made_outside_the_locks_folder(name: str, tmp_path: Path) -> None:
    locks = tmp_path / "home" / "locks"
    with pytest.raises(UsageError), deployment_lock(locks, name):
        pass
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize("name", GOOD)
def test_good_names_pass(name: str) -> None:
    assert name_problem(name) is None
    assert DeploymentConfig.model_validate({"name": name}).name == name


@pytest.mark.parametrize("leaf", ["../x.lock", "a/b.lock", "..", ".", "", "x\0.lock"])
def test_a_path_from_a_name_stays_in_its_folder(leaf: str, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot be used as a file name"):
        inside(tmp_path, leaf)
    assert inside(tmp_path, "ok.lock") == tmp_path / "ok.lock"
