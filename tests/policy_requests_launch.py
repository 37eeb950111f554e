"""The authorization requests of a launch from the stack's template, whoever asks for it.

EC2 Fleet (`CreateFleet`) and an Auto Scaling group created or updated with a template both need the
caller's own `ec2:RunInstances` on everything the launch touches (template, subnet, security groups,
image, the new instance, volumes and interface with the template's tags), `ec2:CreateTags` inside
`RunInstances` for those tags, and `iam:PassRole` of the template's instance role.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from tests.iamsim import Request

ACCOUNT = "123456789012"


def launch_requests(world: Any, template_id: str, subnets: Iterable[str], *, spot: bool) -> Iterator[Request]:
    """What AWS checks of the caller for a launch from `template_id` into `subnets`."""
    region = world.region
    data = world.template[template_id]
    yield world.existing("ec2:RunInstances", template_id)
    launched_tags = {
        spec["ResourceType"]: {f"aws:RequestTag/{t['Key']}": t["Value"] for t in spec["Tags"]}
        for spec in data.get("TagSpecifications", [])
    }
    for kind in ("instance", "volume", "network-interface"):
        yield Request("ec2:RunInstances", f"arn:aws:ec2:{region}:{ACCOUNT}:{kind}/*", launched_tags.get(kind, {}))
        if kind in launched_tags:
            create = {"ec2:CreateAction": "RunInstances"}
            yield Request("ec2:CreateTags", f"arn:aws:ec2:{region}:{ACCOUNT}:{kind}/*", create)
    if spot:
        yield Request("ec2:RunInstances", f"arn:aws:ec2:{region}:{ACCOUNT}:spot-instances-request/*")
    for resource_id in sorted(set(subnets)) + list(data["SecurityGroupIds"]):
        yield world.existing("ec2:RunInstances", resource_id)
    image = data["ImageId"]
    yield Request("ec2:RunInstances", f"arn:aws:ec2:{region}::image/{image}", {"ec2:Owner": world.image_owner[image]})
    role = data["IamInstanceProfile"]["Arn"].replace(":instance-profile/", ":role/")
    yield Request("iam:PassRole", role, {"iam:PassedToService": "ec2.amazonaws.com"})
