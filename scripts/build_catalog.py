#!/usr/bin/env python3
"""Rebuild the bundled GPU catalog (specs + price snapshot) from a CSV of AWS GPU prices.

The CSV format is SkyPilot's AWS catalog format (columns InstanceType, AcceleratorName,
AcceleratorCount, vCPUs, MemoryGiB, GpuInfo, Price, SpotPrice, Region, AvailabilityZone).
Supported types the price CSV lacks get their specs, without prices, from --specs
(scripts/aws_gpu_specs_extra.csv: AWS DescribeInstanceTypes facts; see aws_gpu_prices.SOURCE.md).

    python scripts/build_catalog.py scripts/aws_gpu_prices.csv \
        --source "skypilot-org/skypilot-catalog catalogs/v7/aws/vms.csv @ 001367d" \
        --date 2026-11-22
"""

from __future__ import annotations

import argparse
import ast
import csv
import json
import sys
from pathlib import Path
from typing import Any

from geusemaker.models.gpu import SUPPORTED_GPU_FAMILIES as SUPPORTED_FAMILIES

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "geusemaker" / "catalog" / "data" / "gpu_catalog.json"
DEFAULT_SPECS = Path(__file__).resolve().parent / "aws_gpu_specs_extra.csv"


def _price(text: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    value = float(text)
    return value if value > 0 else None


def _extra_specs(rows: list[dict[str, str]]) -> dict[str, dict[str, Any]]:
    """Specs (no prices) of supported types from the extra specs CSV."""
    specs = {}
    for row in rows:
        family = row["InstanceType"].split(".", 1)[0]
        if family in SUPPORTED_FAMILIES:
            specs[row["InstanceType"]] = {
                "family": family,
                "gpu": row["AcceleratorName"],
                "gpu_count": int(row["AcceleratorCount"]),
                "gpu_memory_gib": round(int(row["GpuMemoryMiB"]) / 1024, 1),
                "vcpus": int(row["vCPUs"]),
                "memory_gib": float(row["MemoryGiB"]),
                "architecture": "x86_64",
            }
    return specs


def build(
    rows: list[dict[str, str]], source: str, date: str, extra_specs: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    """Turn CSV rows into the catalog document (specs per type, prices per region and AZ ID)."""
    specs: dict[str, dict[str, Any]] = {}
    prices: dict[str, dict[str, dict[str, Any]]] = {}
    for row in rows:
        itype = row["InstanceType"]
        family = itype.split(".", 1)[0]
        if family not in SUPPORTED_FAMILIES:
            continue
        gpu_info = ast.literal_eval(row["GpuInfo"])
        gpu = gpu_info["Gpus"][0]
        specs.setdefault(
            itype,
            {
                "family": family,
                "gpu": row["AcceleratorName"],
                "gpu_count": int(float(row["AcceleratorCount"])),
                "gpu_memory_gib": round(gpu["MemoryInfo"]["SizeInMiB"] / 1024, 1),
                "vcpus": int(float(row["vCPUs"])),
                "memory_gib": float(row["MemoryGiB"]),
                "architecture": "x86_64",
            },
        )
        region = prices.setdefault(itype, {}).setdefault(row["Region"], {"on_demand": None, "spot": {}})
        on_demand = _price(row["Price"])
        if on_demand is not None:
            region["on_demand"] = on_demand
        spot = _price(row["SpotPrice"])
        zone = row["AvailabilityZone"]
        if spot is not None:
            # Duplicated AZ rows (p4de) keep the row that has a price.
            region["spot"][zone] = spot
        else:
            region["spot"].setdefault(zone, None)
    for itype, spec in _extra_specs(extra_specs or []).items():
        specs.setdefault(itype, spec)
    return {
        "source": source,
        "snapshot_date": date,
        "instance_types": dict(sorted(specs.items())),
        "prices": dict(sorted(prices.items())),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", type=Path)
    parser.add_argument("--source", required=True, help="where the CSV came from")
    parser.add_argument("--date", required=True, help="date of the snapshot (YYYY-MM-DD)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--specs", type=Path, default=DEFAULT_SPECS, help="specs of types without prices")
    args = parser.parse_args(argv)
    with args.csv.open(newline="") as handle, args.specs.open(newline="") as specs:
        document = build(list(csv.DictReader(handle)), args.source, args.date, list(csv.DictReader(specs)))
    args.out.write_text(json.dumps(document, separators=(",", ":"), sort_keys=False) + "\n")
    print(f"{len(document['instance_types'])} instance types -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
