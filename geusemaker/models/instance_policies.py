"""The instance role's inline policies: what the SSM agent and the boot scripts need, and nothing more.

The AWS managed policy AmazonSSMManagedInstanceCore is deliberately not used: it allows
`ssm:GetParameter*` on every parameter, so with `kms:Decrypt` via SSM an instance could read every
SecureString in the region. The boot reads only its own deployment's parameters
(`aws ssm get-parameters-by-path --with-decryption`), and the health checks and `connect` use Run
Command and Session Manager.
"""

from __future__ import annotations

from typing import Any

from geusemaker.models.services import parameter_path

SSM_AGENT_POLICY = "geusemaker-ssm-agent"
DEPLOYMENT_POLICY = "geusemaker-deployment"
#: The permissions boundary of every instance role: its path and name, in the operator's account.
BOUNDARY_PATH = "/geusemaker/"
BOUNDARY_NAME = "GeuseMakerInstanceBoundary"

#: The SSM agent's channels: Run Command (ec2messages; ssmmessages on recent agents) and sessions.
#: These actions have no resource-level permissions.
_AGENT_CHANNELS = [
    "ec2messages:AcknowledgeMessage",
    "ec2messages:DeleteMessage",
    "ec2messages:FailMessage",
    "ec2messages:GetEndpoint",
    "ec2messages:GetMessages",
    "ec2messages:SendReply",
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
]
#: Registration and the association poll of the agent, on the instance itself.
_AGENT_ON_INSTANCE = ["ssm:UpdateInstanceInformation", "ssm:ListInstanceAssociations"]


def boundary_arn(account: str) -> str:
    """The ARN of the instance roles' permissions boundary in `account`."""
    return f"arn:aws:iam::{account}:policy{BOUNDARY_PATH}{BOUNDARY_NAME}"


def _document(statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": statements}


def ssm_agent_policy(region: str, account: str) -> dict[str, Any]:
    """What the SSM agent needs to register and serve Run Command and port-forwarding sessions."""
    return _document(
        [
            {"Sid": "AgentChannels", "Effect": "Allow", "Action": list(_AGENT_CHANNELS), "Resource": "*"},
            {
                "Sid": "AgentRegistration",
                "Effect": "Allow",
                "Action": list(_AGENT_ON_INSTANCE),
                "Resource": f"arn:aws:ec2:{region}:{account}:instance/*",
            },
        ]
    )


#: The tag that names a stack's own resources; the instance may attach and detach only what carries its value.
_STACK_TAG = "geusemaker:stack-id"
_VOLUME_ATTACHMENT = ["ec2:AttachVolume", "ec2:DetachVolume"]


def _data_volume_statements(region: str, account: str, stack_id: str) -> list[dict[str, Any]]:
    """Find the stack's data volume (DescribeVolumes has no resource-level permissions), attach and detach it.

    AttachVolume and DetachVolume authorize both the volume and the instance: each must carry this stack's id.
    """
    return [
        {"Sid": "FindDataVolume", "Effect": "Allow", "Action": "ec2:DescribeVolumes", "Resource": "*"},
        {
            "Sid": "AttachOwnDataVolume",
            "Effect": "Allow",
            "Action": list(_VOLUME_ATTACHMENT),
            "Resource": [f"arn:aws:ec2:{region}:{account}:volume/*", f"arn:aws:ec2:{region}:{account}:instance/*"],
            "Condition": {"StringEquals": {f"aws:ResourceTag/{_STACK_TAG}": stack_id}},
        },
        *_ebs_key_statements(f"arn:aws:kms:{region}:{account}:key/*", "StringEquals", f"ec2.{region}.amazonaws.com"),
    ]


#: what attaching a volume encrypted with a customer managed key asks of the caller, through EC2 only
_EBS_KEY_USE = ["kms:Decrypt", "kms:DescribeKey"]


def _ebs_key_statements(keys: str, operator: str, via: str) -> list[dict[str, Any]]:
    """Use a customer managed EBS key and grant it to EC2 (AttachVolume), only through EC2 (`kms:ViaService`).

    With an AWS managed key (aws/ebs) these are not needed: its key policy covers EC2's use.
    """
    return [
        {
            "Sid": "UseVolumeKeysThroughEc2",
            "Effect": "Allow",
            "Action": list(_EBS_KEY_USE),
            "Resource": keys,
            "Condition": {operator: {"kms:ViaService": via}},
        },
        {
            "Sid": "GrantVolumeKeysToEc2",
            "Effect": "Allow",
            "Action": "kms:CreateGrant",
            "Resource": keys,
            "Condition": {operator: {"kms:ViaService": via}, "Bool": {"kms:GrantIsForAWSResource": "true"}},
        },
    ]


#: what the guard calls to scale the stack's group to zero (DescribeAutoScalingInstances has no resource-level scope)
_SCALE_TO_ZERO = "autoscaling:TerminateInstanceInAutoScalingGroup"
_FIND_GROUP = "autoscaling:DescribeAutoScalingInstances"


def _group_statements(region: str, account: str, deployment: str, stack_id: str) -> list[dict[str, Any]]:
    """The guard's scale to zero: only on the stack's own groups (by name and by the stack id tag)."""
    groups = f"arn:aws:autoscaling:{region}:{account}:autoScalingGroup:*:autoScalingGroupName/gm-{deployment}-*"
    return [
        {"Sid": "FindOwnGroup", "Effect": "Allow", "Action": _FIND_GROUP, "Resource": "*"},
        {
            "Sid": "ScaleOwnGroupToZero",
            "Effect": "Allow",
            "Action": _SCALE_TO_ZERO,
            "Resource": groups,
            "Condition": {"StringEquals": {f"aws:ResourceTag/{_STACK_TAG}": stack_id}},
        },
    ]


def deployment_policy(
    deployment: str, region: str, account: str, file_system_arn: str | None, stack_id: str | None = None
) -> dict[str, Any]:
    """Read this deployment's parameters (decrypting only those, through SSM), mount its EFS, attach its data volume,
    scale its Auto Scaling group to zero (the guard).

    The data volume and group statements come with `stack_id` (what carries it is the stack's).
    """
    path = parameter_path(deployment).rstrip("/")
    parameters = f"arn:aws:ssm:{region}:{account}:parameter{path}"
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ReadOwnSecrets",
            "Effect": "Allow",
            "Action": ["ssm:GetParametersByPath", "ssm:GetParameters", "ssm:GetParameter"],
            "Resource": [parameters, f"{parameters}/*"],
        },
        {
            # SecureStrings use the account's AWS managed key aws/ssm, whose id is not known before
            # its first use; SSM sends the parameter's ARN as encryption context, which pins the
            # decryption to this deployment's parameters.
            "Sid": "DecryptOwnSecretsViaSsm",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": f"arn:aws:kms:{region}:{account}:key/*",
            "Condition": {
                "StringEquals": {"kms:ViaService": f"ssm.{region}.amazonaws.com"},
                "StringLike": {"kms:EncryptionContext:PARAMETER_ARN": f"{parameters}/*"},
            },
        },
    ]
    if file_system_arn:
        statements.append(
            {
                "Sid": "MountOwnFileSystem",
                "Effect": "Allow",
                "Action": ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
                "Resource": file_system_arn,
            }
        )
    if stack_id:
        statements.extend(_data_volume_statements(region, account, stack_id))
        statements.extend(_group_statements(region, account, deployment, stack_id))
    return _document(statements)


def boundary_policy() -> dict[str, Any]:
    """The permissions boundary of every instance role: the union of the inline policies over all deployments.

    An instance role can never do more than this, whatever inline policy it is given, and neither can
    anyone who assumes it: the operator policy allows creating roles and changing their inline policies
    only with this boundary attached.
    """
    parameters = "arn:aws:ssm:*:*:parameter/geusemaker"
    return _document(
        [
            {"Sid": "AgentChannels", "Effect": "Allow", "Action": list(_AGENT_CHANNELS), "Resource": "*"},
            {
                "Sid": "AgentRegistration",
                "Effect": "Allow",
                "Action": list(_AGENT_ON_INSTANCE),
                "Resource": "arn:aws:ec2:*:*:instance/*",
            },
            {
                "Sid": "ReadGeuseMakerSecrets",
                "Effect": "Allow",
                "Action": ["ssm:GetParametersByPath", "ssm:GetParameters", "ssm:GetParameter"],
                "Resource": [parameters, f"{parameters}/*"],
            },
            {
                "Sid": "DecryptGeuseMakerSecretsViaSsm",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": "arn:aws:kms:*:*:key/*",
                "Condition": {
                    "StringLike": {
                        "kms:ViaService": "ssm.*.amazonaws.com",
                        "kms:EncryptionContext:PARAMETER_ARN": f"{parameters}/*",
                    }
                },
            },
            {
                "Sid": "MountFileSystems",
                "Effect": "Allow",
                "Action": ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
                "Resource": "arn:aws:elasticfilesystem:*:*:file-system/*",
            },
            {"Sid": "FindDataVolumes", "Effect": "Allow", "Action": "ec2:DescribeVolumes", "Resource": "*"},
            {
                "Sid": "AttachStackDataVolumes",
                "Effect": "Allow",
                "Action": list(_VOLUME_ATTACHMENT),
                "Resource": ["arn:aws:ec2:*:*:volume/*", "arn:aws:ec2:*:*:instance/*"],
                "Condition": {"Null": {f"aws:ResourceTag/{_STACK_TAG}": "false"}},
            },
            *_ebs_key_statements("arn:aws:kms:*:*:key/*", "StringLike", "ec2.*.amazonaws.com"),
            {"Sid": "FindGroups", "Effect": "Allow", "Action": _FIND_GROUP, "Resource": "*"},
            {
                "Sid": "ScaleStackGroupsToZero",
                "Effect": "Allow",
                "Action": _SCALE_TO_ZERO,
                "Resource": "arn:aws:autoscaling:*:*:autoScalingGroup:*:autoScalingGroupName/gm-*",
                "Condition": {"Null": {f"aws:ResourceTag/{_STACK_TAG}": "false"}},
            },
        ]
    )


def _normalized(statement: dict[str, Any]) -> dict[str, Any]:
    """A statement with single values as one-element lists, lists sorted, and no Sid (for comparing)."""

    def norm(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: norm(v) for k, v in value.items()}
        if isinstance(value, str | list):
            return sorted([value] if isinstance(value, str) else value)
        return value

    return {key: norm(value) for key, value in statement.items() if key != "Sid"}


def missing_boundary_statements(document: dict[str, Any]) -> list[str]:
    """Sids of the product's boundary statements that `document` (an existing boundary) lacks.

    Statements an administrator added (Session Manager logging, say) do not count against it.
    """
    statements = document.get("Statement", [])
    present = [_normalized(s) for s in ([statements] if isinstance(statements, dict) else statements)]
    return [s["Sid"] for s in boundary_policy()["Statement"] if _normalized(s) not in present]
