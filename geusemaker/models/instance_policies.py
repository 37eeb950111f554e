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


def deployment_policy(deployment: str, region: str, account: str, file_system_arn: str | None) -> dict[str, Any]:
    """Read this deployment's parameters (decrypting only those, through SSM), mount its EFS."""
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
    return _document(statements)
