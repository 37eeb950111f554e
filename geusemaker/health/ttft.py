"""Time to first token: from the moment `deploy` or `start` began to the model's first token, with the longest phases.

Pure: the command's start (epoch seconds), its own phase timings and the instance's status.json in, a report out.
The boot records `first_token_at` and its phases (images, models, services, first-token) in status.json.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: How many of the boot's phases the report names (the longest).
BOOT_PHASES_SHOWN = 3


@dataclass(frozen=True)
class Phase:
    name: str
    seconds: float
    #: "command" (measured by the CLI) or "instance" (from the boot's status.json)
    source: str

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "seconds": round(self.seconds, 1), "source": self.source}


@dataclass(frozen=True)
class FirstToken:
    """The measured time to first token, or None and the reason it was not measured."""

    seconds: float | None
    reason: str
    phases: tuple[Phase, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "time_to_first_token_s": None if self.seconds is None else round(self.seconds, 1),
            "time_to_first_token_reason": self.reason or None,
            "phases": [phase.as_json() for phase in self.phases],
        }

    def text(self) -> str:
        """One line, e.g. 'Time to first token: 6 min 12 s (plan 8.0 s, ..., wait 5 min 1 s; on the instance: ...)'."""
        head = f"{duration(self.seconds)}" if self.seconds is not None else f"not measured ({self.reason})"
        command = ", ".join(f"{p.name} {duration(p.seconds)}" for p in self.phases if p.source == "command")
        instance = ", ".join(f"{p.name} {duration(p.seconds)}" for p in self.phases if p.source == "instance")
        parts = "; ".join(part for part in (command, instance and f"on the instance: {instance}") if part)
        return f"Time to first token: {head}" + (f" ({parts})" if parts else "")


def first_token(
    started_at: float,
    command_phases: Mapping[str, float],
    boot: Mapping[str, Any] | None,
    *,
    sandbox: bool = False,
    model: str | None = None,
) -> FirstToken:
    """The report for a command that began at `started_at`; `model` is the first configured model (None: none)."""
    phases = tuple(Phase(name, seconds, "command") for name, seconds in command_phases.items())
    phases += _boot_phases(boot or {})
    if sandbox:
        return FirstToken(None, "the sandbox boots no instance", phases)
    if model is None:
        return FirstToken(None, "no Ollama model is configured", phases)
    if boot is None:
        return FirstToken(None, "the instance's boot status could not be read", phases)
    at = boot.get("first_token_at")
    if isinstance(at, int | float) and not isinstance(at, bool):
        if at < started_at:
            return FirstToken(None, "the instance's clock is behind this computer's", phases)
        return FirstToken(float(at) - started_at, "", phases)
    if boot.get("first_token_error"):
        return FirstToken(None, f"{model} gave no token: {boot['first_token_error']}", phases)
    if boot.get("state") == "failed":
        return FirstToken(None, f"the boot failed at step {boot.get('step')}", phases)
    return FirstToken(None, f"{model} had not answered yet when the wait ended", phases)


def _boot_phases(boot: Mapping[str, Any]) -> tuple[Phase, ...]:
    found = []
    phases = boot.get("phases")
    for name, edges in (phases if isinstance(phases, dict) else {}).items():
        start, end = (edges.get("start"), edges.get("end")) if isinstance(edges, dict) else (None, None)
        if isinstance(start, int | float) and isinstance(end, int | float) and end >= start:
            found.append(Phase(str(name), float(end - start), "instance"))
    found.sort(key=lambda phase: -phase.seconds)
    return tuple(found[:BOOT_PHASES_SHOWN])


def duration(seconds: float) -> str:
    """'42 s', '3.2 s', '6 min 12 s', '1 h 4 min'."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s"
    return f"{whole // 3600} h {whole % 3600 // 60} min"
