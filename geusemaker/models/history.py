"""A stack's life as events (launched, stopped, interrupted, replaced ...) and what its running time cost."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

EventKind = Literal[
    "launched",  # an instance of the stack started (deploy, start, or a replacement the CLI saw)
    "replaced",  # AWS started a replacement instance by itself (the stack's Auto Scaling group)
    "interrupted",  # AWS took the instance (spot interruption or rebalance)
    "stopped",  # `geusemaker stop`
    "scaled-to-zero",  # the idle guard or the deadline stopped the stack, data kept
    "fallback-on-demand",  # spot capacity was gone; the stack went on on-demand
    "destroyed",  # `geusemaker destroy`
]
#: the events after which an instance runs (and bills) until an ending event
STARTS: frozenset[str] = frozenset({"launched", "replaced", "fallback-on-demand"})
ENDS: frozenset[str] = frozenset({"stopped", "interrupted", "scaled-to-zero", "destroyed"})
#: facts key under which the state keeps the events, oldest first
EVENTS_FACT = "events"


@dataclass(frozen=True)
class StackEvent:
    """One thing that happened to the stack, at `at` (epoch seconds)."""

    at: float
    event: EventKind
    instance_id: str | None = None
    instance_type: str | None = None
    market: str | None = None
    hourly_usd: float | None = None
    detail: str = ""

    def as_fact(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if value not in (None, "")}

    @classmethod
    def from_fact(cls, fact: dict[str, Any]) -> StackEvent:
        known = {key: fact[key] for key in cls.__dataclass_fields__ if key in fact}
        return cls(**known)


@dataclass(frozen=True)
class RunningInterval:
    """One instance's running time: from a starting event to the next ending one (or now)."""

    started_at: float
    ended_at: float
    hourly_usd: float | None
    instance_id: str | None

    @property
    def hours(self) -> float:
        return max(0.0, self.ended_at - self.started_at) / 3600


def events_of(facts: dict[str, Any]) -> list[StackEvent]:
    """The stack's events from its facts, oldest first (unreadable entries skipped)."""
    raw = facts.get(EVENTS_FACT)
    events: list[StackEvent] = []
    for fact in raw if isinstance(raw, list) else []:
        if isinstance(fact, dict) and isinstance(fact.get("at"), int | float) and isinstance(fact.get("event"), str):
            events.append(StackEvent.from_fact(fact))
    return sorted(events, key=lambda e: e.at)


def running_intervals(events: list[StackEvent], now: float) -> list[RunningInterval]:
    """Running time per instance: a start opens an interval, the next start or end closes it."""
    intervals: list[RunningInterval] = []
    open_start: StackEvent | None = None
    for event in events:
        if event.event in STARTS or event.event in ENDS:
            if open_start is not None:
                intervals.append(_interval(open_start, event.at))
            open_start = event if event.event in STARTS else None
    if open_start is not None:
        intervals.append(_interval(open_start, max(now, open_start.at)))
    return intervals


def _interval(start: StackEvent, end: float) -> RunningInterval:
    return RunningInterval(start.at, end, start.hourly_usd, start.instance_id)


def running_cost(events: list[StackEvent], now: float) -> tuple[float, float | None]:
    """Total running hours and their instance cost in USD (None when an interval's price is unknown)."""
    intervals = running_intervals(events, now)
    hours = sum(i.hours for i in intervals)
    if any(i.hourly_usd is None for i in intervals):
        return hours, None
    return hours, sum(i.hours * (i.hourly_usd or 0.0) for i in intervals)
