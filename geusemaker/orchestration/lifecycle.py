"""Status changes after a deploy: the health verdict, and what EC2 reports about the instance."""

from __future__ import annotations

from typing import Any

from geusemaker.models.status import BILLED, DeploymentStatus
from geusemaker.state.store import DeploymentRecord, StateStore


def record_health(store: StateStore, name: str, overall: str, failures: list[str]) -> None:
    """A stack that is up but not healthy in time is `degraded` (kept, not rolled back)."""
    store.update_facts(name, health=overall)
    if overall != "healthy":
        store.set_status(name, "degraded", "; ".join(failures))


def record_instance_state(store: StateStore, record: DeploymentRecord, instance: dict[str, Any] | None) -> None:
    """Record terminated / interrupted / stopped / running from a DescribeInstances answer (None: gone)."""
    ec2_state = (instance or {}).get("State", {}).get("Name", "terminated")
    reason = (instance or {}).get("StateReason", {}).get("Code", "")
    new: DeploymentStatus
    if ec2_state in {"terminated", "shutting-down"}:
        new = "interrupted" if "Spot" in reason else "terminated"
    elif ec2_state in {"stopped", "stopping"}:
        new = "stopped"
    else:
        new = "degraded" if record.status == "degraded" else "running"
    if new != record.status or (new in BILLED and record.status not in BILLED):
        store.set_status(record.name, new, f"EC2 reports {ec2_state}" + (f" ({reason})" if reason else ""))
    store.update_facts(record.name, public_ip=(instance or {}).get("PublicIpAddress"))
