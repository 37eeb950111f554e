"""The ordered steps of a deploy, with their dependencies (what the executor runs, concurrently where it can)."""

from __future__ import annotations

from geusemaker.models.access import exposed_services
from geusemaker.models.config import DeploymentConfig
from geusemaker.models.plan import Step


def plan_steps(config: DeploymentConfig) -> tuple[Step, ...]:
    """Steps in a valid order; independent ones (IAM, security group, file system) can run side by side."""
    steps: list[Step] = []
    own_network = config.network.vpc_id is None
    if own_network:
        steps += [
            Step("vpc", "create VPC 10.42.0.0/16", "vpc"),
            Step("subnet", "create public subnet in the chosen AZ", "subnet", ("vpc",)),
            Step("internet-gateway", "create and attach internet gateway", "internet-gateway", ("vpc",)),
            Step("route-table", "create route table with a default route", "route-table",
                 ("vpc", "internet-gateway", "subnet")),
        ]  # fmt: skip
    network = ("vpc",) if own_network else ()
    exposed = exposed_services(config)
    ports = (
        f"inbound to {', '.join(exposed)} from {', '.join(config.access.allowed_cidrs)}"
        if exposed
        else "no inbound rules (SSM only)"
    )
    where = "" if own_network else f" in existing VPC {config.network.vpc_id} (left unchanged)"
    steps += [
        Step("security-group", f"create security group{where}: {ports}", "security-group", network),
        Step("iam-role", "create IAM role (SSM agent + this deployment's parameters)", "iam-role"),
        Step("instance-profile", "create instance profile for the role", "instance-profile", ("iam-role",)),
        Step("secrets", "store generated secrets as SSM SecureString parameters", "ssm-parameter"),
    ]  # fmt: skip
    launch_deps = ["security-group", "instance-profile", "secrets"]
    if config.storage.data == "efs":
        steps += [
            Step("file-system", "create encrypted EFS file system", "efs"),
            Step("mount-target", "create EFS mount target in the subnet", "mount-target",
                 ("file-system", "security-group", *(("subnet",) if own_network else ()))),
        ]  # fmt: skip
        launch_deps.append("file-system")
    volumes = "encrypted gp3 root" + (
        f" + {config.storage.data_volume_gb} GiB data" if config.storage.data == "ebs" else ""
    )
    steps.append(
        Step("launch-template", f"create launch template (IMDSv2, {volumes}, UserData)", "launch-template",
             tuple(launch_deps))
    )  # fmt: skip
    instance_deps = ["launch-template", *(("route-table",) if own_network else ())]
    steps.append(Step("instance", "launch instance with CreateFleet (instant)", "instance", tuple(instance_deps)))
    return tuple(steps)
