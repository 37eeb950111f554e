"""`status` counts a stack's cost so far from the running time of each of its instances, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from geusemaker import paths
from geusemaker.models.history import EVENTS_FACT
from geusemaker.state.store import StateStore
from tests.awsfakes import count_resources

HOUR = 3600.0
T0 = 1_800_000_000.0


def _status(cli, name: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return dict(json.loads(cli("--sandbox", "status", name, "-o", "json").out)[0])


def test_cost_so_far_is_the_sum_of_the_running_intervals_of_deploy_start_and_stops(
    cli, tmp_path: Path, shared_sandbox: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = count_resources(shared_sandbox)
    config = tmp_path / "meter.yaml"
    config.write_text("name: meter\nregion: us-east-1\ncompute:\n  gpu: t4\nstorage:\n  data: ebs\n")
    assert cli("--sandbox", "deploy", "-c", str(config), "--yes").code == 0
    assert cli("--sandbox", "stop", "meter").code == 0
    assert cli("--sandbox", "start", "meter").code == 0
    assert cli("--sandbox", "stop", "meter").code == 0

    store = StateStore(paths.state_file())
    record = store.get("meter")
    assert record is not None
    events = record.facts[EVENTS_FACT]
    assert [e["event"] for e in events] == ["launched", "stopped", "launched", "stopped"]
    prices = [e["hourly_usd"] for e in events if e["event"] == "launched"]
    assert all(isinstance(p, float) and p > 0 for p in prices), prices
    # the recorded times, moved to a known clock: 3 h running, 20 h stopped, 1.5 h running
    for event, at in zip(events, (T0, T0 + 3 * HOUR, T0 + 23 * HOUR, T0 + 24.5 * HOUR), strict=True):
        event["at"] = at
    store.update_facts("meter", **{EVENTS_FACT: events})
    with monkeypatch.context() as clock:
        clock.setattr("time.time", lambda: T0 + 100 * HOUR)
        status = _status(cli, "meter")
        table = cli("--sandbox", "status", "meter").out
    assert status["status"] == "stopped"
    assert status["running_hours"] == pytest.approx(4.5)
    assert status["cost_so_far_usd"] == pytest.approx(round(3 * prices[0] + 1.5 * prices[1], 4))
    assert status["stopped_monthly_usd"] > 0 and status["uptime_s"] is None
    assert f"${status['stopped_monthly_usd']:.2f}/mo" in table and "(4.5 h running)" in table, table
    listed = {d["name"]: d for d in json.loads(cli("--sandbox", "list", "-o", "json").out)}
    assert listed["meter"]["kept_monthly_usd"] == status["stopped_monthly_usd"]

    assert cli("--sandbox", "destroy", "meter", "--yes", "--delete-data").code == 0
    assert count_resources(shared_sandbox) == before
