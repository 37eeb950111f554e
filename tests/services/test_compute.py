"""ComputeService against moto: the launch template holds the spec's parameters; fleets and discovery by tag."""

from __future__ import annotations

import base64

from geusemaker.models.tags import stack_tags
from geusemaker.services.compute import ComputeService, LaunchSpec
from geusemaker.services.network import NetworkService
from tests.awsfakes import inprocess_aws

REGION = "us-east-1"


def test_launch_template_fleet_and_discovery() -> None:
    with inprocess_aws(REGION) as clients:
        tags = stack_tags({}, "s1")
        network = NetworkService(clients, REGION, lambda _: None)
        vpc = network.create_vpc("comp", tags, "10.7.0.0/16")
        subnet = network.create_subnet("comp", vpc, "us-east-1a", "10.7.1.0/24", tags)
        group = network.create_security_group("gm-comp", "d", vpc, "comp", tags)
        ec2 = clients.client("ec2", REGION)
        image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        compute = ComputeService(clients, REGION)
        spec = LaunchSpec("comp", "gm-comp-template", image, group, "arn:aws:iam::123456789012:instance-profile/p",
                          b"#!/bin/bash\n", 60, None, "on-demand", tags, metadata_hop_limit=1)  # fmt: skip
        template = compute.create_launch_template(spec)
        data = ec2.describe_launch_template_versions(LaunchTemplateId=template)["LaunchTemplateVersions"][0][
            "LaunchTemplateData"
        ]
        assert data["ImageId"] == image and data["MetadataOptions"]["HttpPutResponseHopLimit"] == 1
        assert [m["Ebs"]["VolumeSize"] for m in data["BlockDeviceMappings"]] == [60], "no data disk in the template"
        assert base64.b64decode(data["UserData"]) == b"#!/bin/bash\n"
        launched = compute.create_fleet("comp", template, [("g4dn.xlarge", subnet)], "on-demand", "token-1", tags)
        assert launched.instance_type == "g4dn.xlarge" and launched.subnet_id == subnet
        assert compute.find_instances("comp", "s1") == [launched.instance_id]
        assert compute.find_fleets("comp", "s1") == [launched.fleet_id]
        assert compute.find_tagged(
            "describe_launch_templates", "LaunchTemplates", "LaunchTemplateId", "comp", "s1"
        ) == [template]
        assert compute.find_instances("comp", "other") == []
        compute.terminate(launched.instance_id, delay_s=1)
        assert compute.find_instances("comp") == []
