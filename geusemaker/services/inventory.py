"""What GeuseMaker manages in an account, by deployment: for `list --discover`."""

from __future__ import annotations

from dataclasses import dataclass, field

from geusemaker.models.tags import TAG_DEPLOYMENT, TAG_MANAGED, as_dict
from geusemaker.services.aws import AwsClients, translate_errors
from geusemaker.services.tagging import tagged_resources

_LIVE_INSTANCE = ["pending", "running", "stopping", "stopped"]
_DEAD_FLEET = {"deleted", "deleted_running", "deleted_terminating"}


@dataclass(frozen=True)
class Managed:
    """One resource carrying GeuseMaker's tags."""

    deployment: str
    region: str
    arn: str
    tags: dict[str, str] = field(default_factory=dict, compare=False)


class InventoryService:
    """Finds every live resource tagged by GeuseMaker in one region (and, for IAM, the account)."""

    def __init__(self, clients: AwsClients, region: str) -> None:
        self._clients = clients
        self.region = region

    def regional(self) -> list[Managed]:
        """Tagged resources in the region; terminated instances and deleted fleets (which linger) left out."""
        found: list[Managed] = []
        for mapping in tagged_resources(self._clients, self.region, TAG_MANAGED, "true"):
            tags = as_dict(mapping.get("Tags"))
            if tags.get(TAG_DEPLOYMENT):
                found.append(Managed(tags[TAG_DEPLOYMENT], self.region, str(mapping["ResourceARN"]), tags))
        live = self._live_compute() if any(_compute_id(m.arn) for m in found) else set()
        return [m for m in found if not _compute_id(m.arn) or _compute_id(m.arn) in live]

    def _live_compute(self) -> set[str]:
        ec2 = self._clients.client("ec2", self.region)
        managed = {"Name": f"tag:{TAG_MANAGED}", "Values": ["true"]}
        with translate_errors("ec2:DescribeInstances"):
            pages = ec2.get_paginator("describe_instances").paginate(
                Filters=[managed, {"Name": "instance-state-name", "Values": _LIVE_INSTANCE}]
            )
            live = {i["InstanceId"] for page in pages for r in page["Reservations"] for i in r["Instances"]}
        with translate_errors("ec2:DescribeFleets"):
            for page in ec2.get_paginator("describe_fleets").paginate():
                live |= {f["FleetId"] for f in page["Fleets"] if f.get("FleetState") not in _DEAD_FLEET}
        return live

    def identities(self) -> list[Managed]:
        """IAM roles and instance profiles under GeuseMaker's path (IAM is global: region "global")."""
        from geusemaker.services.iam import IAM_PATH

        iam = self._clients.client("iam", "us-east-1")
        found: list[Managed] = []
        with translate_errors("iam:ListRoles"):
            for page in iam.get_paginator("list_roles").paginate(PathPrefix=IAM_PATH):
                for role in page["Roles"]:
                    tags = as_dict(iam.list_role_tags(RoleName=role["RoleName"])["Tags"])
                    if tags.get(TAG_DEPLOYMENT):
                        found.append(Managed(tags[TAG_DEPLOYMENT], "global", str(role["Arn"])))
        with translate_errors("iam:ListInstanceProfiles"):
            for page in iam.get_paginator("list_instance_profiles").paginate(PathPrefix=IAM_PATH):
                for profile in page["InstanceProfiles"]:
                    name = profile["InstanceProfileName"]
                    tags = as_dict(iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"].get("Tags"))
                    if tags.get(TAG_DEPLOYMENT):
                        found.append(Managed(tags[TAG_DEPLOYMENT], "global", str(profile["Arn"])))
        return found


def _compute_id(arn: str) -> str:
    """The id of an instance or fleet ARN ('' for anything else)."""
    resource = arn.split(":", 5)[-1]
    kind, _, rid = resource.partition("/")
    return rid if kind in {"instance", "fleet"} else ""
