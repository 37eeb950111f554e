"""`region: auto` asks AWS only about regions that can still win, and still finds the same placement."""

from __future__ import annotations

import pytest

from geusemaker.catalog import load_catalog
from geusemaker.config_io import parse_config
from geusemaker.models.regions import OPT_IN_REGIONS
from geusemaker.planning import regions as region_search
from geusemaker.planning.planner import Planner
from tests.awsfakes import inprocess_aws


@pytest.mark.parametrize("gpu", ["t4", "a10g"])
def test_search_asks_fewer_regions_and_finds_the_same_placement(gpu: str, monkeypatch: pytest.MonkeyPatch) -> None:
    config = parse_config(f"name: s\nregion: auto\ncompute:\n  gpu: {gpu}\nstorage:\n  data: none\n")
    with inprocess_aws() as clients:
        planner = Planner.create(clients, load_catalog())
        searched = planner.plan(config)
        monkeypatch.setattr(region_search, "FIRST_WAVE", 100)
        monkeypatch.setattr(region_search, "FIRST_WAVE_MAX", 100)
        everything = Planner.create(clients, load_catalog()).plan(config)
    asked, skipped = searched.extra["regions_considered"], searched.extra["regions_skipped_by_snapshot_price"]
    assert skipped and len(asked) < len(everything.extra["regions_considered"])
    assert not set(asked) & set(OPT_IN_REGIONS), "opt-in regions are disabled in this account"
    assert searched.placement == everything.placement
    chosen = searched.placement.risk_adjusted_hourly_usd - searched.placement.extras_hourly_usd
    types = [c.instance_type for c in everything.candidates]
    bounds = region_search.snapshot_bounds(load_catalog(), sorted(set(types)), skipped, ("spot", "on-demand"))
    assert all(not region_search.can_still_win(bounds[r], chosen) for r in skipped)
