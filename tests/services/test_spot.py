"""SpotService: live history when plausible, the snapshot per AZ when not (moto's prices are fake)."""

from __future__ import annotations

from datetime import UTC, datetime

from geusemaker.catalog import load_catalog
from geusemaker.services.ec2 import Ec2Service
from geusemaker.services.spot import SpotService
from tests.awsfakes import inprocess_aws, respond


def test_fake_moto_prices_are_replaced_by_the_snapshot() -> None:
    with inprocess_aws() as clients:
        zones = Ec2Service(clients, load_catalog()).zone_names("us-east-1")
        spot = SpotService(clients, load_catalog())
        history = spot.history("us-east-1", ["g5.xlarge"])
        assert history and set(history.values()) == {0.00001}
        prices = spot.resolve("us-east-1", ["g5.xlarge"], zones, {"g5.xlarge": 1.006}, history)
    snapshot = load_catalog().price("g5.xlarge", "us-east-1")
    assert snapshot is not None
    for (itype, zone_id), price in prices.items():
        assert itype == "g5.xlarge"
        assert price.usd == snapshot.spot_usd_hour_by_zone_id.get(zone_id)
        assert price.source in {"snapshot 2026-11-22", "unknown"}
    assert any("implausible" in note for note in spot.notes)


def test_plausible_live_prices_win_and_the_latest_per_zone_is_kept() -> None:
    body = """<DescribeSpotPriceHistoryResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
<requestId>1</requestId><spotPriceHistorySet>
<item><instanceType>g5.xlarge</instanceType><productDescription>Linux/UNIX</productDescription>
<spotPrice>0.4100</spotPrice><timestamp>2026-11-23T10:00:00.000Z</timestamp><availabilityZone>us-east-1a</availabilityZone></item>
<item><instanceType>g5.xlarge</instanceType><productDescription>Linux/UNIX</productDescription>
<spotPrice>0.3900</spotPrice><timestamp>2026-11-23T11:00:00.000Z</timestamp><availabilityZone>us-east-1a</availabilityZone></item>
</spotPriceHistorySet><nextToken/></DescribeSpotPriceHistoryResponse>"""
    with inprocess_aws() as clients:
        zones = Ec2Service(clients, load_catalog()).zone_names("us-east-1")
        respond(clients.client("ec2", "us-east-1"), "DescribeSpotPriceHistory", 200, body)
        spot = SpotService(clients, load_catalog(), now=lambda: datetime(2026, 11, 23, tzinfo=UTC))
        history = spot.history("us-east-1", ["g5.xlarge"])
        prices = spot.resolve("us-east-1", ["g5.xlarge"], zones, {"g5.xlarge": 1.006}, history)
    zone_a = next(zone_id for zone_id, name in zones.items() if name == "us-east-1a")
    assert prices[("g5.xlarge", zone_a)].usd == 0.39
    assert prices[("g5.xlarge", zone_a)].source == "spot-history"
