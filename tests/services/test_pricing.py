"""PricingService: the Pricing API's real answer format, failures, and the snapshot fallback."""

from __future__ import annotations

import json

from geusemaker.catalog import load_catalog
from geusemaker.services.aws import AwsClients, AwsTarget
from geusemaker.services.pricing import FALLBACK_PUBLIC_IPV4_HOUR, FALLBACK_SOURCE, PricingService
from tests.awsfakes import count_calls, json_error, respond


def _product(region: str, usd: str, description: str = "$X per On Demand Linux g5.xlarge Instance Hour") -> str:
    return json.dumps(
        {
            "product": {"attributes": {"instanceType": "g5.xlarge", "regionCode": region, "operatingSystem": "Linux"}},
            "terms": {
                "OnDemand": {
                    "SKU.JRTCKXETXF": {
                        "priceDimensions": {
                            "SKU.JRTCKXETXF.6YS6EN2CT7": {
                                "unit": "Hrs",
                                "pricePerUnit": {"USD": usd},
                                "description": description,
                            }
                        }
                    }
                }
            },
        }
    )


def _clients(endpoint: str) -> AwsClients:
    return AwsClients(AwsTarget(region="us-east-1", endpoint_url=endpoint, access_key="k", secret_key="s"))


def test_pricing_api_answer_is_parsed_and_zero_and_capacity_blocks_ignored(sandbox_endpoint: str) -> None:
    clients = _clients(sandbox_endpoint)
    price_list = [
        _product("eu-west-1", "0.0000000000"),
        _product("eu-west-1", "0.5000000000", "Capacity Block reservation for g5.xlarge"),
        _product("eu-west-1", "1.1230000000"),
        _product("us-east-1", "1.0060000000"),
    ]
    respond(
        clients.client("pricing", "us-east-1"), "GetProducts", 200, {"FormatVersion": "aws_v1", "PriceList": price_list}
    )
    pricing = PricingService(clients, load_catalog())
    assert pricing.on_demand("g5.xlarge", "eu-west-1").usd == 1.123
    assert pricing.on_demand("g5.xlarge", "eu-west-1").source == "pricing-api"
    assert pricing.on_demand("g5.xlarge", "us-east-1").usd == 1.006


def test_region_missing_from_the_api_uses_the_snapshot(sandbox_endpoint: str) -> None:
    clients = _clients(sandbox_endpoint)
    respond(clients.client("pricing", "us-east-1"), "GetProducts", 200, {"PriceList": [_product("eu-west-1", "1.123")]})
    price = PricingService(clients, load_catalog()).on_demand("g5.xlarge", "us-east-1")
    assert (price.usd, price.source) == (1.006, "snapshot 2026-11-22")


def test_api_failure_falls_back_to_the_snapshot_and_says_so(sandbox_endpoint: str) -> None:
    clients = _clients(sandbox_endpoint)
    pricing_client = clients.client("pricing", "us-east-1")
    respond(pricing_client, "GetProducts", 400, json_error("AccessDeniedException", "not allowed: pricing:GetProducts"))
    calls = count_calls(pricing_client, "GetProducts")
    pricing = PricingService(clients, load_catalog())
    price = pricing.on_demand("g4dn.xlarge", "us-east-1")
    assert (price.usd, price.source) == (0.526, "snapshot 2026-11-22")
    assert any("Pricing API unavailable" in note and "snapshot 2026-11-22" in note for note in pricing.notes)
    pricing.on_demand("g4dn.xlarge", "eu-west-1")
    assert len(calls) == 1, "one API call per instance type, memoised"


def test_unknown_price_is_none_never_zero(sandbox_endpoint: str) -> None:
    clients = _clients(sandbox_endpoint)
    respond(clients.client("pricing", "us-east-1"), "GetProducts", 200, {"PriceList": []})
    price = PricingService(clients, load_catalog()).on_demand("p5e.48xlarge", "us-east-1")
    assert price.usd is None and price.source == "unknown"


def test_resource_rates_from_api_and_fallback(sandbox_endpoint: str) -> None:
    clients = _clients(sandbox_endpoint)
    rate = json.dumps(
        {
            "product": {"attributes": {"usagetype": "USE1-EBS:VolumeUsage.gp3"}},
            "terms": {"OnDemand": {"A": {"priceDimensions": {"B": {"pricePerUnit": {"USD": "0.0800000000"}}}}}},
        }
    )
    respond(clients.client("pricing", "us-east-1"), "GetProducts", 200, {"PriceList": [rate]})
    rates = PricingService(clients, load_catalog()).resource_rates("us-east-1")
    assert (rates.ebs_gp3_gb_month.usd, rates.ebs_gp3_gb_month.source) == (0.08, "pricing-api")
    # the IPv4 answer must name InUseAddress in its usage type; this one does not -> documented fallback
    assert (rates.public_ipv4_hour.usd, rates.public_ipv4_hour.source) == (FALLBACK_PUBLIC_IPV4_HOUR, FALLBACK_SOURCE)


def test_sandbox_never_calls_the_pricing_api(sandbox_endpoint: str) -> None:
    clients = AwsClients(AwsTarget(region="us-east-1", endpoint_url=sandbox_endpoint, sandbox=True))
    calls = count_calls(clients.client("pricing", "us-east-1"), "GetProducts")
    pricing = PricingService(clients, load_catalog())
    assert pricing.on_demand("g6.xlarge", "us-east-1").usd == 0.8048
    assert pricing.resource_rates("us-east-1").efs_standard_gb_month.source == FALLBACK_SOURCE
    assert calls == []


def test_the_snapshot_rate_is_the_standard_tier_from_the_api_else_the_documented_fallback(
    sandbox_endpoint: str,
) -> None:
    from geusemaker.services.pricing import FALLBACK_EBS_SNAPSHOT_GB_MONTH

    def product(usage: str, usd: str) -> str:
        return json.dumps(
            {
                "product": {"attributes": {"usagetype": usage}},
                "terms": {"OnDemand": {"A": {"priceDimensions": {"B": {"pricePerUnit": {"USD": usd}}}}}},
            }
        )

    clients = _clients(sandbox_endpoint)
    archive, standard = product("USE1-EBS:SnapshotArchiveStorage", "0.0125"), product("USE1-EBS:SnapshotUsage", "0.05")
    respond(clients.client("pricing", "us-east-1"), "GetProducts", 200, {"PriceList": [archive, standard]})
    rate = PricingService(clients, load_catalog()).resource_rates("us-east-1").ebs_snapshot_gb_month
    assert (rate.usd, rate.source) == (0.05, "pricing-api"), "the archive tier is not the snapshot's rate"
    other = _clients(sandbox_endpoint)
    respond(other.client("pricing", "us-east-1"), "GetProducts", 400, json_error("AccessDeniedException", "no"))
    fallback = PricingService(other, load_catalog()).resource_rates("us-east-1").ebs_snapshot_gb_month
    assert (fallback.usd, fallback.source) == (FALLBACK_EBS_SNAPSHOT_GB_MONTH, FALLBACK_SOURCE)
