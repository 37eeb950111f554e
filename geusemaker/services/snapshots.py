"""EBS snapshots of the stack's data volume: made when the user moves the data to another zone."""

from __future__ import annotations

from geusemaker.models.tags import TAG_DEPLOYMENT, TAG_KIND, owned, tag_list
from geusemaker.services.aws import AwsClients, ignore_missing, translate_errors

SNAPSHOT_KIND = "snapshot"
#: a first snapshot copies every written block: allow it up to two hours
SNAPSHOT_WAIT_S = 7200


class SnapshotService:
    """Creates (tagged at creation), waits for, finds and deletes one region's snapshots of data volumes."""

    def __init__(self, clients: AwsClients, region: str, delay_s: int = 15) -> None:
        self._ec2 = clients.client("ec2", region)
        self._delay_s = delay_s

    def create(self, deployment: str, volume_id: str, user_tags: dict[str, str], description: str) -> str:
        """Start a snapshot of `volume_id`; returns its id (it completes later: `wait_completed`)."""
        with translate_errors("ec2:CreateSnapshot"):
            snapshot = self._ec2.create_snapshot(
                VolumeId=volume_id,
                Description=description,
                TagSpecifications=[
                    {"ResourceType": "snapshot", "Tags": tag_list(deployment, SNAPSHOT_KIND, user_tags)}
                ],
            )
        return str(snapshot["SnapshotId"])

    def wait_completed(self, snapshot_id: str) -> None:
        attempts = max(1, SNAPSHOT_WAIT_S // max(1, self._delay_s))
        with translate_errors("ec2:waiter snapshot_completed"):
            self._ec2.get_waiter("snapshot_completed").wait(
                SnapshotIds=[snapshot_id], WaiterConfig={"Delay": self._delay_s, "MaxAttempts": attempts}
            )

    def delete(self, snapshot_id: str) -> None:
        """Delete; a snapshot already gone counts as deleted."""
        ignore_missing("ec2:DeleteSnapshot", lambda: self._ec2.delete_snapshot(SnapshotId=snapshot_id))

    def find(self, deployment: str, stack_id: str | None = None) -> list[str]:
        """This account's snapshots tagged with `deployment` (and `stack_id`, when given)."""
        filters = [
            {"Name": f"tag:{TAG_DEPLOYMENT}", "Values": [deployment]},
            {"Name": f"tag:{TAG_KIND}", "Values": [SNAPSHOT_KIND]},
        ]
        with translate_errors("ec2:DescribeSnapshots"):
            pages = self._ec2.get_paginator("describe_snapshots").paginate(OwnerIds=["self"], Filters=filters)
            return [
                str(s["SnapshotId"])
                for page in pages
                for s in page["Snapshots"]
                if owned(s.get("Tags"), deployment, stack_id) and s.get("State") != "error"
            ]
