"""FileSystemService against moto: the spec's modes, tags, mount targets, discovery by stack id, deletion."""

from __future__ import annotations

from geusemaker.models.tags import stack_tags
from geusemaker.services.network import NetworkService
from geusemaker.services.storage import FileSystemService
from tests.awsfakes import inprocess_aws

REGION = "us-east-1"


def test_a_file_system_with_its_mount_target_is_created_found_and_deleted_with_it() -> None:
    with inprocess_aws(REGION) as clients:
        tags = stack_tags({}, "s1")
        files = FileSystemService(clients, REGION, lambda _: None)
        fs, arn = files.create_file_system("files", "token-1", tags, "generalPurpose", "bursting")
        files.wait_available(fs)
        [described] = clients.client("efs", REGION).describe_file_systems(FileSystemId=fs)["FileSystems"]
        assert (described["ThroughputMode"], described["Encrypted"], arn) == (
            "bursting",
            True,
            described["FileSystemArn"],
        )
        network = NetworkService(clients, REGION, lambda _: None)
        vpc = network.create_vpc("files", tags, "10.8.0.0/16")
        subnet = network.create_subnet("files", vpc, "us-east-1a", "10.8.1.0/24", tags)
        group = network.create_security_group("gm-files", "d", vpc, "files", tags)
        target = files.create_mount_target(fs, subnet, group)
        assert files.mount_targets(fs) == [target]
        assert files.find("files", "s1") == [fs] and files.find("files", "s2") == []
        files.delete_file_system(fs)  # its mount targets first
        assert files.find("files") == []
        files.delete_file_system(fs)  # already gone counts as deleted
