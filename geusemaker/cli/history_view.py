"""The "History" list under `status NAME`: what happened to the stack, when, and to which instance."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

#: the newest events shown (JSON output has them all)
SHOWN = 12


def show_history(document: dict[str, Any]) -> None:
    """Print the stack's events, oldest first, as a short list (nothing when it has none)."""
    from rich.markup import escape

    from geusemaker.cli.render import say

    events = document.get("events") or []
    if not events:
        return
    say("History:")
    for event in events[-SHOWN:]:
        when = datetime.fromtimestamp(float(event["at"]), UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        what = " ".join(str(event[k]) for k in ("instance_id", "instance_type", "market") if event.get(k))
        detail = f" ({event['detail']})" if event.get("detail") else ""
        say(f"  {when}  {event['event']:<18} {escape(what)}{escape(detail)}")
