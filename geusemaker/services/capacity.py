"""vCPU quotas (Service Quotas minus running instances) and spot placement scores."""

from __future__ import annotations

from collections.abc import Iterable

from geusemaker.catalog import Catalog
from geusemaker.errors import AwsError
from geusemaker.models.market import MarketKind
from geusemaker.models.quotas import quota_group
from geusemaker.services.aws import AwsClients, translate_errors


class CapacityService:
    """Can this account run N more vCPUs of a family here, and how likely is spot capacity?"""

    def __init__(self, clients: AwsClients, catalog: Catalog) -> None:
        self._clients = clients
        self._catalog = catalog
        self.notes: list[str] = []

    def quota_value(self, region: str, code: str) -> float | None:
        """The applied quota value (the AWS default where none is applied), or None when it cannot be read."""
        try:
            return self._read(region, code, "GetServiceQuota")
        except AwsError as exc:
            if exc.code not in {"NoSuchResourceException", "ResourceNotFoundException"}:
                self.notes.append(f"{region}: quota {code} unreadable ({exc.message})")
                return None
        try:
            return self._read(region, code, "GetAWSDefaultServiceQuota")
        except AwsError as exc:
            self.notes.append(f"{region}: quota {code} unreadable ({exc.message})")
            return None

    def _read(self, region: str, code: str, operation: str) -> float:
        client = self._clients.client("service-quotas", region)
        method = getattr(
            client, "get_service_quota" if operation == "GetServiceQuota" else "get_aws_default_service_quota"
        )
        with translate_errors(f"service-quotas:{operation}"):
            return float(method(ServiceCode="ec2", QuotaCode=code)["Quota"]["Value"])

    def used_vcpus(self, region: str) -> dict[tuple[str, MarketKind], float]:
        """(quota group, market) -> vCPUs of pending/running instances in `region`."""
        client = self._clients.client("ec2", region)
        used: dict[tuple[str, MarketKind], float] = {}
        with translate_errors("ec2:DescribeInstances"):
            pages = client.get_paginator("describe_instances").paginate(
                Filters=[{"Name": "instance-state-name", "Values": ["pending", "running"]}]
            )
            for page in pages:
                for reservation in page["Reservations"]:
                    for instance in reservation["Instances"]:
                        market: MarketKind = "spot" if instance.get("InstanceLifecycle") == "spot" else "on-demand"
                        key = (quota_group(instance["InstanceType"]), market)
                        used[key] = used.get(key, 0.0) + self._vcpus_of(instance)
        return used

    def _vcpus_of(self, instance: dict[str, object]) -> float:
        options = instance.get("CpuOptions")
        if isinstance(options, dict) and options.get("CoreCount"):
            return float(options["CoreCount"]) * float(options.get("ThreadsPerCore", 1))
        spec = self._catalog.spec(str(instance["InstanceType"]))
        return float(spec.vcpus) if spec else 0.0

    def placement_scores(self, instance_type: str, regions: Iterable[str]) -> dict[tuple[str, str], int]:
        """(region, AZ ID) -> spot placement score 1-10 for one instance; empty when unavailable."""
        client = self._clients.client("ec2", self._clients.default_region)
        scores: dict[tuple[str, str], int] = {}
        try:
            with translate_errors("ec2:GetSpotPlacementScores"):
                pages = client.get_paginator("get_spot_placement_scores").paginate(
                    InstanceTypes=[instance_type],
                    TargetCapacity=1,
                    SingleAvailabilityZone=True,
                    RegionNames=sorted(set(regions)),
                )
                for page in pages:
                    for item in page["SpotPlacementScores"]:
                        scores[(item["Region"], item.get("AvailabilityZoneId", ""))] = int(item["Score"])
        except AwsError as exc:
            self.notes.append(f"spot placement scores unavailable ({exc.message})")
        return scores
