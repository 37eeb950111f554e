"""EC2 facts: instance type validation (live GpuInfo over the catalog), offerings per AZ, zone names."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from geusemaker.catalog import Catalog
from geusemaker.errors import AwsError, UsageError
from geusemaker.models.catalog import InstanceSpec
from geusemaker.models.gpu import UNSUPPORTED_ACCELERATOR_FAMILIES, gpu_family_problem, instance_family
from geusemaker.models.regions import OPT_IN_REGIONS
from geusemaker.services.aws import AwsClients, translate_errors


class Ec2Service:
    """Read-only EC2 questions the planner asks."""

    def __init__(self, clients: AwsClients, catalog: Catalog) -> None:
        self._clients = clients
        self._catalog = catalog

    def describe_instance_types(self, region: str, instance_types: Iterable[str]) -> dict[str, InstanceSpec]:
        """Live specs of the types AWS knows in `region` (unknown types are left out)."""
        wanted = sorted(set(instance_types))
        if not wanted:
            return {}
        try:
            return self._describe(region, wanted)
        except _InvalidInstanceType:
            specs: dict[str, InstanceSpec] = {}
            for itype in wanted:
                try:
                    specs |= self._describe(region, [itype])
                except _InvalidInstanceType:
                    continue
            return specs

    def _describe(self, region: str, instance_types: list[str]) -> dict[str, InstanceSpec]:
        client = self._clients.client("ec2", region)
        specs = {}
        try:
            with translate_errors("ec2:DescribeInstanceTypes"):
                for page in client.get_paginator("describe_instance_types").paginate(InstanceTypes=instance_types):
                    for item in page["InstanceTypes"]:
                        spec = spec_from_live(item)
                        specs[spec.instance_type] = spec
        except AwsError as exc:
            if exc.code == "InvalidInstanceType":
                raise _InvalidInstanceType from None
            raise
        return specs

    def validate_instance_type(self, region: str, instance_type: str, tier: str) -> InstanceSpec:
        """The spec of `instance_type`, or a `UsageError` saying what is wrong and what to use instead."""
        if tier == "gpu" and instance_family(instance_type) in UNSUPPORTED_ACCELERATOR_FAMILIES:
            raise UsageError(
                f"compute.instance_type: {gpu_family_problem(instance_type)}", hint=self._cheapest_gpu_hint(region)
            )
        live = self.describe_instance_types(region, [instance_type]).get(instance_type)
        spec = live or self._catalog.spec(instance_type)
        if spec is None:
            raise UsageError(
                f"compute.instance_type: '{instance_type}' is not an EC2 instance type in {region}",
                hint=self._did_you_mean(instance_type),
            )
        if tier == "gpu":
            problem = gpu_family_problem(instance_type) if spec.gpu_count else _no_gpu(instance_type)
            if problem:
                raise UsageError(f"compute.instance_type: {problem}", hint=self._cheapest_gpu_hint(region))
        return spec

    def offered_zone_ids(self, region: str, instance_types: Iterable[str]) -> dict[str, set[str]]:
        """instance type -> AZ IDs of `region` where it is offered."""
        wanted = sorted(set(instance_types))
        offered: dict[str, set[str]] = {itype: set() for itype in wanted}
        client = self._clients.client("ec2", region)
        with translate_errors("ec2:DescribeInstanceTypeOfferings"):
            paginator = client.get_paginator("describe_instance_type_offerings")
            pages = paginator.paginate(
                LocationType="availability-zone-id", Filters=[{"Name": "instance-type", "Values": wanted}]
            )
            for page in pages:
                for offer in page["InstanceTypeOfferings"]:
                    offered.setdefault(offer["InstanceType"], set()).add(offer["Location"])
        return offered

    def zone_names(self, region: str) -> dict[str, str]:
        """AZ ID -> this account's AZ name (us-east-1a ...), for available zones."""
        client = self._clients.client("ec2", region)
        with translate_errors("ec2:DescribeAvailabilityZones"):
            zones = client.describe_availability_zones(
                Filters=[
                    {"Name": "state", "Values": ["available"]},
                    {"Name": "zone-type", "Values": ["availability-zone"]},
                ]
            )["AvailabilityZones"]
        return {zone["ZoneId"]: zone["ZoneName"] for zone in zones}

    def opt_in_status(self) -> dict[str, str] | None:
        """region -> OptInStatus (opt-in-not-required, opted-in, not-opted-in); None when unreadable.

        Asked in a region every account has (a disabled opt-in region would answer AuthFailure).
        """
        region = self._clients.default_region
        client = self._clients.client("ec2", region if region not in OPT_IN_REGIONS else "us-east-1")
        try:
            with translate_errors("ec2:DescribeRegions"):
                regions = client.describe_regions(AllRegions=True)["Regions"]
        except AwsError:
            return None
        return {r["RegionName"]: str(r.get("OptInStatus", "opt-in-not-required")) for r in regions}

    def _did_you_mean(self, instance_type: str) -> str:
        known = list(self._catalog.specs)
        close = difflib.get_close_matches(instance_type, known, n=3, cutoff=0.75)
        if close:
            return f"Did you mean {' or '.join(close)}?"
        family = instance_family(instance_type)
        same_family = sorted(t for t in known if instance_family(t) == family)
        return f"Known {family} types: {', '.join(same_family)}" if same_family else "See: geusemaker gpus"

    def _cheapest_gpu_hint(self, region: str) -> str:
        offers = self._catalog.offers(region=region if region in self._catalog.regions() else None)
        cheapest = [o for o in offers if o.on_demand_usd_hour is not None][:3]
        listed = ", ".join(f"{o.spec.instance_type} ({o.spec.gpu}, ${o.on_demand_usd_hour:.3f}/h)" for o in cheapest)
        return f"Cheapest GPU types{'' if region not in self._catalog.regions() else ' in ' + region}: {listed}"


class _InvalidInstanceType(Exception):
    """DescribeInstanceTypes refused one of the names."""


def _no_gpu(instance_type: str) -> str:
    return f"{instance_type} has no NVIDIA GPU; tier gpu needs one (or set tier: cpu)"


def spec_from_live(item: dict[str, Any]) -> InstanceSpec:
    """An `InstanceSpec` from one DescribeInstanceTypes entry (NVIDIA GPUs only count as GPUs)."""
    gpus = [g for g in item.get("GpuInfo", {}).get("Gpus", []) if g.get("Manufacturer") == "NVIDIA"]
    gpu = gpus[0] if gpus else {}
    architectures = item.get("ProcessorInfo", {}).get("SupportedArchitectures", ["x86_64"])
    return InstanceSpec(
        instance_type=item["InstanceType"],
        family=instance_family(item["InstanceType"]),
        gpu=str(gpu.get("Name", "")),
        gpu_count=int(sum(g.get("Count", 0) for g in gpus)),
        gpu_memory_gib=round(gpu.get("MemoryInfo", {}).get("SizeInMiB", 0) / 1024, 1),
        vcpus=int(item["VCpuInfo"]["DefaultVCpus"]),
        memory_gib=round(item["MemoryInfo"]["SizeInMiB"] / 1024, 1),
        architecture="arm64" if "arm64" in architectures and "x86_64" not in architectures else "x86_64",
    )
