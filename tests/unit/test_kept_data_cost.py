"""Pure parts of kept data: its monthly cost, and placement pinned to the data volume's zone."""

from __future__ import annotations

import pytest

from geusemaker.errors import CapacityError
from geusemaker.models.config import DeploymentConfig
from geusemaker.models.market import Price, ResourceRates
from geusemaker.models.plan import Placement
from geusemaker.planning.cost import kept_data_monthly
from geusemaker.planning.verdict import in_zone

RATES = ResourceRates(Price(0.08, "test"), Price(0.30, "test"), Price(0.005, "test"))


def _config(storage: dict[str, object]) -> DeploymentConfig:
    return DeploymentConfig.model_validate({"name": "kept", "region": "us-east-1", "storage": storage})


def test_a_kept_data_volume_costs_its_size_at_the_gp3_rate() -> None:
    config = _config({"data": "ebs", "ebs_gb": 200})
    assert kept_data_monthly(config, {"data-volume", "ssm-parameter"}, RATES) == 16.0


def test_a_kept_file_system_costs_the_efs_estimate_and_secrets_are_free() -> None:
    assert kept_data_monthly(_config({"data": "efs"}), {"file-system", "ssm-parameter"}, RATES) == 15.0
    assert kept_data_monthly(_config({"data": "efs"}), {"ssm-parameter"}, RATES) == 0.0


def test_an_unknown_rate_is_never_shown_as_free() -> None:
    unknown = ResourceRates(Price(None, "unknown"), Price(None, "unknown"), Price(None, "unknown"))
    assert kept_data_monthly(_config({"data": "ebs"}), {"data-volume"}, unknown) is None


def _at(zone: str) -> Placement:
    return Placement("g4dn.xlarge", "us-east-1", f"use1-{zone}", f"us-east-1{zone}", "spot", 0.2, 0.5, "test")


def test_placement_on_kept_data_stays_in_the_volumes_zone() -> None:
    candidates = [_at("a"), _at("b"), _at("c")]
    assert in_zone(candidates, None) == candidates
    assert in_zone(candidates, "us-east-1b") == [candidates[1]]
    with pytest.raises(CapacityError, match="us-east-1f, where the stack's kept data volume is"):
        in_zone(candidates, "us-east-1f")
