"""Launch templates, instant fleets and instances: how the GPU instance is started and stopped."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from geusemaker.errors import AwsError, CapacityError, NotFoundError, PreconditionError
from geusemaker.models.market import MarketKind
from geusemaker.models.tags import TAG_DEPLOYMENT, owned, tag_list
from geusemaker.services.aws import CAPACITY_CODES, QUOTA_CODES, AwsClients, ignore_missing, translate_errors

ROOT_DEVICE = "/dev/sda1"  # every image GeuseMaker boots is Ubuntu-based
DATA_DEVICE = "/dev/sdf"
TAGGED_AT_LAUNCH = ("instance", "volume", "network-interface")
#: An instant fleet whose instance is already terminated has nothing left to delete.
_FLEET_GONE_CODES = frozenset({"fleetIdDoesNotExist", "fleetNotInDeletableState", "InvalidParameterCombination"})


@dataclass(frozen=True)
class LaunchSpec:
    """What the launch template holds."""

    deployment: str
    template_name: str
    image_id: str
    security_group_id: str
    instance_profile_arn: str
    user_data: bytes
    root_gb: int
    data_gb: int | None
    market: MarketKind
    user_tags: dict[str, str]
    metadata_hop_limit: int = 1


@dataclass(frozen=True)
class FleetResult:
    fleet_id: str
    instance_id: str
    instance_type: str
    subnet_id: str


class ComputeService:
    """EC2 launches for one region."""

    def __init__(self, clients: AwsClients, region: str) -> None:
        self._ec2 = clients.client("ec2", region)
        self.region = region

    def create_launch_template(self, spec: LaunchSpec) -> str:
        volumes: list[dict[str, Any]] = [_volume(ROOT_DEVICE, spec.root_gb)]
        if spec.data_gb:
            volumes.append(_volume(DATA_DEVICE, spec.data_gb))
        data: dict[str, Any] = {
            "ImageId": spec.image_id,
            "IamInstanceProfile": {"Arn": spec.instance_profile_arn},
            "SecurityGroupIds": [spec.security_group_id],
            "BlockDeviceMappings": volumes,
            # Hop limit 1: IMDS answers the host only; no container (all on Docker bridges) needs the role.
            "MetadataOptions": {
                "HttpTokens": "required",
                "HttpPutResponseHopLimit": spec.metadata_hop_limit,
                "HttpEndpoint": "enabled",
            },
            "UserData": base64.b64encode(spec.user_data).decode(),
            # Always terminate: the stack's Auto Scaling group would replace a stopped instance forever; the
            # data lives on its own volume (or EFS), never on the instance's disks.
            "InstanceInitiatedShutdownBehavior": "terminate",
            "TagSpecifications": [
                {"ResourceType": kind, "Tags": tag_list(spec.deployment, kind, spec.user_tags)}
                for kind in TAGGED_AT_LAUNCH
            ],
        }
        with translate_errors("ec2:CreateLaunchTemplate"):
            template = self._ec2.create_launch_template(
                LaunchTemplateName=spec.template_name,
                LaunchTemplateData=data,
                TagSpecifications=[
                    {
                        "ResourceType": "launch-template",
                        "Tags": tag_list(spec.deployment, "launch-template", spec.user_tags),
                    }
                ],
            )
        return str(template["LaunchTemplate"]["LaunchTemplateId"])

    def create_fleet(
        self,
        deployment: str,
        template_id: str,
        overrides: Sequence[tuple[str, str]],
        market: MarketKind,
        client_token: str,
        user_tags: dict[str, str],
    ) -> FleetResult:
        """One instance from an instant fleet over (instance type, subnet) overrides; raises on no capacity."""
        request: dict[str, Any] = {
            "Type": "instant",
            "ClientToken": client_token,
            "LaunchTemplateConfigs": [
                {
                    "LaunchTemplateSpecification": {"LaunchTemplateId": template_id, "Version": "$Latest"},
                    "Overrides": [
                        {"InstanceType": itype, "SubnetId": subnet, "Priority": float(rank)}
                        for rank, (itype, subnet) in enumerate(overrides)
                    ],
                }
            ],
            "TargetCapacitySpecification": {"TotalTargetCapacity": 1, "DefaultTargetCapacityType": market},
            "TagSpecifications": [{"ResourceType": "fleet", "Tags": tag_list(deployment, "fleet", user_tags)}],
        }
        if market == "spot":
            request["SpotOptions"] = {"AllocationStrategy": "price-capacity-optimized"}
        else:
            request["OnDemandOptions"] = {"AllocationStrategy": "prioritized"}
        with translate_errors("ec2:CreateFleet"):
            answer = self._ec2.create_fleet(**request)
        fleet_id = str(answer.get("FleetId", ""))
        for group in answer.get("Instances", []):
            for instance_id in group.get("InstanceIds", []):
                overrides_used = group.get("LaunchTemplateAndOverrides", {}).get("Overrides", {})
                return FleetResult(
                    fleet_id, str(instance_id), str(group.get("InstanceType", overrides[0][0])),
                    str(overrides_used.get("SubnetId", overrides[0][1])),
                )  # fmt: skip
        raise _fleet_error(fleet_id, answer.get("Errors", []))

    def wait_running(self, instance_id: str, delay_s: int = 5, attempts: int = 60) -> dict[str, Any]:
        with translate_errors("ec2:waiter instance_running"):
            self._ec2.get_waiter("instance_running").wait(
                InstanceIds=[instance_id], WaiterConfig={"Delay": delay_s, "MaxAttempts": attempts}
            )
        return self.describe_instance(instance_id) or {}

    def describe_instance(self, instance_id: str) -> dict[str, Any] | None:
        try:
            with translate_errors("ec2:DescribeInstances"):
                reservations = self._ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
        except NotFoundError:
            return None
        instances = [i for r in reservations for i in r["Instances"]]
        return instances[0] if instances else None

    def terminate(self, instance_id: str, delay_s: int = 5, attempts: int = 120) -> None:
        if not ignore_missing(
            "ec2:TerminateInstances", lambda: self._ec2.terminate_instances(InstanceIds=[instance_id])
        ):
            return
        try:
            with translate_errors("ec2:waiter instance_terminated"):
                self._ec2.get_waiter("instance_terminated").wait(
                    InstanceIds=[instance_id], WaiterConfig={"Delay": delay_s, "MaxAttempts": attempts}
                )
        except NotFoundError:
            return

    def delete_fleet(self, fleet_id: str) -> None:
        """Delete an instant fleet (terminating anything left in it); an empty or unknown fleet counts as gone."""
        try:
            with translate_errors("ec2:DeleteFleets"):
                answer = self._ec2.delete_fleets(FleetIds=[fleet_id], TerminateInstances=True)
        except AwsError as exc:
            if isinstance(exc, NotFoundError) or exc.code in _FLEET_GONE_CODES:
                return
            raise
        for failure in answer.get("UnsuccessfulFleetDeletions", []):
            code = failure.get("Error", {}).get("Code", "")
            if code not in _FLEET_GONE_CODES:
                raise AwsError(f"ec2:DeleteFleets {fleet_id}: {code}", code=code, operation="ec2:DeleteFleets")

    def delete_launch_template(self, template_id: str) -> None:
        ignore_missing(
            "ec2:DeleteLaunchTemplate", lambda: self._ec2.delete_launch_template(LaunchTemplateId=template_id)
        )

    def find_instances(self, deployment: str, stack_id: str | None = None) -> list[str]:
        """Live (not terminated) instances of `deployment` (and `stack_id`, when given)."""
        tag = {"Name": f"tag:{TAG_DEPLOYMENT}", "Values": [deployment]}
        live = {"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]}
        with translate_errors("ec2:DescribeInstances"):
            pages = self._ec2.get_paginator("describe_instances").paginate(Filters=[tag, live])
            instances = [i for page in pages for r in page["Reservations"] for i in r["Instances"]]
        return [str(i["InstanceId"]) for i in instances if owned(i.get("Tags"), deployment, stack_id)]

    def find_fleets(self, deployment: str, stack_id: str | None = None) -> list[str]:
        """Fleets of `deployment` that are not deleted yet (DescribeFleets has no tag filter)."""
        with translate_errors("ec2:DescribeFleets"):
            fleets = [
                fleet
                for page in self._ec2.get_paginator("describe_fleets").paginate()
                for fleet in page["Fleets"]
                if fleet.get("FleetState") not in {"deleted", "deleted_running", "deleted_terminating"}
            ]
        return [str(f["FleetId"]) for f in fleets if owned(f.get("Tags"), deployment, stack_id)]

    def find_tagged(
        self, describe: str, items_key: str, id_key: str, deployment: str, stack_id: str | None
    ) -> list[str]:
        """Ids from `describe` (e.g. describe_vpcs, "Vpcs", "VpcId") of what carries `deployment`'s tags."""
        tag = [{"Name": f"tag:{TAG_DEPLOYMENT}", "Values": [deployment]}]
        with translate_errors(f"ec2:{describe}"):
            items = getattr(self._ec2, describe)(Filters=tag)[items_key]
        return [str(item[id_key]) for item in items if owned(item.get("Tags"), deployment, stack_id)]


def _volume(device: str, size_gb: int) -> dict[str, Any]:
    return {
        "DeviceName": device,
        "Ebs": {"VolumeSize": size_gb, "VolumeType": "gp3", "Encrypted": True, "DeleteOnTermination": True},
    }


def _fleet_error(fleet_id: str, errors: list[dict[str, Any]]) -> Exception:
    codes = sorted({str(e.get("ErrorCode", "")) for e in errors}) or ["NoInstances"]
    details = sorted({f"{e.get('ErrorCode')}: {e.get('ErrorMessage')}" for e in errors})
    first = str(errors[0].get("ErrorMessage", "")) if errors else ""
    message = f"CreateFleet {fleet_id} launched nothing: {', '.join(codes)}" + (f" ({first})" if first else "")
    if any(code in QUOTA_CODES for code in codes):
        return PreconditionError(message, details=details)
    if not codes or all(code in CAPACITY_CODES or code == "NoInstances" for code in codes):
        return CapacityError(message, details=details)
    return AwsError(message, code=codes[0], operation="ec2:CreateFleet")
