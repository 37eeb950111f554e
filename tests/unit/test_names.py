"""One name rule for configs and commands; names never become paths outside the GeuseMaker home."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
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


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(min_size=0, max_size=50))
def test_any_name_given_to_destroy_is_answered_with_exit_2_and_no_crash(cli, name: str) -> None:  # type: ignore[no-untyped-def]
    """Without local state, every name is refused (not a name, or not deployed) before AWS is asked."""
    result = cli("destroy", name, "--yes", "--delete-data")
    assert result.code == 2, (name, result.text)
    assert "bug" not in result.text and "Traceback" not in result.text
    if name_problem(name) is None:
        assert "no deployment named" in result.err
    elif not name.startswith("-"):  # a leading '-' reads as an option, which click refuses itself
        assert "not a deployment name" in result.err, (name, result.err)
