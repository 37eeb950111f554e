"""The step executor: dependency order, concurrency, typed references, failure and unknown kinds."""

from __future__ import annotations

import threading

import pytest

from geusemaker.errors import UserError
from geusemaker.models.step_refs import Output, Ref
from geusemaker.models.steps import InternetGatewaySpec, SecurityGroupSpec, Step, SubnetSpec, VpcSpec
from geusemaker.orchestration.executor import StepEvent, StepFailed, check_steps, run_steps

STEPS = (
    Step("vpc", VpcSpec("10.42.0.0/16")),
    Step("subnet", SubnetSpec(Ref("vpc"), "us-east-1a", "10.42.1.0/24")),
    Step("internet-gateway", InternetGatewaySpec(Ref("vpc"))),
    Step("security-group", SecurityGroupSpec(Ref("vpc"), "g", "d", ())),
)


class Recorder:
    """Handlers that return made-up ids and remember the resolved specs they were given, in order."""

    def __init__(self, fail: str = "") -> None:
        self.seen: list[object] = []
        self.fail = fail
        self.lock = threading.Lock()

    def handler(self, kind: str):  # type: ignore[no-untyped-def]
        def run(spec: object) -> Output:
            with self.lock:
                self.seen.append(spec)
            if kind == self.fail:
                raise UserError(f"{kind} failed")
            return Output(f"{kind}-1", arn=f"arn:{kind}-1")

        return run

    def handlers(self) -> dict[str, object]:
        return {k: self.handler(k) for k in ("vpc", "subnet", "internet-gateway", "security-group")}


def test_references_are_resolved_from_the_outputs_of_the_steps_they_name() -> None:
    recorder = Recorder()
    outputs = run_steps(STEPS, recorder.handlers())  # type: ignore[arg-type]
    assert outputs["vpc"] == Output("vpc-1", arn="arn:vpc-1")
    assert recorder.seen[0] == VpcSpec("10.42.0.0/16")
    assert SubnetSpec("vpc-1", "us-east-1a", "10.42.1.0/24") in recorder.seen
    assert SecurityGroupSpec("vpc-1", "g", "d", ()) in recorder.seen
    assert all(Ref("vpc") not in getattr(spec, "__dict__", {}).values() for spec in recorder.seen)


def test_independent_steps_run_side_by_side() -> None:
    barrier = threading.Barrier(3, timeout=60)  # the three users of the VPC wait for each other

    def meet(spec: object) -> Output:
        barrier.wait()
        return Output("x")

    handlers = {"vpc": lambda spec: Output("vpc-1"), "subnet": meet, "internet-gateway": meet, "security-group": meet}
    assert set(run_steps(STEPS, handlers)) == {"vpc", "subnet", "internet-gateway", "security-group"}


def test_a_failure_starts_nothing_new_and_names_its_step() -> None:
    recorder = Recorder(fail="vpc")
    events: list[StepEvent] = []
    with pytest.raises(StepFailed) as failed:
        run_steps(STEPS, recorder.handlers(), events.append)  # type: ignore[arg-type]
    assert failed.value.step == "vpc" and isinstance(failed.value.cause, UserError)
    assert len(recorder.seen) == 1
    assert {e.step for e in events if e.state == "skipped"} == {"subnet", "internet-gateway", "security-group"}


def test_an_unknown_step_kind_is_an_error_before_anything_runs() -> None:
    recorder = Recorder()
    handlers = recorder.handlers()
    del handlers["security-group"]
    with pytest.raises(UserError, match="unknown step kind 'security-group'"):
        run_steps(STEPS, handlers)  # type: ignore[arg-type]
    assert recorder.seen == []


def test_missing_and_circular_dependencies_are_refused() -> None:
    handlers = Recorder().handlers()
    with pytest.raises(UserError, match="unknown steps vpc"):
        check_steps(STEPS[1:], handlers)  # type: ignore[arg-type]
    circle = (Step("a", SubnetSpec(Ref("b"), "z", "c")), Step("b", SubnetSpec(Ref("a"), "z", "c")))
    with pytest.raises(UserError, match="circle"):
        check_steps(circle, handlers)  # type: ignore[arg-type]


def test_an_output_without_the_field_a_reference_needs_fails_that_step() -> None:
    steps = (Step("vpc", VpcSpec("10.42.0.0/16")), Step("igw", InternetGatewaySpec(Ref("vpc", "arn"))))
    handlers = {"vpc": lambda spec: Output("vpc-1"), "internet-gateway": lambda spec: Output("igw-1")}
    with pytest.raises(StepFailed) as failed:
        run_steps(steps, handlers)
    assert failed.value.step == "igw" and "${vpc.arn}" in str(failed.value.cause)


def test_cancelling_stops_before_the_next_step() -> None:
    cancelled = threading.Event()

    def vpc(spec: object) -> Output:
        cancelled.set()
        return Output("vpc-1")

    handlers = {**Recorder().handlers(), "vpc": vpc}
    with pytest.raises(KeyboardInterrupt):
        run_steps(STEPS, handlers, cancelled=cancelled)  # type: ignore[arg-type]


def test_given_outputs_count_as_steps_done_before() -> None:
    """A start runs only the instance steps of a stack whose network exists: its ids come as outputs."""
    recorder = Recorder()
    outputs = run_steps(STEPS[1:2], recorder.handlers(), outputs={"vpc": Output("vpc-kept")})  # type: ignore[arg-type]
    assert recorder.seen == [SubnetSpec("vpc-kept", "us-east-1a", "10.42.1.0/24")]
    assert outputs["subnet"] == Output("subnet-1", arn="arn:subnet-1")
    with pytest.raises(UserError, match="depends on unknown steps vpc"):
        check_steps(STEPS[1:2], recorder.handlers())  # type: ignore[arg-type]
