"""Output helpers: JSON on stdout, tables on stdout, messages and errors on stderr."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from geusemaker.errors import UserError


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


@cache
def out() -> Console:
    """Console for results (stdout)."""
    from rich.console import Console

    console = Console(highlight=False, soft_wrap=False)
    if not console.is_terminal and not os.environ.get("COLUMNS"):
        console.width = 200  # piped output: never truncate table cells (unless COLUMNS asks for a width)
    return console


@cache
def err() -> Console:
    """Console for progress, messages and errors (stderr)."""
    from rich.console import Console

    console = Console(stderr=True, highlight=False)
    if not console.is_terminal and not os.environ.get("COLUMNS"):
        console.width = 200  # logs and pipes: one message per line
    return console


def print_json(document: Any) -> None:
    """Exactly one JSON document on stdout, nothing else."""
    sys.stdout.write(json.dumps(document, indent=2, sort_keys=False, default=str) + "\n")
    sys.stdout.flush()


def message(text: str) -> None:
    """Progress and notes: stderr."""
    err().print(text)


def say(text: str) -> None:
    """Part of a command's human-readable result: stdout."""
    out().print(text)


def table(
    title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]], *, right: Sequence[str] = ()
) -> None:
    """A simple table on stdout; columns named in `right` are right-aligned numbers.

    Numbers (and the first column, the row's name) are never cut; on a narrow terminal the other
    columns wrap instead, so every amount stays readable at 80 columns.
    """
    from rich.markup import escape
    from rich.table import Table

    grid = Table(title=title, title_justify="left", header_style="bold", box=None, pad_edge=False)
    for index, column in enumerate(columns):
        keep = column in right or index == 0
        grid.add_column(column, justify="right" if column in right else "left", no_wrap=keep, overflow="fold")
    for row in rows:
        grid.add_row(*("-" if cell is None else escape(str(cell)) for cell in row))
    out().print(grid)


def usd(value: float | None, digits: int = 4) -> str:
    return "unknown" if value is None else f"${value:,.{digits}f}"


def render_error(error: UserError) -> None:
    from rich.markup import escape

    console = err()  # soft wrap: each message stays one line in logs and pipes, however long
    console.print(f"[bold red]error:[/] {escape(error.message)}", soft_wrap=True)
    for detail in error.details:
        console.print(f"  - {escape(detail)}", soft_wrap=True)
    if error.hint:
        console.print(f"[bold]hint:[/] {escape(error.hint)}", soft_wrap=True)
