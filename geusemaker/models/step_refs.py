"""References between steps: a spec field that is another step's output, and their resolution into values."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

OutputField = Literal["id", "arn", "zone"]
S = TypeVar("S")


@dataclass(frozen=True)
class Ref:
    """The output `field` of step `step` (known only once that step has run)."""

    step: str
    field: OutputField = "id"

    def as_json(self) -> dict[str, str]:
        return {"ref": self.step, "field": self.field}

    def __str__(self) -> str:
        return f"${{{self.step}.{self.field}}}"


#: The stack's unique id as a plan shows it: it is given when the deploy claims the name (or, on kept
#: data, is the stack's own), so a saved plan stays valid for whichever stack applies it.
STACK_ID_PLACEHOLDER = "${stack-id}"

#: A literal id (e.g. the user's own VPC) or another step's output.
Target = Ref | str


@dataclass(frozen=True)
class Output:
    """What a step produced: the id other steps refer to, its ARN and zone where it has them."""

    id: str
    arn: str = ""
    zone: str = ""

    def get(self, field: OutputField) -> str:
        value = {"id": self.id, "arn": self.arn, "zone": self.zone}[field]
        if not value:
            raise KeyError(field)
        return value


def all_refs(spec: object) -> tuple[Ref, ...]:
    """Every reference in `spec` (nested specs and tuples included)."""
    return tuple(dict.fromkeys(_refs(spec)))


def _refs(value: object) -> list[Ref]:
    if isinstance(value, Ref):
        return [value]
    if isinstance(value, tuple):
        return [ref for item in value for ref in _refs(item)]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [ref for f in dataclasses.fields(value) for ref in _refs(getattr(value, f.name))]
    return []


def to_json(value: object) -> Any:
    """A spec's field as JSON: references as {"ref", "field"}, nested specs with their kind, tuples as lists."""
    if isinstance(value, Ref):
        return value.as_json()
    as_json = getattr(value, "as_json", None)
    kind = getattr(type(value), "kind", "")
    if kind and callable(as_json):
        return {"kind": kind, **as_json()}
    if isinstance(value, tuple):
        return [to_json(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


def resolve(spec: S, outputs: Mapping[str, Output], later: frozenset[str] = frozenset()) -> S:
    """`spec` with every reference replaced by the referred step's output (KeyError when it has none).

    References to the steps in `later` (made by the step itself, e.g. a fallback zone's subnet) stay.
    """
    return _resolved(spec, outputs, later)  # type: ignore[no-any-return]


def _resolved(value: Any, outputs: Mapping[str, Output], later: frozenset[str]) -> Any:
    if isinstance(value, Ref):
        if value.step in later and value.step not in outputs:
            return value
        try:
            return outputs[value.step].get(value.field)
        except KeyError:
            raise KeyError(f"{value} is not known yet (step {value.step!r} has not produced it)") from None
    if isinstance(value, tuple):
        return tuple(_resolved(item, outputs, later) for item in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: _resolved(getattr(value, f.name), outputs, later) for f in dataclasses.fields(value)}
        return dataclasses.replace(value, **changes)
    return value
