"""SnapshotService and the volume copy against moto: a move's snapshot is tagged at creation and found by stack."""

from __future__ import annotations

from geusemaker.models.tags import stack_tags
from geusemaker.services.snapshots import SnapshotService
from geusemaker.services.volumes import VolumeService
from tests.awsfakes import inprocess_aws

REGION = "us-east-1"


def test_a_snapshot_is_tagged_found_by_stack_copied_to_another_zone_and_deleted() -> None:
    with inprocess_aws(REGION) as clients:
        volumes = VolumeService(clients, REGION, delay_s=1)
        source = volumes.create("disk", "us-east-1a", 40, "gp3", stack_tags({"team": "x"}, "s1"), "token-1")
        snapshots = SnapshotService(clients, REGION, delay_s=1)
        snapshot = snapshots.create("disk", source, stack_tags({"team": "x"}, "s1"), "moving")
        snapshots.wait_completed(snapshot)
        assert snapshots.find("disk", "s1") == [snapshot]
        assert snapshots.find("disk", "other-stack") == [] and snapshots.find("other") == []

        described = volumes.describe(source)
        tags = [t for t in described["Tags"] if not t["Key"].startswith("aws:")]
        copy = volumes.create_from_snapshot(described, "us-east-1b", snapshot, tags, "token-2")
        volumes.wait_available(copy)
        moved = volumes.describe(copy)
        assert (moved["AvailabilityZone"], moved["Size"], moved["VolumeType"]) == ("us-east-1b", 40, "gp3")
        assert moved["Encrypted"] and moved["SnapshotId"] == snapshot
        assert {t["Key"]: t["Value"] for t in moved["Tags"]} == {t["Key"]: t["Value"] for t in tags}
        assert sorted(volumes.find("disk", "s1")) == sorted([source, copy]), "the boot finds it by the same tags"

        snapshots.delete(snapshot)
        assert snapshots.find("disk") == []
        snapshots.delete(snapshot)  # already gone counts as deleted
