"""A small, honest evaluator of IAM identity policies: the statement forms GeuseMaker's policies use.

It answers whether a policy allows one authorization request (action, resource ARN, request context):
an explicit Deny wins, otherwise any matching Allow allows. It understands Action/NotAction,
Resource/NotResource with wildcards and policy variables, and the condition operators
StringEquals, StringLike, StringNotEquals, StringNotLike, ArnEquals, ArnLike, Bool and Null, each with
the IfExists suffix and the ForAnyValue:/ForAllValues: prefixes. Anything else raises, so a policy
cannot pass by using a form this evaluator silently ignores.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

ContextValue = str | Sequence[str]
_VARIABLE = re.compile(r"\$\{([^}]+)\}")


@dataclass(frozen=True)
class Request:
    """One authorization AWS makes: an action on one resource with the request's context keys."""

    action: str
    resource: str = "*"
    context: Mapping[str, ContextValue] = field(default_factory=dict)

    def values(self, key: str) -> list[str] | None:
        """The context values of `key` (keys compare case-insensitively), None when absent."""
        for name, value in self.context.items():
            if name.lower() == key.lower():
                return [value] if isinstance(value, str) else list(value)
        return None


def _as_list(value: str | Sequence[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _substitute(pattern: str, request: Request) -> str | None:
    """Replace ${key} policy variables from the context; None when a variable is absent (no match)."""
    missing = False

    def value(match: re.Match[str]) -> str:
        nonlocal missing
        found = request.values(match.group(1))
        if not found:
            missing = True
            return ""
        return found[0]

    result = _VARIABLE.sub(value, pattern)
    return None if missing else result


def _glob(pattern: str, value: str, *, case: bool = True) -> bool:
    return fnmatchcase(value, pattern) if case else fnmatchcase(value.lower(), pattern.lower())


def _matches_any(patterns: list[str], value: str, request: Request, *, case: bool) -> bool:
    for pattern in patterns:
        concrete = _substitute(pattern, request)
        if concrete is not None and _glob(concrete, value, case=case):
            return True
    return False


_BASE: dict[str, Any] = {
    "StringEquals": lambda want, have: have == want,
    "StringLike": _glob,
    "ArnEquals": lambda want, have: have == want,
    "ArnLike": _glob,
    "Bool": lambda want, have: have.lower() == want.lower(),
}
_NEGATED = {"StringNotEquals": "StringEquals", "StringNotLike": "StringLike", "ArnNotEquals": "ArnEquals",
            "ArnNotLike": "ArnLike"}  # fmt: skip


def _condition(operator: str, key: str, wanted: list[str], request: Request) -> bool:
    qualifier, _, name = operator.rpartition(":")
    if_exists = name.endswith("IfExists")
    name = name.removesuffix("IfExists")
    have = request.values(key)
    if name == "Null":
        return (have is None) == (wanted[0].lower() == "true")
    if have is None:  # a ForAllValues: test of an absent (or empty) key holds, as in AWS
        return if_exists or name in _NEGATED or qualifier == "ForAllValues"
    negate = name in _NEGATED
    test = _BASE.get(_NEGATED.get(name, name))
    if test is None or qualifier not in {"", "ForAnyValue", "ForAllValues"}:
        raise ValueError(f"condition operator {operator} is not supported by this evaluator")
    wanted = [w for w in (_substitute(w, request) for w in wanted) if w is not None]

    def one(value: str) -> bool:
        hit = any(test(w, value) for w in wanted)
        return not hit if negate else hit

    if qualifier == "ForAllValues":
        return all(one(v) for v in have)
    if qualifier == "ForAnyValue" or len(have) == 1:
        return any(one(v) for v in have)
    raise ValueError(f"{key} has several values; {operator} needs ForAnyValue: or ForAllValues:")


def _statement_matches(statement: Mapping[str, Any], request: Request) -> bool:
    if "Action" in statement:
        if not _matches_any(_as_list(statement["Action"]), request.action, request, case=False):
            return False
    elif _matches_any(_as_list(statement["NotAction"]), request.action, request, case=False):
        return False
    if "Resource" in statement:
        if not _matches_any(_as_list(statement["Resource"]), request.resource, request, case=True):
            return False
    elif _matches_any(_as_list(statement["NotResource"]), request.resource, request, case=True):
        return False
    for operator, keys in statement.get("Condition", {}).items():
        for key, wanted in keys.items():
            if not _condition(operator, key, _as_list(wanted), request):
                return False
    return True


def allows(policy: Mapping[str, Any], request: Request) -> bool:
    """Whether the policy alone allows the request (explicit Deny wins; no match is an implicit deny)."""
    statements = _as_list_of_statements(policy["Statement"])
    if any(s["Effect"] == "Deny" and _statement_matches(s, request) for s in statements):
        return False
    return any(s["Effect"] == "Allow" and _statement_matches(s, request) for s in statements)


def _as_list_of_statements(value: Any) -> list[Mapping[str, Any]]:
    return [value] if isinstance(value, Mapping) else list(value)


def denied(policy: Mapping[str, Any], requests: Sequence[Request]) -> list[Request]:
    """The requests the policy does not allow."""
    return [r for r in requests if not allows(policy, r)]
