"""The deployment's encrypted EFS file system and its mount targets."""

from __future__ import annotations

import time
from collections.abc import Callable

from geusemaker.errors import AwsError, NotFoundError
from geusemaker.models.tags import owned, tag_list
from geusemaker.services.aws import AwsClients, ignore_missing, retry_codes, translate_errors

_IN_USE = frozenset({"FileSystemInUse", "DependencyTimeout"})


class FileSystemService:
    """EFS has no botocore waiters, so state changes are polled with backoff and a deadline."""

    def __init__(
        self,
        clients: AwsClients,
        region: str,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        timeout_s: float = 600,
    ) -> None:
        self._efs = clients.client("efs", region)
        self._sleep = sleep
        self._clock = clock
        self._timeout_s = timeout_s

    def create_file_system(
        self,
        deployment: str,
        creation_token: str,
        user_tags: dict[str, str],
        performance_mode: str = "generalPurpose",
        throughput_mode: str = "elastic",
    ) -> tuple[str, str]:
        """(id, ARN) of an encrypted file system; the creation token makes a retried call idempotent."""
        with translate_errors("efs:CreateFileSystem"):
            fs = self._efs.create_file_system(
                CreationToken=creation_token,
                PerformanceMode=performance_mode,
                ThroughputMode=throughput_mode,
                Encrypted=True,
                Tags=tag_list(deployment, "file-system", user_tags),
            )
        return str(fs["FileSystemId"]), str(fs.get("FileSystemArn", ""))

    def arn(self, file_system_id: str) -> str:
        """The ARN of an existing file system (a kept one, reused by a redeploy)."""
        with translate_errors("efs:DescribeFileSystems"):
            systems = self._efs.describe_file_systems(FileSystemId=file_system_id)["FileSystems"]
        if not systems:
            raise NotFoundError(f"file system {file_system_id} no longer exists")
        return str(systems[0].get("FileSystemArn", ""))

    def wait_available(self, file_system_id: str) -> None:
        self._poll(lambda: self._fs_state(file_system_id) == "available", f"file system {file_system_id}")

    def create_mount_target(self, file_system_id: str, subnet_id: str, security_group_id: str) -> str:
        with translate_errors("efs:CreateMountTarget"):
            target = self._efs.create_mount_target(
                FileSystemId=file_system_id, SubnetId=subnet_id, SecurityGroups=[security_group_id]
            )
        return str(target["MountTargetId"])

    def mount_targets(self, file_system_id: str) -> list[str]:
        try:
            with translate_errors("efs:DescribeMountTargets"):
                targets = self._efs.describe_mount_targets(FileSystemId=file_system_id)["MountTargets"]
        except NotFoundError:
            return []
        return [str(t["MountTargetId"]) for t in targets]

    def delete_mount_target(self, mount_target_id: str) -> None:
        if not ignore_missing(
            "efs:DeleteMountTarget", lambda: self._efs.delete_mount_target(MountTargetId=mount_target_id)
        ):
            return
        self._poll(lambda: not self._mount_target_exists(mount_target_id), f"mount target {mount_target_id} deletion")

    def delete_file_system(self, file_system_id: str) -> None:
        for target in self.mount_targets(file_system_id):
            self.delete_mount_target(target)

        def attempt() -> None:
            with translate_errors("efs:DeleteFileSystem"):
                self._efs.delete_file_system(FileSystemId=file_system_id)

        try:
            retry_codes(attempt, _IN_USE, sleep=self._sleep)
        except NotFoundError:
            return

    def find(self, deployment: str, stack_id: str | None = None) -> list[str]:
        """File systems tagged with `deployment` (and `stack_id`, when given)."""
        found = []
        with translate_errors("efs:DescribeFileSystems"):
            for page in self._efs.get_paginator("describe_file_systems").paginate():
                for fs in page["FileSystems"]:
                    if owned(fs.get("Tags"), deployment, stack_id):
                        found.append(str(fs["FileSystemId"]))
        return found

    def _fs_state(self, file_system_id: str) -> str:
        with translate_errors("efs:DescribeFileSystems"):
            systems = self._efs.describe_file_systems(FileSystemId=file_system_id)["FileSystems"]
        return str(systems[0]["LifeCycleState"]) if systems else "deleted"

    def _mount_target_exists(self, mount_target_id: str) -> bool:
        try:
            with translate_errors("efs:DescribeMountTargets"):
                targets = self._efs.describe_mount_targets(MountTargetId=mount_target_id)["MountTargets"]
        except NotFoundError:
            return False
        return bool(targets) and targets[0].get("LifeCycleState") != "deleted"

    def _poll(self, done: Callable[[], bool], what: str) -> None:
        deadline = self._clock() + self._timeout_s
        delay = 1.0
        while not done():
            if self._clock() > deadline:
                raise AwsError(f"timed out waiting for {what}")
            self._sleep(delay)
            delay = min(delay * 1.5, 15.0)
