"""The bundled GPU catalog against its source CSV, the alias mapping, and `geusemaker gpus`."""

from __future__ import annotations

import ast
import csv
import json
import subprocess
import sys

import pytest

from geusemaker.catalog import load_catalog
from geusemaker.models.gpu import SUPPORTED_GPU_FAMILIES, normalize_gpu
from tests.conftest import ROOT

SOURCE_CSV = ROOT / "scripts" / "aws_gpu_prices.csv"


def _source_rows() -> list[dict[str, str]]:
    """The snapshot's rows of supported families (P3/P3dn, V100, are in the CSV but not deployable)."""
    with SOURCE_CSV.open(newline="") as handle:
        return [row for row in csv.DictReader(handle) if row["InstanceType"].split(".")[0] in SUPPORTED_GPU_FAMILIES]


@pytest.mark.parametrize(
    ("gpu", "count", "expected"),
    [
        ("t4", 1, "g4dn.xlarge"),
        ("t4", 2, "g4dn.12xlarge"),
        ("t4", 4, "g4dn.12xlarge"),
        ("t4", 8, "g4dn.metal"),
        ("a10g", 1, "g5.xlarge"),
        ("a10g", 4, "g5.12xlarge"),
        ("a10g", 8, "g5.48xlarge"),
        ("l4", 1, "g6.xlarge"),
        ("l40s", 1, "g6e.xlarge"),
        ("l40s", 4, "g6e.12xlarge"),
        ("b200", 8, "p6-b200.48xlarge"),
        ("b300", 1, "p6-b300.48xlarge"),
        ("rtx-pro-4500", 1, "g7.2xlarge"),
        ("rtx-pro-4500", 2, "g7.12xlarge"),
        ("a100", 1, "p4d.24xlarge"),
        ("a100", 8, "p4d.24xlarge"),
        ("a100-80gb", 8, "p4de.24xlarge"),
        ("h100", 8, "p5.48xlarge"),
    ],
)
def test_smallest_instance_type_for_gpu_and_count(gpu: str, count: int, expected: str) -> None:
    spec = load_catalog().smallest_instance_type(normalize_gpu(gpu), count)
    assert spec is not None
    assert spec.instance_type == expected


def test_h200_maps_to_an_eight_gpu_p5e_or_p5en() -> None:
    spec = load_catalog().smallest_instance_type("H200", 1)
    assert spec is not None and spec.gpu_count == 8 and spec.family in {"p5e", "p5en"}


def test_no_type_has_more_gpus_than_exist() -> None:
    assert load_catalog().smallest_instance_type("A10G", 9) is None


def test_every_family_of_the_issue_is_in_the_catalog() -> None:
    families = {spec.family for spec in load_catalog().specs.values()}
    assert families == set(SUPPORTED_GPU_FAMILIES)


def test_specs_match_the_source_csv() -> None:
    catalog = load_catalog()
    for row in _source_rows():
        spec = catalog.spec(row["InstanceType"])
        assert spec is not None
        gpu_info = ast.literal_eval(row["GpuInfo"])
        assert spec.gpu == row["AcceleratorName"]
        assert spec.gpu_count == int(float(row["AcceleratorCount"])) == gpu_info["Gpus"][0]["Count"]
        assert spec.vcpus == int(float(row["vCPUs"]))
        assert spec.memory_gib == float(row["MemoryGiB"])
        assert spec.gpu_memory_gib == round(gpu_info["Gpus"][0]["MemoryInfo"]["SizeInMiB"] / 1024, 1)
        assert spec.architecture == "x86_64"


def test_prices_match_the_source_csv() -> None:
    catalog = load_catalog()
    for row in _source_rows():
        price = catalog.price(row["InstanceType"], row["Region"])
        assert price is not None
        expected_on_demand = float(row["Price"]) if row["Price"] else None
        assert price.on_demand_usd_hour == expected_on_demand
        if row["SpotPrice"]:
            assert row["AvailabilityZone"] in price.spot_usd_hour_by_zone_id
            assert price.spot_usd_hour_by_zone_id[row["AvailabilityZone"]] is not None


def test_known_prices_from_the_source_notes() -> None:
    catalog = load_catalog()
    expected = {"g4dn.xlarge": 0.526, "g5.xlarge": 1.006, "g6.xlarge": 0.8048, "p5.48xlarge": 98.32}
    for itype, usd in expected.items():
        price = catalog.price(itype, "us-east-1")
        assert price is not None and price.on_demand_usd_hour == usd
    p5e = catalog.price("p5e.48xlarge", catalog.regions_for("p5e.48xlarge")[0])
    assert p5e is not None and p5e.on_demand_usd_hour is None  # unknown, never $0


def test_snapshot_keeps_its_source_and_date() -> None:
    catalog = load_catalog()
    assert catalog.snapshot_date == "2026-11-22"
    assert "skypilot-catalog" in catalog.source and "001367d" in catalog.source


def test_rebuilding_the_snapshot_gives_the_bundled_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "catalog.json"
    bundled = json.loads((ROOT / "geusemaker/catalog/data/gpu_catalog.json").read_text())
    subprocess.run(
        [sys.executable, str(ROOT / "scripts/build_catalog.py"), str(SOURCE_CSV), "--source", bundled["source"],
         "--date", bundled["snapshot_date"], "--out", str(out)],
        check=True, capture_output=True,
    )  # fmt: skip
    assert json.loads(out.read_text()) == bundled


def _cheapest_rows_from_csv(gpu: str | None, region: str) -> dict[str, tuple[float | None, float | None]]:
    rows: dict[str, tuple[float | None, float | None]] = {}
    for row in _source_rows():
        if row["Region"] != region or (gpu and row["AcceleratorName"] != gpu):
            continue
        on_demand = float(row["Price"]) if row["Price"] else None
        spot = float(row["SpotPrice"]) if row["SpotPrice"] else None
        _, best_spot = rows.get(row["InstanceType"], (None, None))
        if spot is not None and (best_spot is None or spot < best_spot):
            best_spot = spot
        rows[row["InstanceType"]] = (on_demand, best_spot)
    return rows


def test_gpus_json_matches_the_snapshot(cli) -> None:
    result = cli("gpus", "--region", "us-east-1", "--output", "json")
    assert result.code == 0
    listed = json.loads(result.out)
    expected = _cheapest_rows_from_csv(None, "us-east-1")
    assert {row["instance_type"] for row in listed} == set(expected)
    for row in listed:
        assert set(row) == {
            "instance_type", "gpu", "gpu_count", "gpu_memory_gib", "vcpus", "memory_gib",
            "region", "on_demand_usd_hour", "spot_usd_hour",
        }  # fmt: skip
        assert (row["on_demand_usd_hour"], row["spot_usd_hour"]) == expected[row["instance_type"]]
    prices = [row["on_demand_usd_hour"] for row in listed if row["on_demand_usd_hour"] is not None]
    assert prices == sorted(prices), "cheapest first"


def test_gpus_default_lists_each_type_once_in_its_cheapest_region(cli) -> None:
    listed = json.loads(cli("gpus", "--gpu", "nvidia-a10g", "--output", "json").out)
    assert [row["instance_type"] for row in listed][:2] == ["g5.xlarge", "g5.2xlarge"]
    assert len({row["instance_type"] for row in listed}) == len(listed) == 8
    for row in listed:
        cheapest = min(
            p.on_demand_usd_hour
            for r in load_catalog().regions_for(row["instance_type"])
            if (p := load_catalog().price(row["instance_type"], r)) and p.on_demand_usd_hour is not None
        )
        assert row["on_demand_usd_hour"] == cheapest


def test_gpus_spot_ranking_and_count_filter(cli) -> None:
    listed = json.loads(cli("gpus", "--count", "8", "--spot", "--region", "all", "--output", "json").out)
    assert listed and all(row["gpu_count"] >= 8 and row["spot_usd_hour"] is not None for row in listed)
    spots = [row["spot_usd_hour"] for row in listed]
    assert spots == sorted(spots)


def test_gpus_table_has_a_row_per_type(cli) -> None:
    result = cli("gpus", "--gpu", "t4", "--region", "us-east-1")
    assert result.code == 0
    assert "g4dn.xlarge" in result.out and "$0.5260" in result.out
    assert "snapshot of 2026-11-22" in result.err


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--gpu", "b3000"], "--gpu: unknown GPU"),
        (["--region", "mars-1"], "--region: 'mars-1' is not an AWS region"),
        (["--region", "us-east-١"], "is not an AWS region"),
        (["--region", "eu-central-2"], "--region: the price snapshot has no GPU instance types in eu-central-2"),
        (["--count", "0"], "--count"),
    ],
)
def test_gpus_bad_options_exit_2(cli, args: list[str], fragment: str) -> None:
    result = cli("gpus", *args)
    assert result.code == 2
    assert fragment in result.err


def test_new_nvidia_families_are_listed_with_price_unknown(cli) -> None:  # type: ignore[no-untyped-def]
    rows = {row["instance_type"]: row for row in json.loads(cli("gpus", "--output", "json").out)}
    for itype, gpu in (("p6-b200.48xlarge", "B200"), ("p6-b300.48xlarge", "B300"), ("g7.2xlarge", "RTX-PRO-4500")):
        assert rows[itype]["gpu"] == gpu and rows[itype]["on_demand_usd_hour"] is None
    assert not any(itype.startswith(("p3.", "p3dn.")) for itype in rows), "V100 is not deployable"
    table = cli("gpus", "--gpu", "b200")
    assert "p6-b200.48xlarge" in table.out and "unknown" in table.out
