"""Runs steps in dependency order, independent ones concurrently; stops launching new ones on failure.

Before a step runs, the references in its spec are resolved from the outputs of the steps it
depends on; the handler of its kind gets the resolved spec and returns its output.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Literal

from geusemaker.errors import UserError
from geusemaker.models.step_refs import Output, all_refs, resolve
from geusemaker.models.steps import Step

StepState = Literal["pending", "running", "done", "failed", "skipped"]
Handler = Callable[[Any], Output]


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


def check_steps(steps: Sequence[Step], handlers: Mapping[str, Handler], done: Iterable[str] = ()) -> None:
    """Refuse a plan the executor cannot run whole: an unknown kind, a missing or circular dependency.

    `done`: steps whose outputs exist already (a `start` runs the instance steps of a stack that stays).
    """
    ids = [s.id for s in steps] + list(done)
    for step in steps:
        if step.kind not in handlers:
            raise UserError(f"step {step.id}: unknown step kind {step.kind!r}", hint="Plan again with this version.")
        unknown = [d for d in step.depends_on if d not in ids]
        if unknown:
            raise UserError(f"step {step.id}: depends on unknown steps {', '.join(unknown)}")
    placed: set[str] = set(done)
    remaining = list(steps)
    while remaining:
        ready = [s for s in remaining if set(s.depends_on) <= placed]
        if not ready:
            raise UserError(f"steps {', '.join(s.id for s in remaining)} depend on each other in a circle")
        placed |= {s.id for s in ready}
        remaining = [s for s in remaining if s.id not in placed]


def run_steps(
    steps: Sequence[Step],
    handlers: Mapping[str, Handler],
    on_event: Callable[[StepEvent], None] = lambda _: None,
    *,
    max_workers: int = 8,
    cancelled: threading.Event | None = None,
    outputs: dict[str, Output] | None = None,
) -> dict[str, Output]:
    """Run every step once its dependencies are done; return the outputs by step id.

    Raises `StepFailed` for the first failure. After a failure (or when `cancelled` is set) no new
    step starts; running steps finish first.
    """
    outputs = outputs if outputs is not None else {}
    check_steps(steps, handlers, outputs)
    cancelled = cancelled or threading.Event()
    done: set[str] = set(outputs)  # given outputs are steps done before
    started: dict[Future[Output], tuple[str, float]] = {}
    pending = list(steps)
    failure: StepFailed | None = None
    with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="step") as pool:
        while pending or started:
            if failure is None and not cancelled.is_set():
                for step in [s for s in pending if set(s.depends_on) <= done]:
                    pending.remove(step)
                    try:
                        spec = _resolved(step, outputs)
                    except KeyError as unknown:
                        failure = failure or StepFailed(step.id, UserError(f"step {step.id}: {unknown.args[0]}"))
                        on_event(StepEvent(step.id, "failed", 0.0, str(unknown.args[0])))
                        break
                    on_event(StepEvent(step.id, "running", 0.0))
                    started[pool.submit(handlers[step.kind], spec)] = (step.id, time.monotonic())
            if not started:
                break
            finished, _ = wait(list(started), timeout=0.2, return_when=FIRST_COMPLETED)
            for future in finished:
                step_id, begun = started.pop(future)
                elapsed = time.monotonic() - begun
                error = future.exception()
                if error is None:
                    outputs[step_id] = future.result()
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
    return outputs


def _resolved(step: Step, outputs: Mapping[str, Output]) -> Any:
    """The step's spec with its dependencies' outputs in place (what a step makes itself stays a reference)."""
    later = frozenset(r.step for r in all_refs(step.spec)) - set(step.depends_on)
    return resolve(step.spec, outputs, later)
