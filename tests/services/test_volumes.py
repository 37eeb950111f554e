"""VolumeService against moto: the stack's data volume is encrypted gp3 in the given zone, found by its stack id."""

from __future__ import annotations

from geusemaker.models.tags import stack_tags
from geusemaker.services.volumes import VolumeService
from tests.awsfakes import inprocess_aws

REGION = "us-east-1"


def test_a_data_volume_is_created_attached_found_by_stack_and_deleted() -> None:
    with inprocess_aws(REGION) as clients:
        ec2 = clients.client("ec2", REGION)
        image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        instance = ec2.run_instances(
            ImageId=image, MinCount=1, MaxCount=1, Placement={"AvailabilityZone": "us-east-1c"},
            TagSpecifications=[{"ResourceType": "volume", "Tags": [
                {"Key": "geusemaker:deployment", "Value": "disk"}, {"Key": "geusemaker:kind", "Value": "volume"}]}],
        )["Instances"][0]["InstanceId"]  # fmt: skip
        volumes = VolumeService(clients, REGION, delay_s=1)
        volume = volumes.create("disk", "us-east-1c", 40, "gp3", stack_tags({}, "s1"), "token-1")
        [described] = ec2.describe_volumes(VolumeIds=[volume])["Volumes"]
        assert (described["Size"], described["VolumeType"], described["Encrypted"]) == (40, "gp3", True)
        assert described["AvailabilityZone"] == "us-east-1c"
        volumes.attach(volume, instance, "/dev/sdf")
        assert volumes.find("disk", "s1") == [volume], "the instance's root volume is not the data volume"
        assert volumes.find("disk", "other-stack") == []
        volumes.delete(volume)
        assert volumes.find("disk") == []
        volumes.delete(volume)  # already gone counts as deleted
