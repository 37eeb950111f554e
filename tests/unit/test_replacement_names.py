"""The names and shapes of a stack's Auto Scaling group of one (models/replacement.py)."""

from __future__ import annotations

from geusemaker.models.replacement import (
    ZoneTypes,
    alarm_name,
    fallback_group_name,
    group_name,
    overrides_for,
    planned_price,
)

SHAPES = (
    ZoneTypes("us-east-1a", "spot", ("g4dn.xlarge", "g5.xlarge"), (0.2, 0.4)),
    ZoneTypes("us-east-1b", "spot", ("g4dn.xlarge",), (0.25,)),
    ZoneTypes("us-east-1b", "on-demand", ("g4dn.xlarge", "g5.xlarge"), (0.526, 1.006)),
)


def test_names_carry_the_stack_id_so_two_stacks_of_one_name_never_share_a_group() -> None:
    assert group_name("llm", "5f0c2b1e9d8a4c7b") == "gm-llm-5f0c2b1e"
    assert group_name("llm", "0another0") != group_name("llm", "5f0c2b1e9d8a4c7b")
    assert fallback_group_name("llm", "5f0c2b1e9d8a") == "gm-llm-5f0c2b1e-od"
    assert alarm_name("llm", "5f0c2b1e9d8a") == "gm-llm-5f0c2b1e-no-spot"


def test_the_overrides_are_the_planned_types_of_the_zone_and_market() -> None:
    assert overrides_for(SHAPES, "us-east-1a", "spot") == ("g4dn.xlarge", "g5.xlarge")
    assert overrides_for(SHAPES, "us-east-1b", "on-demand") == ("g4dn.xlarge", "g5.xlarge")
    assert overrides_for(SHAPES, "us-east-1a", "on-demand") == ("g4dn.xlarge", "g5.xlarge"), "the zone's others"
    assert overrides_for(SHAPES, "us-east-1c", "spot") == ()


def test_a_replacement_is_priced_from_the_plan_spot_per_zone_on_demand_per_region() -> None:
    assert planned_price(SHAPES, "us-east-1b", "spot", "g4dn.xlarge") == 0.25
    assert planned_price(SHAPES, "us-east-1a", "spot", "g4dn.xlarge") == 0.2
    assert planned_price(SHAPES, "us-east-1a", "on-demand", "g5.xlarge") == 1.006, "on-demand: same in every zone"
    assert planned_price(SHAPES, "us-east-1c", "spot", "g4dn.xlarge") is None, "spot prices differ by zone"
    assert planned_price(SHAPES, "us-east-1a", "spot", "p5.48xlarge") is None
