"""The max_runtime_hours deadline in SSM: deploy and start write it, stop and destroy remove it.

Through the CLI against the sandbox's HTTP endpoint; every call that writes or removes the deadline
failing in turn leaves nothing behind.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.awsfakes import Faults, boto_client, count_resources, tagged_resources

HOURS = 5
PARAMETER = "/geusemaker/{}/deadline"


def _config(tmp_path: Path, name: str, hours: int = HOURS) -> str:
    path = tmp_path / f"{name}.yaml"
    path.write_text(
        f"name: {name}\nregion: us-east-1\ncompute:\n  gpu: t4\nstorage:\n  data: ebs\n"
        f"lifecycle:\n  max_runtime_hours: {hours}\n"
    )
    return str(path)


def _deadline(endpoint: str, name: str) -> tuple[int, dict[str, str]] | None:
    """The deadline's value and tags, or None when there is no deadline."""
    ssm: Any = boto_client(endpoint, "ssm")
    try:
        value = ssm.get_parameter(Name=PARAMETER.format(name))["Parameter"]["Value"]
    except ssm.exceptions.ParameterNotFound:
        return None
    tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=PARAMETER.format(name))["TagList"]
    return int(value), {t["Key"]: t["Value"] for t in tags}


def _status(cli, name: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return dict(json.loads(cli("--sandbox", "status", name, "-o", "json").out)[0])


def _timed(cli, *args: str) -> tuple[Any, float, float]:  # type: ignore[no-untyped-def]
    before = time.time()
    result = cli(*args)
    return result, before, time.time()


def test_deploy_and_start_write_the_deadline_stop_and_destroy_remove_it(
    cli, tmp_path: Path, shared_sandbox: str
) -> None:
    before = count_resources(shared_sandbox)
    config = _config(tmp_path, "timed")
    deployed, begun, ended = _timed(cli, "--sandbox", "deploy", "-c", config, "--yes")
    assert deployed.code == 0, deployed.err
    found = _deadline(shared_sandbox, "timed")
    assert found is not None, "deploy wrote the deadline"
    value, tags = found
    assert begun + HOURS * 3600 - 1 <= value <= ended + HOURS * 3600
    status = _status(cli, "timed")
    assert status["deadline_at"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(value))
    assert tags["geusemaker:stack-id"] and tags["geusemaker:kind"] == "deadline"
    assert f"deadline {PARAMETER.format('timed')}" in tagged_resources(shared_sandbox, "timed")
    table = cli("--sandbox", "status", "timed")
    assert f"stops at its deadline, {status['deadline_at']}" in table.out, table.out

    assert cli("--sandbox", "stop", "timed").code == 0
    assert _deadline(shared_sandbox, "timed") is None, "a stopped stack has no deadline"
    assert _status(cli, "timed")["deadline_at"] is None

    started, begun, ended = _timed(cli, "--sandbox", "start", "timed")
    assert started.code == 0, started.err
    again = _deadline(shared_sandbox, "timed")
    assert again is not None and begun + HOURS * 3600 - 1 <= again[0] <= ended + HOURS * 3600, "counted from start"
    assert again[1]["geusemaker:stack-id"] == tags["geusemaker:stack-id"]

    destroyed = cli("--sandbox", "destroy", "timed", "--yes")
    assert destroyed.code == 0, destroyed.err
    assert _deadline(shared_sandbox, "timed") is None, "the deadline is not data: destroy removes it"
    kinds = sorted({item.split()[0] for item in tagged_resources(shared_sandbox, "timed")})
    assert kinds == ["data-volume", "ssm-parameter"], kinds
    kept = destroyed.err.split("its data is kept:", 1)[1]
    assert "deadline" not in kept, "the kept data does not list the deadline"

    redeployed = cli("--sandbox", "deploy", "-c", _config(tmp_path, "timed", hours=0), "--yes")
    assert redeployed.code == 0, redeployed.err
    assert _deadline(shared_sandbox, "timed") is None and _status(cli, "timed")["deadline_at"] is None
    assert cli("--sandbox", "destroy", "timed", "--yes", "--delete-data").code == 0
    assert count_resources(shared_sandbox) == before


def _deadline_calls(faults: Faults) -> list[tuple[str, int]]:
    """The (call, occurrence) of every SSM call that wrote or removed the deadline."""
    seen: dict[str, int] = {}
    found = []
    for call, _, body in faults.requests:
        seen[call] = seen.get(call, 0) + 1
        if call in ("ssm.PutParameter", "ssm.DeleteParameter") and b"/deadline" in body:
            found.append((call, seen[call]))
    return found


def _fail(faults: Faults, call: str, occurrence: int) -> None:
    faults.calls.clear()
    faults.requests.clear()
    faults._seen.clear()
    faults.fail = {(call, occurrence): ("AccessDeniedException", f"injected fault in {call}")}


def test_every_deadline_call_failing_in_turn_leaves_nothing_behind(
    cli, tmp_path: Path, shared_sandbox: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = count_resources(shared_sandbox)
    config = _config(tmp_path, "limited")
    faults = Faults().install(monkeypatch)
    assert cli("--sandbox", "deploy", "-c", config, "--yes").code == 0
    deploy_calls = _deadline_calls(faults)
    assert [c for c, _ in deploy_calls] == ["ssm.DeleteParameter", "ssm.PutParameter"], deploy_calls
    assert cli("--sandbox", "destroy", "limited", "--yes", "--delete-data").code == 0
    for call, occurrence in deploy_calls:
        _fail(faults, call, occurrence)
        failed = cli("--sandbox", "deploy", "-c", config, "--yes")
        assert failed.code != 0 and f"injected fault in {call}" in failed.err, (call, failed.err)
        assert "Traceback" not in failed.err
        assert tagged_resources(shared_sandbox, "limited") == [], call
        assert count_resources(shared_sandbox) == before, call

    faults.fail = {}
    assert cli("--sandbox", "deploy", "-c", config, "--yes").code == 0
    faults.requests.clear()
    faults._seen.clear()
    assert cli("--sandbox", "stop", "limited").code == 0
    stop_calls = _deadline_calls(faults)
    stopped = tagged_resources(shared_sandbox, "limited")
    faults.requests.clear()
    faults._seen.clear()
    assert cli("--sandbox", "start", "limited").code == 0
    start_calls = _deadline_calls(faults)
    assert [c for c, _ in start_calls] == ["ssm.DeleteParameter", "ssm.PutParameter"], start_calls

    for call, occurrence in stop_calls:
        running = tagged_resources(shared_sandbox, "limited")
        _fail(faults, call, occurrence)
        failed = cli("--sandbox", "stop", "limited")
        assert failed.code != 0 and f"injected fault in {call}" in failed.err, failed.err
        assert tagged_resources(shared_sandbox, "limited") == running, "a failed stop changes nothing"
        assert _status(cli, "limited")["status"] == "running"
    faults.fail = {}
    assert cli("--sandbox", "stop", "limited").code == 0
    for call, occurrence in start_calls:
        _fail(faults, call, occurrence)
        failed = cli("--sandbox", "start", "limited")
        assert failed.code != 0 and f"injected fault in {call}" in failed.err, (call, failed.err)
        assert tagged_resources(shared_sandbox, "limited") == stopped, call
        assert _status(cli, "limited")["status"] == "stopped"
    faults.fail = {}
    assert cli("--sandbox", "destroy", "limited", "--yes", "--delete-data").code == 0
    assert count_resources(shared_sandbox) == before
