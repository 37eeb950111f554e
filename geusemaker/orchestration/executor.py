"""Runs steps in dependency order, independent ones concurrently; stops launching new ones on failure."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Literal

from geusemaker.models.plan import Step

StepState = Literal["pending", "running", "done", "failed", "skipped"]


@dataclass(frozen=True)
class StepEvent:
    """A step changed state (for the live display)."""

    step: str
    state: StepState
    elapsed_s: float
    detail: str = ""


class StepFailed(Exception):
    """A step raised; `cause` is what it raised."""

    def __init__(self, step: str, cause: BaseException) -> None:
        super().__init__(f"step {step} failed: {cause}")
        self.step = step
        self.cause = cause


def run_steps(
    steps: Sequence[Step],
    actions: dict[str, Callable[[], None]],
    on_event: Callable[[StepEvent], None] = lambda _: None,
    *,
    max_workers: int = 8,
    cancelled: threading.Event | None = None,
) -> None:
    """Run every step once its dependencies are done; raise `StepFailed` for the first failure.

    After a failure (or when `cancelled` is set) no new step starts; running steps finish first.
    """
    cancelled = cancelled or threading.Event()
    done: set[str] = set()
    started: dict[Future[None], tuple[str, float]] = {}
    pending = list(steps)
    failure: StepFailed | None = None
    with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="step") as pool:
        while pending or started:
            if failure is None and not cancelled.is_set():
                for step in [s for s in pending if set(s.depends_on) <= done]:
                    pending.remove(step)
                    on_event(StepEvent(step.id, "running", 0.0))
                    started[pool.submit(actions[step.id])] = (step.id, time.monotonic())
            if not started:
                break
            finished, _ = wait(list(started), timeout=0.2, return_when=FIRST_COMPLETED)
            for future in finished:
                step_id, begun = started.pop(future)
                elapsed = time.monotonic() - begun
                error = future.exception()
                if error is None:
                    done.add(step_id)
                    on_event(StepEvent(step_id, "done", elapsed))
                else:
                    on_event(StepEvent(step_id, "failed", elapsed, str(error)))
                    failure = failure or StepFailed(step_id, error)
    for step in pending:
        on_event(StepEvent(step.id, "skipped", 0.0))
    if failure is not None:
        raise failure
    if cancelled.is_set():
        raise KeyboardInterrupt
