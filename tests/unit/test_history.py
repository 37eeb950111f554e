"""A stack's events: recorded in the state, read back in order, and turned into running time and cost."""

from __future__ import annotations

from pathlib import Path

import pytest

from geusemaker.models.history import StackEvent, events_of, running_cost, running_intervals
from geusemaker.orchestration.history import record_event
from geusemaker.state.store import StateStore

HOUR = 3600.0


def test_events_are_kept_in_the_state_in_order(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.db")
    store.create_deployment("demo", "us-east-1", "running", {"name": "demo"}, None)
    record_event(store, "demo", "launched", at=10.0, instance_id="i-1", market="spot", hourly_usd=0.5)
    record_event(store, "demo", "interrupted", at=20.0, instance_id="i-1", detail="spot notice")
    record = store.get("demo")
    assert record is not None
    events = events_of(record.facts)
    assert [(e.event, e.at, e.instance_id) for e in events] == [("launched", 10.0, "i-1"), ("interrupted", 20.0, "i-1")]
    assert events[0].hourly_usd == 0.5 and events[1].detail == "spot notice"


def test_cost_so_far_counts_running_time_only() -> None:
    events = [
        StackEvent(0.0, "launched", "i-1", hourly_usd=1.0),
        StackEvent(2 * HOUR, "stopped", "i-1"),  # 2 h running
        StackEvent(10 * HOUR, "launched", "i-2", hourly_usd=0.5),
        StackEvent(11 * HOUR, "interrupted", "i-2"),  # 1 h
        StackEvent(11.25 * HOUR, "replaced", "i-3", hourly_usd=0.5),  # runs until now
    ]
    hours, usd = running_cost(events, now=13.25 * HOUR)
    assert hours == pytest.approx(5.0)
    assert usd == pytest.approx(2 * 1.0 + 1 * 0.5 + 2 * 0.5)
    assert [i.instance_id for i in running_intervals(events, now=13.25 * HOUR)] == ["i-1", "i-2", "i-3"]


def test_a_replacement_closes_the_previous_interval_and_unknown_prices_give_no_total() -> None:
    events = [StackEvent(0.0, "launched", "i-1", hourly_usd=None), StackEvent(HOUR, "replaced", "i-2", hourly_usd=1.0)]
    hours, usd = running_cost(events, now=2 * HOUR)
    assert hours == pytest.approx(2.0) and usd is None


def test_unreadable_events_are_skipped() -> None:
    facts = {"events": [{"at": "x", "event": "launched"}, "junk", {"at": 1.0, "event": "launched", "extra": 1}]}
    assert [e.at for e in events_of(facts)] == [1.0]
    assert events_of({"events": "junk"}) == []
