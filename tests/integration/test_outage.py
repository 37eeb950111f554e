"""AWS going away mid-command: the original failure is what the user sees, and the status stays true."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.awsfakes import Faults, count_resources


class Outage(Faults):
    """Faults, plus: once `down` is set, every call fails as a dead endpoint (or with `code`) does."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.code: str | None = None
        self.after: str | None = None  # the call whose first occurrence takes the endpoint down

    def _before_send(self, request: Any, event_name: str = "", **kwargs: Any) -> Any:
        from botocore.exceptions import EndpointConnectionError

        call = event_name.removeprefix("before-send.")
        if self.down and self.code is None:
            raise EndpointConnectionError(endpoint_url=request.url)
        if self.down and self.code is not None:
            self.fail[(call, self._seen.get(call, 0) + 1)] = (self.code, "injected: the credentials were revoked")
        answer = super()._before_send(request, event_name=event_name, **kwargs)
        if self.after == call:  # this call still gets its answer; every later one finds the endpoint gone
            self.down = True
        return answer


def _config(tmp_path: Path, name: str) -> str:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"name: {name}\nregion: us-east-1\ncompute:\n  gpu: t4\n")
    return str(path)


def _status(cli, name: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return dict(json.loads(cli("--sandbox", "status", name, "-o", "json").out)[0])


def test_the_endpoint_dying_mid_deploy_reports_the_deploy_failure_and_how_to_finish(
    cli, tmp_path: Path, shared_sandbox: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    outage = Outage().install(monkeypatch)
    before = count_resources(shared_sandbox)
    outage.fail[("ec2.CreateFleet", 1)] = ("UnauthorizedOperation", "injected original failure")
    outage.after = "ec2.CreateFleet"
    result = cli("--sandbox", "deploy", "-c", _config(tmp_path, "dying"), "--yes")
    assert result.code == 1, result.text
    err = " ".join(result.err.split())
    assert "injected original failure" in err, "the deploy's own failure is the error shown"
    assert "rollback" in err and "geusemaker destroy dying" in err
    assert "bug" not in err
    status = _status(cli, "dying")
    assert status["status"] == "failed" and "destroy" in status["detail"]
    outage.down, outage.after = False, None
    assert cli("--sandbox", "destroy", "dying", "--yes").code == 0
    assert count_resources(shared_sandbox) == before


@pytest.mark.parametrize("code", [None, "ExpiredToken"], ids=["endpoint-down", "credentials-rejected"])
def test_a_destroy_that_deletes_nothing_leaves_the_status_alone(
    cli, tmp_path: Path, shared_sandbox: str, monkeypatch: pytest.MonkeyPatch, code: str | None
) -> None:
    outage = Outage().install(monkeypatch)
    assert cli("--sandbox", "deploy", "-c", _config(tmp_path, "steady"), "--yes").code == 0
    outage.down, outage.code = True, code
    failed = cli("--sandbox", "destroy", "steady", "--yes")
    assert failed.code in {1, 2} and "bug" not in failed.text, failed.text
    assert _status(cli, "steady")["status"] == "running"
    outage.down = False
    outage.fail.clear()
    assert cli("--sandbox", "destroy", "steady", "--yes").code == 0
