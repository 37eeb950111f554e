"""Recording what happens to a stack, so `status` can show it and count its running time."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from geusemaker.models.history import EVENTS_FACT, EventKind, StackEvent
from geusemaker.state.store import StateStore

if TYPE_CHECKING:
    from geusemaker.orchestration.launch import Launched


def record_event(
    store: StateStore,
    name: str,
    event: EventKind,
    *,
    at: float | None = None,
    instance_id: str | None = None,
    instance_type: str | None = None,
    market: str | None = None,
    hourly_usd: float | None = None,
    detail: str = "",
) -> StackEvent:
    """Append one event to the stack's history (kept in its state record) and return it."""
    entry = StackEvent(
        at=time.time() if at is None else at,
        event=event,
        instance_id=instance_id,
        instance_type=instance_type,
        market=market,
        hourly_usd=hourly_usd,
        detail=detail,
    )
    store.append_fact(name, EVENTS_FACT, entry.as_fact())
    return entry


def record_launch(store: StateStore, name: str, launched: Launched, at: float) -> StackEvent:
    """The `launched` event of an instance the CLI started (deploy or start)."""
    return record_event(
        store, name, "launched", at=at, instance_id=launched.instance_id, instance_type=launched.instance_type,
        market=launched.market, hourly_usd=launched.hourly_usd, detail=launched.availability_zone,
    )  # fmt: skip
