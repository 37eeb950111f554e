"""EBS volumes: the stack's persistent data volume, created in the instance's zone and attached to it."""

from __future__ import annotations

from functools import partial
from typing import Any

from geusemaker.errors import NotFoundError
from geusemaker.models.tags import TAG_DEPLOYMENT, TAG_KIND, owned, tag_list
from geusemaker.services.aws import AwsClients, ignore_missing, translate_errors


class VolumeService:
    """Creates, attaches, finds and deletes one region's data volumes (tagged at creation)."""

    def __init__(self, clients: AwsClients, region: str, delay_s: int = 5) -> None:
        self._ec2 = clients.client("ec2", region)
        self._delay_s = delay_s

    def create(
        self, deployment: str, zone: str, size_gb: int, volume_type: str, user_tags: dict[str, str], token: str
    ) -> str:
        """An encrypted volume in `zone`, available when this returns."""
        with translate_errors("ec2:CreateVolume"):
            volume = self._ec2.create_volume(
                AvailabilityZone=zone,
                Size=size_gb,
                VolumeType=volume_type,
                Encrypted=True,
                ClientToken=token,
                TagSpecifications=[{"ResourceType": "volume", "Tags": tag_list(deployment, "data-volume", user_tags)}],
            )
        volume_id = str(volume["VolumeId"])
        self._wait("volume_available", volume_id)
        return volume_id

    def describe(self, volume_id: str) -> dict[str, Any]:
        """The volume as EC2 describes it (zone, size, type, iops, throughput, state, attachments, tags)."""
        with translate_errors("ec2:DescribeVolumes"):
            return dict(self._ec2.describe_volumes(VolumeIds=[volume_id])["Volumes"][0])

    def create_from_snapshot(
        self, source: dict[str, Any], zone: str, snapshot_id: str, tags: list[dict[str, str]], token: str
    ) -> str:
        """A copy of `source` (a described volume) in `zone` from its snapshot: same size, type, performance
        and tags, encrypted; recorded by the caller through `on_created` before it is available."""
        options: dict[str, Any] = {"Iops": source["Iops"]} if source.get("Iops") else {}
        if source.get("Throughput"):
            options["Throughput"] = source["Throughput"]
        if source.get("KmsKeyId"):
            options["KmsKeyId"] = source["KmsKeyId"]
        with translate_errors("ec2:CreateVolume"):
            volume = self._ec2.create_volume(
                AvailabilityZone=zone,
                SnapshotId=snapshot_id,
                Size=source["Size"],
                VolumeType=source.get("VolumeType", "gp3"),
                Encrypted=True,
                ClientToken=token,
                TagSpecifications=[{"ResourceType": "volume", "Tags": tags}],
                **options,
            )
        return str(volume["VolumeId"])

    def wait_available(self, volume_id: str) -> None:
        self._wait("volume_available", volume_id)

    def attach(self, volume_id: str, instance_id: str, device: str) -> None:
        with translate_errors("ec2:AttachVolume"):
            self._ec2.attach_volume(VolumeId=volume_id, InstanceId=instance_id, Device=device)

    def delete(self, volume_id: str) -> None:
        """Detach (the instance is gone or going) and delete; a volume already gone counts as deleted."""
        try:
            with translate_errors("ec2:DescribeVolumes"):
                volumes = self._ec2.describe_volumes(VolumeIds=[volume_id])["Volumes"]
        except NotFoundError:
            return
        for attachment in volumes[0].get("Attachments", []) if volumes else []:
            instance = attachment["InstanceId"]
            detach = partial(self._ec2.detach_volume, VolumeId=volume_id, InstanceId=instance, Force=True)
            ignore_missing("ec2:DetachVolume", detach)
            self._wait("volume_available", volume_id)
        ignore_missing("ec2:DeleteVolume", lambda: self._ec2.delete_volume(VolumeId=volume_id))

    def find(self, deployment: str, stack_id: str | None = None) -> list[str]:
        """Data volumes tagged with `deployment` (and `stack_id`, when given)."""
        filters = [
            {"Name": f"tag:{TAG_DEPLOYMENT}", "Values": [deployment]},
            {"Name": f"tag:{TAG_KIND}", "Values": ["data-volume"]},
        ]
        with translate_errors("ec2:DescribeVolumes"):
            pages = self._ec2.get_paginator("describe_volumes").paginate(Filters=filters)
            return [
                str(v["VolumeId"])
                for page in pages
                for v in page["Volumes"]
                if owned(v.get("Tags"), deployment, stack_id) and v.get("State") != "deleting"
            ]

    def _wait(self, waiter: str, volume_id: str) -> None:
        try:
            with translate_errors(f"ec2:waiter {waiter}"):
                self._ec2.get_waiter(waiter).wait(
                    VolumeIds=[volume_id], WaiterConfig={"Delay": self._delay_s, "MaxAttempts": 60}
                )
        except NotFoundError:
            return
