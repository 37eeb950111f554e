"""What `status` and `list` say a stack costs: $/h running, $/month stopped, cost so far from running time."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from geusemaker import paths
from geusemaker.cli import render
from geusemaker.cli.status_cmd import cost_now, cost_so_far, deployment_json
from geusemaker.orchestration.history import record_event
from geusemaker.state.store import DeploymentRecord, StateStore

HOUR = 3600.0
T0 = 1_800_000_000.0  # a fixed clock: 2027-01-15T08:00:00Z


def _store() -> StateStore:
    return StateStore(paths.state_file())


def _record(store: StateStore, name: str) -> DeploymentRecord:
    record = store.get(name)
    assert record is not None
    return record


def _history(store: StateStore, name: str, status: str) -> None:
    """Two runs of 2 h at $1/h and 1.5 h at $0.5/h, stopped in between and after."""
    store.create_deployment(name, "us-east-1", "running", {"name": name}, None, hourly_usd=0.5, launched_at=T0)
    record_event(store, name, "launched", at=T0, instance_id="i-1", hourly_usd=1.0)
    record_event(store, name, "stopped", at=T0 + 2 * HOUR, instance_id="i-1")
    record_event(store, name, "launched", at=T0 + 5 * HOUR, instance_id="i-2", hourly_usd=0.5)
    if status == "stopped":
        record_event(store, name, "stopped", at=T0 + 6.5 * HOUR, instance_id="i-2")
        store.update_facts(name, instance_id=None, kept_monthly_usd=2.4)
    else:
        store.update_facts(name, instance_id="i-2", launched_at=T0 + 5 * HOUR, deadline_at=int(T0 + 9 * HOUR))
    store.set_status(name, status)  # type: ignore[arg-type]


def test_cost_so_far_sums_every_running_interval_and_the_stopped_stack_shows_its_monthly_cost() -> None:
    store = _store()
    _history(store, "paused", "stopped")
    document = deployment_json(_record(store, "paused"), now=T0 + 30 * HOUR)
    assert document["running_hours"] == pytest.approx(3.5)
    assert document["cost_so_far_usd"] == pytest.approx(2 * 1.0 + 1.5 * 0.5)
    assert document["stopped_monthly_usd"] == 2.4 and document["deadline_at"] is None
    assert document["uptime_s"] is None, "no instance runs"
    assert cost_now(document) == "$2.40/mo"
    assert cost_so_far(document, "h running") == "$2.75 (3.5 h running)"


def test_a_running_stack_shows_its_hourly_cost_the_open_interval_and_its_deadline() -> None:
    store = _store()
    _history(store, "busy", "running")
    document = deployment_json(_record(store, "busy"), now=T0 + 7 * HOUR)
    assert document["running_hours"] == pytest.approx(4.0)  # 2 h, then 2 h of the current instance
    assert document["cost_so_far_usd"] == pytest.approx(2.0 + 1.0)
    assert document["deadline_at"] == "2027-01-15T17:00:00Z"
    assert document["uptime_s"] == 2 * HOUR, "the current instance's uptime"
    assert cost_now(document) == "$0.5000/h"


@pytest.fixture
def columns(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("COLUMNS", "80")
    render.out.cache_clear()
    yield
    render.out.cache_clear()


def test_the_status_table_fits_80_columns_and_cuts_no_amount(
    cli: Any, columns: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _store()
    _history(store, "paused-stack-with-a-long-name", "stopped")
    _history(store, "busy", "running")
    monkeypatch.setattr("time.time", lambda: T0 + 7 * HOUR)
    result = cli("status")
    assert result.code == 0, result.err
    lines = [line.rstrip() for line in result.out.splitlines()]
    assert max(len(line) for line in lines) <= 80, lines
    assert "…" not in result.out
    assert "$2.40/mo" in result.out and "$2.75 (3.5 h)" in result.out
    assert "$0.5000/h" in result.out and "$3.00 (4.0 h)" in result.out
    assert "busy: i-2 in us-east-1, public IP -, up 2h00m" in result.out
    assert "busy: stops at its deadline, 2027-01-15T17:00:00Z" in result.out


def test_list_shows_the_monthly_cost_of_a_stopped_stack(cli: Any) -> None:
    store = _store()
    _history(store, "paused", "stopped")
    _history(store, "busy", "running")
    listed = {d["name"]: d for d in json.loads(cli("list", "-o", "json").out)}
    assert listed["paused"]["kept_monthly_usd"] == 2.4
    assert listed["busy"]["kept_monthly_usd"] is None, "a running stack bills by the hour"
    assert "2.40" in cli("list").out


def test_the_instance_may_read_the_deadline_but_never_write_it() -> None:
    from geusemaker.models.instance_policies import boundary_policy, deployment_policy
    from tests.iamsim import Request, allows

    arn = "arn:aws:ssm:eu-west-1:123456789012:parameter/geusemaker/shop/deadline"
    role = deployment_policy("shop", "eu-west-1", "123456789012", None, "5f0c2b1e9d8a")
    assert allows(role, Request("ssm:GetParameter", arn))
    for policy in (role, boundary_policy()):
        for action in ("ssm:PutParameter", "ssm:DeleteParameter", "ssm:AddTagsToResource", "ssm:LabelParameterVersion"):
            assert not allows(policy, Request(action, arn)), action


def test_a_record_without_events_counts_from_its_launch(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.db")
    store.create_deployment("old", "us-east-1", "running", {"name": "old"}, None, hourly_usd=1.0, launched_at=T0)
    document = deployment_json(_record(store, "old"), now=T0 + 1.5 * HOUR)
    assert document["running_hours"] == pytest.approx(1.5) and document["cost_so_far_usd"] == pytest.approx(1.5)


def test_kept_snapshots_add_their_size_at_the_snapshot_rate_to_the_stopped_cost() -> None:
    from geusemaker.config_io import validate_data
    from geusemaker.models.market import Price, ResourceRates
    from geusemaker.planning.cost import kept_data_monthly

    config = validate_data({"name": "kept", "storage": {"data": "ebs", "ebs_gb": 100}}, "test")
    rates = ResourceRates(Price(0.08, "t"), Price(0.30, "t"), Price(0.005, "t"), Price(0.05, "t"))
    assert kept_data_monthly(config, {"data-volume"}, rates) == 8.0
    assert kept_data_monthly(config, {"data-volume", "snapshot"}, rates, snapshot_gb=100) == 13.0
    unknown = ResourceRates(Price(0.08, "t"), Price(0.30, "t"), Price(0.005, "t"), Price(None, "unknown"))
    assert kept_data_monthly(config, {"data-volume", "snapshot"}, unknown, snapshot_gb=100) is None
