"""The `max_runtime_hours` deadline: written by deploy and start, removed by stop and destroy.

The instance's guard reads it from SSM (`/geusemaker/NAME/deadline`, epoch seconds) once per boot,
so the limit counts from the command that launched the stack, whatever the reboots and replacements.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from geusemaker.services.aws import AwsClients
from geusemaker.services.parameters import ParameterService
from geusemaker.state.store import StateStore

#: the fact under which the state keeps the deadline (epoch seconds; None when there is none)
DEADLINE_FACT = "deadline_at"


def write_deadline(
    clients: AwsClients,
    store: StateStore,
    name: str,
    region: str,
    hours: int,
    tags: Mapping[str, str],
    now: float | None = None,
) -> int | None:
    """Set the deadline to now + `hours` (or remove it when `hours` is 0); returns it, epoch seconds."""
    if hours <= 0:
        clear_deadline(clients, store, name, region)
        return None
    deadline = int((time.time() if now is None else now) + hours * 3600)
    parameter = ParameterService(clients, region).put_deadline(name, deadline, dict(tags))
    store.record(name, "deadline", parameter, region)
    store.update_facts(name, **{DEADLINE_FACT: deadline})
    return deadline


def clear_deadline(clients: AwsClients, store: StateStore, name: str, region: str) -> None:
    """Remove the deadline (none there counts as removed): a stopped stack has none."""
    parameter = ParameterService(clients, region).delete_deadline(name)
    store.mark_deleted(name, "deadline", parameter, region)
    store.update_facts(name, **{DEADLINE_FACT: None})
