"""Ranking placements: cheapest feasible first, unknown prices last, and the fallback order."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from geusemaker.models.plan import Placement

MAX_FALLBACKS = 12
#: Of the fallbacks, how many may be in the other market (on-demand after spot), so it is always reached.
OTHER_MARKET_FALLBACKS = 3


def rank_key(placement: Placement) -> tuple[bool, float, int, str, str, str]:
    """Sort key: priced before unknown, lower risk-adjusted total first (a spot placement's price is raised
    by its interruption risk), higher spot score first, then stable names."""
    total = placement.risk_adjusted_hourly_usd
    return (
        total is None,
        math.inf if total is None else round(total, 6),
        -(placement.placement_score or 0),
        placement.instance_type,
        placement.region,
        placement.zone_id,
    )


def rank(candidates: Iterable[Placement]) -> list[Placement]:
    """Feasible candidates, best first."""
    return sorted((c for c in candidates if c.feasible), key=rank_key)


def choose(candidates: Sequence[Placement]) -> tuple[Placement | None, list[Placement]]:
    """The chosen placement and its ordered fallbacks: same market first (by cost), then the other market."""
    ranked = rank(candidates)
    if not ranked:
        return None, []
    chosen = ranked[0]
    same = [c for c in ranked[1:] if c.market == chosen.market]
    other = [c for c in ranked[1:] if c.market != chosen.market]
    other = other[:OTHER_MARKET_FALLBACKS]
    return chosen, same[: MAX_FALLBACKS - len(other)] + other
