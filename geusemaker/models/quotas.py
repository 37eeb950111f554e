"""Which EC2 vCPU quota governs an instance type in a market."""

from __future__ import annotations

from geusemaker.models.gpu import instance_family
from geusemaker.models.market import MarketKind

QUOTA_NAMES: dict[str, str] = {
    "L-DB2E81BA": "Running On-Demand G and VT instances",
    "L-417A185B": "Running On-Demand P instances",
    "L-3819A6DF": "All G and VT Spot Instance Requests",
    "L-7212CCBC": "All P Spot Instance Requests",
    "L-1216C47A": "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances",
    "L-34B43A08": "All Standard (A, C, D, H, I, M, R, T, Z) Spot Instance Requests",
}
_STANDARD_LETTERS = set("acdhimrtz")


def quota_group(instance_type: str) -> str:
    """ "g" (G and VT), "p" (P) or "standard"."""
    letter = instance_family(instance_type)[0]
    if letter in {"g", "v"}:
        return "g"
    if letter == "p":
        return "p"
    return "standard" if letter in _STANDARD_LETTERS else letter


def quota_code(instance_type: str, market: MarketKind) -> str | None:
    """The Service Quotas code limiting `instance_type` in `market`, or None when GeuseMaker does not track it."""
    codes = {
        ("g", "on-demand"): "L-DB2E81BA",
        ("p", "on-demand"): "L-417A185B",
        ("g", "spot"): "L-3819A6DF",
        ("p", "spot"): "L-7212CCBC",
        ("standard", "on-demand"): "L-1216C47A",
        ("standard", "spot"): "L-34B43A08",
    }
    return codes.get((quota_group(instance_type), market))
