"""Live display for deploy and destroy: a panel of steps and progress in a terminal, plain lines otherwise."""

from __future__ import annotations

import logging
import threading
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any

from rich.markup import escape

from geusemaker.cli.render import err
from geusemaker.models.steps import Step
from geusemaker.orchestration.executor import StepEvent

if TYPE_CHECKING:
    from rich.console import Console

_LOG = logging.getLogger("geusemaker.progress")
#: Progress lines kept in the live panel (the log file has all of them).
MAX_LIVE_LINES = 15
SYMBOLS = {"pending": "[dim]·[/]", "running": "[cyan]…[/]", "done": "[green]✓[/]", "failed": "[red]✗[/]",
           "skipped": "[dim]-[/]"}  # fmt: skip


class StepDisplay:
    """Shows every step with pending / running / done / failed and its elapsed time."""

    def __init__(self, steps: list[Step], title: str, console: Console | None = None) -> None:
        self._steps = steps
        self._title = title
        self._state: dict[str, tuple[str, float, str]] = {s.id: ("pending", 0.0, "") for s in steps}
        self._started: dict[str, float] = {}
        self._lock = threading.Lock()
        self._console = console or err()
        self._live: Any = None
        self._lines: list[str] = []
        self._begun = time.monotonic()

    def __enter__(self) -> StepDisplay:
        if self._console.is_terminal:
            from rich.live import Live

            self._live = Live(self._render(), console=self._console, refresh_per_second=4, transient=False)
            self._live.__enter__()
            self._live.get_renderable = self._render  # re-render each refresh so running timers tick
        else:
            self._console.print(f"{self._title}")
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        if self._live is not None:
            self._live.__exit__(kind, error, tb)

    def event(self, event: StepEvent) -> None:
        _LOG.info("%s: step %s %s %.1fs %s", self._title, event.step, event.state, event.elapsed_s, event.detail)
        with self._lock:
            if event.state == "running":
                self._started[event.step] = time.monotonic()
            self._state[event.step] = (event.state, event.elapsed_s, event.detail)
        if self._live is None and event.state != "running":
            detail = f": {escape(event.detail)}" if event.detail else ""
            self._console.print(f"  {SYMBOLS[event.state]} {event.step} ({event.elapsed_s:.1f}s){detail}")

    def progress(self, kind: str, text: str) -> None:
        """A line of progress: part of the live panel in a terminal (under the steps), a plain line otherwise."""
        _LOG.info("%s: %s: %s", self._title, kind, text)
        elapsed = time.monotonic() - self._begun
        line = f"[dim]{elapsed:5.1f}s[/] [bold]{kind}[/]: {escape(text)}"
        if self._live is None:
            self._console.print(f"  {line}")
            return
        with self._lock:
            self._lines.append(line)
        self._live.refresh()

    def _render(self) -> Any:
        from rich.console import Group
        from rich.table import Table

        title = f"{self._title} ({time.monotonic() - self._begun:.0f}s)"
        table = Table(title=title, box=None, title_justify="left", show_header=bool(self._steps))
        table.add_column("", no_wrap=True)
        table.add_column("STEP", ratio=3, overflow="fold")
        table.add_column("TIME", justify="right", no_wrap=True)
        table.add_column("", ratio=2, overflow="fold")
        with self._lock:
            for step in self._steps:
                state, elapsed, detail = self._state[step.id]
                if state == "running":
                    elapsed = time.monotonic() - self._started.get(step.id, time.monotonic())
                shown = f"{elapsed:.1f}s" if state != "pending" else ""
                table.add_row(SYMBOLS[state], step.action, shown, detail[:60])
            lines = list(self._lines)
        hidden = len(lines) - MAX_LIVE_LINES
        if hidden > 0:
            lines = [f"[dim]  ... {hidden} earlier lines in geusemaker.log[/]", *lines[hidden:]]
        return Group(table, *(f"  {line}" for line in lines))
