"""One region's deployment: the plan's steps for that region, run by the executor with the registry's handlers."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from functools import partial

from geusemaker.models.plan import Plan
from geusemaker.models.steps import Step
from geusemaker.models.tags import stack_tags
from geusemaker.orchestration.create import RegionRun
from geusemaker.orchestration.executor import Handler, StepEvent, run_steps
from geusemaker.orchestration.kinds import KINDS
from geusemaker.orchestration.launch import Launched
from geusemaker.services.aws import AwsClients
from geusemaker.services.iam import IamService
from geusemaker.state.store import ResourceRecord, StateStore


def create_handlers(run: RegionRun) -> dict[str, Handler]:
    """Every registered kind's create handler, bound to one region's run."""
    return {name: partial(kind.create, run) for name, kind in KINDS.items() if kind.create is not None}


class RegionDeployment:
    """Creates one deployment's resources in one region, recording each as soon as it exists."""

    def __init__(
        self,
        clients: AwsClients,
        store: StateStore,
        plan: Plan,
        region: str,
        steps: tuple[Step, ...],
        *,
        on_event: Callable[[StepEvent], None],
        sleep: Callable[[float], None] = time.sleep,
        cancelled: threading.Event | None = None,
        waiter_delay_s: int = 5,
        run_id: str = "",
        stack_id: str = "",
        kept: tuple[ResourceRecord, ...] = (),
    ) -> None:
        self.clients = clients
        self.steps = steps
        self.on_event = on_event
        self.cancelled = cancelled
        self.run = RegionRun(
            clients, store, plan.config, region, stack_tags(plan.config.tags, stack_id or uuid.uuid4().hex),
            run_id or uuid.uuid4().hex[:16], sleep=sleep, waiter_delay_s=waiter_delay_s, cancelled=cancelled,
            kept=kept,
        )  # fmt: skip

    def execute(self) -> Launched:
        """Run the steps; raises `StepFailed` (its cause a `RegionExhausted` when nothing could launch here)."""
        role = next((s.spec for s in self.steps if s.kind == "iam-role"), None)
        if role is not None:  # before anything is created: a missing boundary stops the deploy with nothing to undo
            IamService(self.clients).ensure_boundary(self.clients.account_id())
        run_steps(self.steps, create_handlers(self.run), self.on_event, cancelled=self.cancelled,
                  outputs=self.run.outputs)  # fmt: skip
        assert isinstance(self.run.launched, Launched)
        return self.run.launched
