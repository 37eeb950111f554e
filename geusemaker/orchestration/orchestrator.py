"""Deploy and destroy a whole deployment: region failover, rollback, and the state store's bookkeeping."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict

from geusemaker.errors import PreconditionError, StateError, UserError
from geusemaker.models.plan import Plan
from geusemaker.models.status import DeploymentStatus
from geusemaker.models.tags import stack_tags
from geusemaker.orchestration.deadline import write_deadline
from geusemaker.orchestration.deployer import RegionDeployment
from geusemaker.orchestration.destroy import Destroyer, DestroyReport, discover, foreign
from geusemaker.orchestration.executor import StepEvent, StepFailed
from geusemaker.orchestration.history import record_event, record_launch
from geusemaker.orchestration.kinds import delete_order, kind
from geusemaker.orchestration.launch import LaunchAttempt, Launched, RegionExhausted, capacity_exhausted
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
        #: the kept data each redeploy of this orchestrator reuses (a rollback leaves it as it was)
        self._reused: dict[str, tuple[ResourceRecord, ...]] = {}

    def apply(self, plan: Plan, *, keep_on_failure: bool = False) -> Launched:
        """Create the stack; on any failure (or Ctrl-C) undo everything this run created unless asked to keep it.

        The name is claimed in the state store first (refused when it exists), so a rollback only
        ever deletes this run's resources: those it recorded and those tagged with its stack id.
        """
        name = plan.name
        kept = self.kept_data(name)
        self._refuse_foreign(plan, self._stack_id(name) if kept else None)
        stack_id = self._claim(plan, reuse=bool(kept))
        self._reused[name] = kept
        attempts: list[LaunchAttempt] = []
        quota_only = True
        run_id = uuid.uuid4().hex[:16]
        try:
            for planned in plan.regions:
                region, region_deployment = planned.region, RegionDeployment(
                    self.clients, self.store, plan, planned.region, planned.steps, on_event=self.on_event,
                    sleep=self.sleep, cancelled=self.cancelled, waiter_delay_s=self.waiter_delay_s, run_id=run_id,
                    stack_id=stack_id, kept=kept,
                )  # fmt: skip
                try:
                    launched = region_deployment.execute()
                except StepFailed as failure:
                    if not isinstance(failure.cause, RegionExhausted):
                        raise _with_step(failure) from failure.cause
                    attempts += failure.cause.attempts
                    quota_only = quota_only and failure.cause.quota
                    self.on_progress("failover", f"nothing launched in {region}; undoing it and trying the next region")
                    self._undo(name, delete_data=self._not_kept(kept))
                    continue
                launched.attempts = attempts + launched.attempts
                write_deadline(self.clients, self.store, name, launched.region, plan.config.lifecycle.max_runtime_hours,
                               stack_tags(plan.config.tags, stack_id))  # fmt: skip
                self._record_launch(name, launched)
                return launched
            raise capacity_exhausted(attempts, quota_only)
        except BaseException as error:
            detail = "interrupted" if isinstance(error, KeyboardInterrupt) else str(getattr(error, "message", error))
            self._set_status_quietly(name, "failed", detail)
            if keep_on_failure:
                self.on_progress("keep", "keeping every created resource (--keep-on-failure); destroy it later")
            else:
                self.on_progress("rolling back", f"{detail}: deleting everything created so far")
                self._rollback_after(name, error)
            raise

    def kept_data(self, name: str) -> tuple[ResourceRecord, ...]:
        """The live data (volume, file system, secrets) a `data-kept` deployment of `name` still holds."""
        deployment = self.store.get(name)
        if deployment is None or deployment.status != "data-kept":
            return ()
        return tuple(r for r in self.store.resources(name) if kind(r.kind).keep)

    def _refuse_foreign(self, plan: Plan, stack_id: str | None) -> None:
        """Refuse, before anything is created, a name that another stack (another install) uses in the account."""
        regions = {planned.region for planned in plan.regions}
        order = {name: n for n, name in enumerate(delete_order())}  # the instance (what runs) first
        ours = {(r.kind, r.resource_id, r.region) for r in self.store.resources(plan.name)}
        found = [
            r
            for r in foreign(self.clients, plan.name, regions, stack_id)
            if (r.kind, r.resource_id, r.region) not in ours
        ]
        found.sort(key=lambda r: order.get(r.kind, 99))
        if found:
            raise PreconditionError(
                f"the name {plan.name!r} is already used in this AWS account by a stack this state does not know "
                f"({len(found)} resources tagged geusemaker:deployment={plan.name})",
                details=[f"{r.kind} {r.resource_id} ({r.region})" for r in found[:10]],
                hint=f"Choose another name; or, if that stack is yours and its local state is lost, remove it with "
                f"`geusemaker --region {plan.placement.region} destroy {plan.name} --discover`.",
            )

    def _claim(self, plan: Plan, *, reuse: bool) -> str:
        """Claim the name in the state store (atomically); a redeploy on kept data keeps the stack's id."""
        config, target = plan.config.model_dump(mode="json"), self.clients.target
        if reuse:
            facts = self.store.reclaim_deployment(plan.name, plan.placement.region, "deploying", config, plan.as_json())
            if facts.get("stack_id"):
                return str(facts["stack_id"])
            stack_id = uuid.uuid4().hex  # kept by a version before stack ids: its new resources get one
            self.store.update_facts(plan.name, stack_id=stack_id)
            return stack_id
        stack_id = uuid.uuid4().hex
        self.store.create_deployment(
            plan.name, plan.placement.region, "deploying", config, plan.as_json(),
            stack_id=stack_id, endpoint=target.endpoint_url, sandbox_id=target.sandbox_id, account_id=plan.account,
        )  # fmt: skip
        return stack_id

    @staticmethod
    def _not_kept(kept: Iterable[ResourceRecord]) -> Callable[[ResourceRecord], bool]:
        """Whether a data resource may go in a rollback: only what this run created, never the kept data."""
        ids = {(r.kind, r.resource_id, r.region) for r in kept}
        return lambda record: (record.kind, record.resource_id, record.region) not in ids

    def _rollback_after(self, name: str, error: BaseException) -> None:
        """Roll back after `error`; a rollback that fails too is reported on `error`, never instead of it."""
        try:
            report = self.rollback(name)
        except Exception as rollback_error:  # e.g. the endpoint died: the deploy's own failure still comes first
            why = str(getattr(rollback_error, "message", rollback_error))
            self._set_status_quietly(name, "failed", f"rollback did not finish: {why}; run destroy")
            _add_note(error, f"the rollback did not finish: {why}", f"Run `geusemaker destroy {name}` to finish it.")
            return
        left = f"{len(report.failed)} resources left; run destroy" if report.failed else "nothing left"
        self.on_progress("rolled back", f"{len(report.deleted)} resources deleted, {left}")
        if report.failed:
            _add_note(
                error,
                f"the rollback left {len(report.failed)} resources",
                f"Run `geusemaker destroy {name}` to delete them.",
            )

    def _set_status_quietly(self, name: str, status: DeploymentStatus, detail: str) -> None:
        """Record a status on the failure path, where an unwritable state must not hide the original error."""
        with contextlib.suppress(StateError):
            self.store.set_status(name, status, detail)

    def rollback(self, name: str) -> DestroyReport:
        """Delete everything this deployment recorded or tagged; forget it when nothing is left."""
        kept = self._reused.get(name, ())
        self.store.set_status(name, "rolling-back")
        report = self._undo(name, delete_data=self._not_kept(kept))  # new data holds nothing yet; kept data stays
        if not report.failed and kept:
            self.store.set_status(name, "data-kept", _kept_detail(kept))
        elif not report.failed:
            self.store.remove(name)
        else:
            self.store.set_status(name, "failed", f"rollback left {len(report.failed)} resources; run destroy")
        return report

    def destroy(
        self, name: str, regions: Iterable[str] = (), *, delete_data: bool = False, stack_id: str | None = None
    ) -> DestroyReport:
        """Delete the recorded resources and everything tagged with `name` in `regions`; then forget it.

        The stack's data (its data volume) is kept unless `delete_data`: the deployment is then kept
        with status `data-kept`, so that a later destroy can delete it. The status changes only once
        something is actually deleted: a destroy that fails before touching AWS (no credentials,
        endpoint down) leaves the deployment as it was. Without a local record, `stack_id` picks the one
        stack of that name to delete (found by `destroy.stacks`).
        """
        deployment = self.store.get(name)
        deleted_any = threading.Event()

        def on_deleted(_: ResourceRecord) -> None:
            if deployment is not None and not deleted_any.is_set():
                deleted_any.set()
                self.store.set_status(name, "destroying")

        known = self._regions(name) | set(regions)
        try:
            stack_id = self._stack_id(name) or stack_id
            report = self._undo(name, known, on_deleted, delete_data=lambda _: delete_data, stack_id=stack_id)
            left = discover(self.clients, name, known, stack_id) if known and not report.failed else []
            left = [r for r in left if delete_data or not kind(r.kind).keep]
        except BaseException as error:
            if deleted_any.is_set():
                why = "interrupted" if isinstance(error, KeyboardInterrupt) else getattr(error, "message", error)
                self.store.set_status(name, "destroy-incomplete", f"destroy stopped: {why}")
            raise
        if deployment is not None:
            if report.failed or left:
                self.store.set_status(name, "destroy-incomplete", f"{len(report.failed) + len(left)} resources left")
            elif report.kept:
                self.store.set_status(name, "data-kept", _kept_detail(report.kept))
                record_event(self.store, name, "destroyed", detail="data kept")
            else:
                self.store.forget(name)
        for record in left:
            report.failed.append((record, "still present after deletion"))
        return report

    def _undo(
        self,
        name: str,
        regions: Iterable[str] | None = None,
        on_deleted: Callable[[ResourceRecord], None] = lambda _: None,
        *,
        delete_data: Callable[[ResourceRecord], bool],
        stack_id: str | None = None,
    ) -> DestroyReport:
        """Delete what is recorded plus whatever carries the stack's tags (created but not yet recorded)."""
        records = self.store.resources(name)
        regions = set(regions) if regions is not None else self._regions(name)
        found = discover(self.clients, name, regions, self._stack_id(name) or stack_id) if regions else []
        return self._destroyer(name, on_deleted, delete_data).destroy(_merge(records, found))

    def _stack_id(self, name: str) -> str | None:
        """The stack id recorded for `name` (None for a deployment recorded before stack ids, or none)."""
        deployment = self.store.get(name)
        stack_id = deployment.facts.get("stack_id") if deployment is not None else None
        return str(stack_id) if stack_id else None

    def _regions(self, name: str) -> set[str]:
        regions = {r.region for r in self.store.resources(name) if r.region != "global"}
        deployment = self.store.get(name)
        if deployment is not None:
            regions.add(deployment.region)
        return regions

    def _destroyer(
        self, name: str, on_deleted: Callable[[ResourceRecord], None], delete_data: Callable[[ResourceRecord], bool]
    ) -> Destroyer:
        return Destroyer(
            self.clients, self.store, name, sleep=self.sleep, on_progress=self.on_progress,
            waiter_delay_s=self.waiter_delay_s, on_deleted=on_deleted, delete_data=delete_data,
        )  # fmt: skip

    def _record_launch(self, name: str, launched: Launched) -> None:
        facts = asdict(launched)
        facts["attempts"] = [str(a) for a in launched.attempts]
        facts["launched_at"] = time.time()
        self.store.update_facts(name, **facts)
        self.store.set_status(name, "running")
        record_launch(self.store, name, launched, facts["launched_at"])


def _with_step(failure: StepFailed) -> BaseException:
    cause = failure.cause
    if isinstance(cause, UserError):
        cause.details = [*cause.details, f"failed at step: {failure.step}"]
    return cause


def _add_note(error: BaseException, detail: str, hint: str) -> None:
    """Add what the rollback left to the original error (a `UserError`; others keep their own text)."""
    if isinstance(error, UserError):
        error.details = [*error.details, detail]
        error.hint = f"{error.hint} {hint}" if error.hint else hint


def _kept_detail(kept: Iterable[ResourceRecord]) -> str:
    names = ", ".join(f"{r.kind} {r.resource_id}" for r in kept)
    return f"kept {names}; destroy --delete-data deletes it"


def _merge(records: list[ResourceRecord], found: list[ResourceRecord]) -> list[ResourceRecord]:
    seen = {(r.kind, r.resource_id, r.region) for r in records}
    return records + [r for r in found if (r.kind, r.resource_id, r.region) not in seen]
