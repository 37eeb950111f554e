"""A saved plan (`deploy --dry-run --output json > FILE`) read back into a `Plan`, for `deploy --plan FILE`."""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

from geusemaker.models.ami import ResolvedAmi
from geusemaker.models.config import DeploymentConfig
from geusemaker.models.data_layout import DataLayout
from geusemaker.models.plan import PLAN_FORMAT, PLAN_VALID_S, CostBreakdown, CostItem, Placement, Plan, RegionSteps
from geusemaker.models.step_refs import Ref
from geusemaker.models.steps import Spec, Step


class PlanFileError(ValueError):
    """The file is not a plan this version can apply; the message names the field."""


def spec_classes() -> dict[str, type[Spec]]:
    """Every step spec class by its kind (the launch specs' module is imported so that its classes count)."""
    import geusemaker.models.launch_specs  # noqa: F401

    found: dict[str, type[Spec]] = {}
    todo: list[type[Spec]] = [Spec]
    while todo:
        cls = todo.pop()
        todo += cls.__subclasses__()
        if cls.kind:
            found[cls.kind] = cls
    return found


def plan_from_json(data: dict[str, Any]) -> Plan:
    """The `Plan` a saved dry-run describes (candidates and checks are for reading only and are not kept)."""
    if data.get("format") != PLAN_FORMAT:
        raise PlanFileError(f"format: {data.get('format')!r} is not a plan format this version reads ({PLAN_FORMAT})")
    try:
        config = DeploymentConfig.model_validate(data["config"])
        regions = tuple(RegionSteps(str(r["region"]), tuple(_step(s) for s in r["steps"])) for r in data["regions"])
        placement = _placement(data["placement"])
        cost = data["cost"]
        ami = data["ami"]
        plan = Plan(
            config=config,
            placement=placement,
            fallbacks=tuple(_placement(p) for p in data["fallbacks"]),
            candidates=(),
            cost=CostBreakdown(
                tuple(CostItem(i["name"], i["hourly_usd"], i["source"]) for i in cost["items"]),
                cost["spot_savings_pct"],
                cost["price_source"],
            ),
            ami=ResolvedAmi(
                ami["id"], ami["name"], ami["architecture"], ami["source"], ami["needs_driver_install"], ami["release"]
            ),
            checks=(),
            steps=regions[0].steps if regions else (),
            notes=tuple(data.get("notes", ())),
            regions=regions,
            account=str(data["account"]),
            planned_at=float(data["planned_at"]),
        )
    except (KeyError, TypeError, ValueError, IndexError) as error:
        raise PlanFileError(f"not a complete plan: {type(error).__name__} {error}") from None
    if plan.data_layout not in typing.get_args(DataLayout):
        raise PlanFileError(f"steps: unknown data layout {plan.data_layout!r}")
    return plan


def _placement(data: dict[str, Any]) -> Placement:
    names = {f.name for f in dataclasses.fields(Placement)} - {"quota_check", "problems"}
    return Placement(**{key: value for key, value in data.items() if key in names})


def _step(data: dict[str, Any]) -> Step:
    return Step(str(data["id"]), _spec(data["spec"] | {"kind": data["kind"]}), tuple(data.get("after", ())))


def _spec(data: dict[str, Any]) -> Spec:
    classes = spec_classes()
    kind = data.get("kind")
    if kind not in classes:
        raise PlanFileError(f"steps: unknown step kind {kind!r}")
    return typing.cast(Spec, _decode(classes[str(kind)], data))


def _decode(hint: Any, value: Any) -> Any:
    """`value` (from JSON) as the type `hint`: references, nested specs and dataclasses, tuples."""
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if isinstance(value, dict):
            if "ref" in value:
                return Ref(value["ref"], value["field"])
            if "kind" in value:
                return _spec(value)
            cls = next(o for o in options if dataclasses.is_dataclass(o) and o not in (Ref,))
            return _decode(cls, value)
        return value
    if origin is tuple:
        return tuple(_decode(typing.get_args(hint)[0], item) for item in value)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        if isinstance(value, dict) and "ref" in value and hint is Ref:
            return Ref(value["ref"], value["field"])
        hints = typing.get_type_hints(hint)
        fields = {f.name for f in dataclasses.fields(hint) if f.init}
        return hint(**{key: _decode(hints[key], item) for key, item in value.items() if key in fields})
    return value


def saved_plan_problems(
    plan: Plan, *, account: str, now: float, config: DeploymentConfig | None = None, region: str | None = None
) -> list[str]:
    """Why a saved plan may no longer be applied as it is (empty when it may)."""
    problems = []
    if plan.account != account:
        made_for = plan.account or "(unknown)"
        problems.append(f"it was made for AWS account {made_for}, these credentials are for {account}")
    if region is not None and region not in (plan.config.region, plan.placement.region):
        problems.append(f"it deploys to {plan.placement.region}, not to the region asked for ({region})")
    if config is not None:
        ours = config.model_dump(mode="json", exclude={"region"})
        if ours != plan.config.model_dump(mode="json", exclude={"region"}):
            changed = sorted(k for k in ours if ours[k] != plan.config.model_dump(mode="json").get(k))
            problems.append(f"the configuration changed since it was planned ({', '.join(changed)})")
    age = now - plan.planned_at
    if age > PLAN_VALID_S or age < -300:
        problems.append(
            f"it is {age / 3600:.1f} h old; prices, capacity and images are trusted for {PLAN_VALID_S / 3600:.0f} h"
        )
    return problems
