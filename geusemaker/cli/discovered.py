"""`destroy --discover` without local state: show what carries the name, by stack id, and pick one stack."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from geusemaker.state.store import ResourceRecord

#: resources listed per stack before "and N more"
SHOWN = 8


def choose_stack(name: str, groups: dict[str, list[ResourceRecord]], wanted: str | None) -> str | None:
    """Print each stack found with its resources; the stack id to delete (None: by name, nothing has an id).

    Several stacks of one name need `--stack-id` (exit 2 without it, or with an id that was not found).
    """
    from rich.markup import escape

    from geusemaker.cli.render import message
    from geusemaker.errors import UsageError

    for sid, found in groups.items():
        shown = ", ".join(f"{r.kind} {r.resource_id} ({r.region})" for r in found[:SHOWN])
        more = f" and {len(found) - SHOWN} more" if len(found) > SHOWN else ""
        label = f"stack {sid}" if sid else "without a stack id"
        message(f"Found {name} {label}: {len(found)} resources: {escape(shown)}{more}")
    ids = [sid for sid in groups if sid]
    if wanted is not None:
        if wanted not in ids:
            raise UsageError(
                f"--stack-id {wanted}: no stack of {name!r} has that id",
                hint=f"Stacks found: {', '.join(ids) or 'none with an id'}.",
            )
        return wanted
    if len(groups) > 1:
        raise UsageError(
            f"{len(groups)} stacks named {name!r} were found; nothing was deleted",
            hint=f"Choose one: geusemaker destroy {name} --discover --stack-id ID (one of {', '.join(ids)}).",
        )
    return ids[0] if ids else None
