"""Deploy and destroy a whole deployment: region failover, rollback, and the state store's bookkeeping."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict

from geusemaker.errors import UserError
from geusemaker.models.plan import Plan
from geusemaker.orchestration.deployer import (
    LaunchAttempt,
    Launched,
    RegionDeployment,
    RegionExhausted,
    capacity_exhausted,
    regions_in_order,
)
from geusemaker.orchestration.destroy import Destroyer, DestroyReport, discover
from geusemaker.orchestration.executor import StepEvent, StepFailed
from geusemaker.services.aws import AwsClients
from geusemaker.state.store import ResourceRecord, StateStore


class Orchestrator:
    """Applies plans and destroys deployments against one AWS target and one state store."""

    def __init__(
        self,
        clients: AwsClients,
        store: StateStore,
        *,
        on_event: Callable[[StepEvent], None] = lambda _: None,
        on_progress: Callable[[str, str], None] = lambda kind, text: None,
        sleep: Callable[[float], None] | None = None,
        waiter_delay_s: int = 5,
    ) -> None:
        self.clients = clients
        self.store = store
        self.on_event = on_event
        self.on_progress = on_progress
        self.sleep = sleep or time.sleep
        self.waiter_delay_s = waiter_delay_s
        self.cancelled = threading.Event()

    def apply(self, plan: Plan, *, keep_on_failure: bool = False) -> Launched:
        """Create the stack; on any failure (or Ctrl-C) undo everything recorded unless asked to keep it."""
        name = plan.name
        self.store.upsert_deployment(
            name, plan.placement.region, "deploying", plan.config.model_dump(mode="json"), plan.as_json()
        )
        attempts: list[LaunchAttempt] = []
        quota_only = True
        run_id = uuid.uuid4().hex[:16]
        try:
            for region, placements in regions_in_order(plan):
                region_deployment = RegionDeployment(
                    self.clients, self.store, plan, region, placements, on_event=self.on_event, sleep=self.sleep,
                    cancelled=self.cancelled, waiter_delay_s=self.waiter_delay_s, run_id=run_id,
                )  # fmt: skip
                try:
                    launched = region_deployment.run()
                except StepFailed as failure:
                    if not isinstance(failure.cause, RegionExhausted):
                        raise _with_step(failure) from failure.cause
                    attempts += failure.cause.attempts
                    quota_only = quota_only and failure.cause.quota
                    self.on_progress("failover", f"nothing launched in {region}; undoing it and trying the next region")
                    self._undo(name)
                    continue
                launched.attempts = attempts + launched.attempts
                self._record_launch(name, launched)
                return launched
            raise capacity_exhausted(attempts, quota_only)
        except BaseException as error:
            detail = "interrupted" if isinstance(error, KeyboardInterrupt) else str(getattr(error, "message", error))
            self.store.set_status(name, "failed", detail)
            if keep_on_failure:
                self.on_progress("keep", "keeping every created resource (--keep-on-failure); destroy it later")
            else:
                self.on_progress("rolling back", f"{detail}: deleting everything created so far")
                report = self.rollback(name)
                left = f"{len(report.failed)} resources left; run destroy" if report.failed else "nothing left"
                self.on_progress("rolled back", f"{len(report.deleted)} resources deleted, {left}")
            raise

    def rollback(self, name: str) -> DestroyReport:
        """Delete everything recorded for `name`; forget the deployment when nothing is left."""
        self.store.set_status(name, "rolling-back")
        report = self._undo(name)
        if not report.failed:
            self.store.remove(name)
        else:
            self.store.set_status(name, "failed", f"rollback left {len(report.failed)} resources; run destroy")
        return report

    def destroy(self, name: str, regions: Iterable[str] = ()) -> DestroyReport:
        """Delete the recorded resources and everything tagged with `name` in `regions`; then forget it."""
        deployment = self.store.get(name)
        if deployment is not None:
            self.store.set_status(name, "destroying")
        known = self._regions(name) | set(regions)
        report = self._undo(name, known)
        left = discover(self.clients, name, known) if known and not report.failed else []
        if deployment is not None:
            if report.failed or left:
                self.store.set_status(name, "destroy-incomplete", f"{len(report.failed) + len(left)} resources left")
            else:
                self._forget(name)
        for record in left:
            report.failed.append((record, "still present after deletion"))
        return report

    def _undo(self, name: str, regions: Iterable[str] | None = None) -> DestroyReport:
        """Delete what is recorded plus whatever carries the deployment's tag (created but not yet recorded)."""
        records = self.store.resources(name)
        regions = set(regions) if regions is not None else self._regions(name)
        found = discover(self.clients, name, regions) if regions else []
        return self._destroyer(name).destroy(_merge(records, found))

    def _regions(self, name: str) -> set[str]:
        regions = {r.region for r in self.store.resources(name) if r.region != "global"}
        deployment = self.store.get(name)
        if deployment is not None:
            regions.add(deployment.region)
        return regions

    def _destroyer(self, name: str) -> Destroyer:
        return Destroyer(
            self.clients, self.store, name, sleep=self.sleep, on_progress=self.on_progress,
            waiter_delay_s=self.waiter_delay_s,
        )  # fmt: skip

    def _forget(self, name: str) -> None:
        for record in self.store.resources(name):
            self.store.mark_deleted(name, record.kind, record.resource_id)
        self.store.remove(name)

    def _record_launch(self, name: str, launched: Launched) -> None:
        facts = asdict(launched)
        facts["attempts"] = [str(a) for a in launched.attempts]
        facts["launched_at"] = time.time()
        self.store.update_facts(name, **facts)
        self.store.set_status(name, "running")


def _with_step(failure: StepFailed) -> BaseException:
    cause = failure.cause
    if isinstance(cause, UserError):
        cause.details = [*cause.details, f"failed at step: {failure.step}"]
    return cause


def _merge(records: list[ResourceRecord], found: list[ResourceRecord]) -> list[ResourceRecord]:
    seen = {(r.kind, r.resource_id) for r in records}
    return records + [r for r in found if (r.kind, r.resource_id) not in seen]
