"""Dry-run: the plan's steps through the same executor with display-only handlers (nothing is created).

Every step's references are resolved exactly as in a deploy, so a plan whose inputs cannot all be
known (a missing subnet of the user's VPC, a reference to a step that does not exist) fails here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import partial
from typing import Any

from geusemaker.errors import UserError
from geusemaker.models.launch_specs import InstanceSpec, fallback_subnet_step
from geusemaker.models.plan import Plan
from geusemaker.models.step_refs import Output, resolve
from geusemaker.models.steps import Spec, SubnetSpec
from geusemaker.orchestration.executor import Handler, StepFailed, run_steps
from geusemaker.orchestration.kinds import KINDS


@dataclass(frozen=True)
class Rehearsed:
    """One step as it would run: its region, id and its spec with every reference resolved."""

    region: str
    step: str
    spec: Spec


def rehearse(plan: Plan) -> list[Rehearsed]:
    """Run every region's steps with display handlers; raises `UserError` naming a step whose input is unknown."""
    shown: list[Rehearsed] = []
    for planned in plan.regions:
        handlers: dict[str, Handler] = {
            name: partial(_display, planned.region, shown) for name, kind in KINDS.items() if kind.spec is not None
        }
        try:
            run_steps(planned.steps, handlers, max_workers=1)
        except StepFailed as failure:
            raise failure.cause from None
    return shown


def _display(region: str, shown: list[Rehearsed], spec: Spec) -> Output:
    if isinstance(spec, InstanceSpec):
        spec = _with_fallbacks(spec)
    _check_known(spec, spec.kind)
    shown.append(Rehearsed(region, spec.kind, spec))
    placeholder = f"<new {spec.kind}>"
    return Output(placeholder, arn=f"arn:<new {spec.kind}>", zone=_zone(spec))


def _with_fallbacks(spec: InstanceSpec) -> InstanceSpec:
    """The instance step with the subnets and mount targets of its fallback zones resolved, as a launch would."""
    outputs: dict[str, Output] = {}
    for group in spec.launches:
        if isinstance(group.subnet, SubnetSpec):
            outputs[fallback_subnet_step(group.zone)] = Output(f"<new subnet in {group.zone}>", zone=group.zone)
    return resolve(spec, outputs)


def _zone(spec: Spec) -> str:
    if isinstance(spec, InstanceSpec):
        return spec.launches[0].zone if spec.launches else ""
    return str(getattr(spec, "zone", ""))


def _check_known(value: Any, where: str) -> None:
    """Every field that names another resource has a value (an empty id would fail only at deploy)."""
    if not dataclasses.is_dataclass(value) or isinstance(value, type):
        return
    for field in dataclasses.fields(value):
        item = getattr(value, field.name)
        if "Target" in str(field.type) and item == "":
            raise UserError(f"step {where}: {field.name} is not known", hint="This plan cannot run; plan again.")
        for nested in item if isinstance(item, tuple) else (item,):
            _check_known(nested, where)
