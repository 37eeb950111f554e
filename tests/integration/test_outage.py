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
    assert cli("--sandbox", "destroy", "dying", "--yes", "--delete-data").code == 0
    assert count_resources(shared_sandbox) == before


@pytest.mark.parametrize("code", [None, "ExpiredToken"], ids=["endpoint-down", "credentials-rejected"])
def test_a_destroy_that_deletes_nothing_leaves_the_status_alone(
    cli, tmp_path: Path, shared_sandbox: str, monkeypatch: pytest.MonkeyPatch, code: str | None
) -> None:
    outage = Outage().install(monkeypatch)
    assert cli("--sandbox", "deploy", "-c", _config(tmp_path, "steady"), "--yes").code == 0
    outage.down, outage.code = True, code
    failed = cli("--sandbox", "destroy", "steady", "--yes", "--delete-data")
    assert failed.code in {1, 2} and "bug" not in failed.text, failed.text
    assert _status(cli, "steady")["status"] == "running"
    outage.down = False
    outage.fail.clear()
    assert cli("--sandbox", "destroy", "steady", "--yes", "--delete-data").code == 0


ICE = (
    b'<CreateFleetResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>1</requestId>'
    b"<fleetId>fleet-00000000-0000-0000-0000-000000000000</fleetId><errorSet><item>"
    b"<errorCode>InsufficientInstanceCapacity</errorCode><errorMessage>no capacity</errorMessage>"
    b"<lifecycle>spot</lifecycle></item></errorSet><fleetInstanceSet/></CreateFleetResponse>"
)


class RegionOutOfCapacity(Faults):
    """Every CreateFleet in the first region asked has no capacity, so the deploy moves to another region."""

    def __init__(self) -> None:
        super().__init__()
        self.full_region: str | None = None

    def _before_send(self, request: Any, event_name: str = "", **kwargs: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        from tests.awsfakes import _Raw

        answer = super()._before_send(request, event_name=event_name, **kwargs)
        if event_name.endswith("ec2.CreateFleet"):
            region = str(request.headers["Authorization"]).split("/")[2]
            self.full_region = self.full_region or region
            if region == self.full_region:
                return AWSResponse(request.url, 200, {}, _Raw(ICE))
        return answer


def test_after_a_region_failover_destroy_finds_the_secrets_in_the_new_region(
    cli, tmp_path: Path, shared_sandbox: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    faults = RegionOutOfCapacity().install(monkeypatch)
    path = tmp_path / "moved.yaml"
    path.write_text("name: moved\nregion: auto\ncompute:\n  gpu: t4\n  market: on-demand\nstorage:\n  data: none\n")
    result = cli("--sandbox", "deploy", "-c", str(path), "--yes", "-o", "json")
    assert result.code == 0, result.err
    landed = json.loads(result.out)["region"]
    assert faults.full_region and landed != faults.full_region
    before = {region: count_resources(shared_sandbox, region) for region in (faults.full_region, landed)}
    destroyed = cli("--sandbox", "destroy", "moved", "--yes", "--delete-data")
    assert destroyed.code == 0, destroyed.err
    after = count_resources(shared_sandbox, landed)
    assert after["ssm_parameters"] == before[landed]["ssm_parameters"] - 4
    assert after["instances"] == before[landed]["instances"] - 1
    assert cli("--sandbox", "status", "-o", "json").out.strip() == "[]"
