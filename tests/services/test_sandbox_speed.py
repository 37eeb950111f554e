"""The sandbox's fast tag read answers exactly what moto's own describe_tags answers."""

from __future__ import annotations

import boto3
from moto import mock_aws

from geusemaker.sandbox import speed_patches


def test_a_resource_reads_the_same_tags_as_describe_tags_says() -> None:
    speed_patches.install()
    speed_patches.install()  # idempotent
    with mock_aws():
        ec2 = boto3.client("ec2", region_name="us-east-1")
        volume = ec2.create_volume(AvailabilityZone="us-east-1a", Size=1)["VolumeId"]
        other = ec2.create_volume(AvailabilityZone="us-east-1a", Size=1)["VolumeId"]
        ec2.create_tags(Resources=[volume], Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
        ec2.create_tags(Resources=[other], Tags=[{"Key": "a", "Value": "9"}])
        from moto.ec2.models import ec2_backends

        backend = ec2_backends["123456789012"]["us-east-1"]
        resource = backend.volumes[volume]
        assert resource.get_tags() == backend.describe_tags(filters={"resource-id": [volume]})
        assert backend.volumes[other].get_tags() == backend.describe_tags(filters={"resource-id": [other]})
        found = ec2.describe_volumes(Filters=[{"Name": "tag:a", "Values": ["1"]}])["Volumes"]
        assert [v["VolumeId"] for v in found] == [volume]
        untagged = ec2.create_volume(AvailabilityZone="us-east-1a", Size=1)["VolumeId"]
        assert backend.volumes[untagged].get_tags() == []
