"""The instance role and profile: the SSM agent's actions plus read access to this deployment's secrets only."""

from __future__ import annotations

import json
from typing import Any

from geusemaker.errors import AwsError, NotFoundError, PreconditionError
from geusemaker.models.instance_policies import (
    BOUNDARY_NAME,
    BOUNDARY_PATH,
    boundary_arn,
    boundary_policy,
    missing_boundary_statements,
)
from geusemaker.models.tags import TAG_MANAGED, owned, tag_list
from geusemaker.services.aws import AwsClients, translate_errors

IAM_PATH = "/geusemaker/"
EC2_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})
BOUNDARY_SETUP = (
    "An administrator creates it once per account: `aws iam create-policy --path {path} --policy-name {name} "
    "--policy-document file://docs/instance-boundary-policy.json` (see docs/permissions.md)."
)


def _boundary_missing(arn: str, why: str) -> PreconditionError:
    return PreconditionError(
        f"the instance roles' permissions boundary {arn} {why}",
        hint=BOUNDARY_SETUP.format(path=BOUNDARY_PATH, name=BOUNDARY_NAME),
    )


def _boundary_outdated(arn: str, missing: list[str]) -> PreconditionError:
    return PreconditionError(
        f"the instance roles' permissions boundary {arn} lacks what this version of GeuseMaker's instances "
        f"need ({', '.join(missing)})",
        hint=(
            f"An administrator updates it: `aws iam create-policy-version --policy-arn {arn} --set-as-default "
            "--policy-document file://docs/instance-boundary-policy.json` (keep any statements you added; "
            "see docs/permissions.md)."
        ),
    )


def role_name(deployment: str) -> str:
    return f"geusemaker-{deployment}"


class IamService:
    """Creates and deletes the deployment's role and instance profile (IAM is global)."""

    def __init__(self, clients: AwsClients) -> None:
        self._iam = clients.client("iam", "us-east-1")

    def ensure_boundary(self, account: str) -> str:
        """The ARN of the instance roles' permissions boundary, created first where it is missing and allowed."""
        arn = boundary_arn(account)
        try:
            with translate_errors("iam:GetPolicy"):
                version = self._iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
            self._check_current(arn, version)
            return arn
        except NotFoundError:
            pass
        except AwsError as exc:
            if exc.code not in DENIED_CODES:
                raise
            return arn  # not allowed to look: CreateRole tells whether it exists
        try:
            with translate_errors("iam:CreatePolicy"):
                self._iam.create_policy(
                    PolicyName=BOUNDARY_NAME,
                    Path=BOUNDARY_PATH,
                    PolicyDocument=json.dumps(boundary_policy()),
                    Description="GeuseMaker: the most any GeuseMaker instance role may do",
                    Tags=[{"Key": TAG_MANAGED, "Value": "true"}],
                )
        except AwsError as exc:
            if exc.code in DENIED_CODES:
                raise _boundary_missing(arn, "does not exist, and this identity may not create it") from None
            if exc.code != "EntityAlreadyExists":
                raise
        return arn

    def _check_current(self, arn: str, version: str) -> None:
        """Raise when the existing boundary lacks a statement this version's instances need."""
        try:
            with translate_errors("iam:GetPolicyVersion"):
                document = self._iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
        except AwsError as exc:
            if exc.code in DENIED_CODES:
                return  # an identity that may not read it cannot check it; the boot reports what fails
            raise
        if isinstance(document, str):
            from urllib.parse import unquote

            document = json.loads(unquote(document))
        missing = missing_boundary_statements(document)
        if missing:
            raise _boundary_outdated(arn, missing)

    def create_role(self, deployment: str, user_tags: dict[str, str], boundary: str) -> str:
        """Create the instance role with `boundary` as its permissions boundary."""
        name = role_name(deployment)
        try:
            with translate_errors("iam:CreateRole"):
                self._iam.create_role(
                    RoleName=name,
                    Path=IAM_PATH,
                    AssumeRolePolicyDocument=json.dumps(EC2_TRUST),
                    Description=f"GeuseMaker {deployment} instance role",
                    PermissionsBoundary=boundary,
                    Tags=tag_list(deployment, "iam-role", user_tags),
                )
        except NotFoundError:
            raise _boundary_missing(boundary, "does not exist") from None
        except AwsError as exc:
            if exc.code in DENIED_CODES:
                raise _boundary_missing(
                    boundary, f"could not be used: {exc.message} (the operator policy allows roles only with it)"
                ) from None
            raise
        return name

    def put_policy(self, role: str, name: str, policy: dict[str, Any]) -> None:
        """Set one inline policy of the role (inline policies go with the role when it is deleted)."""
        with translate_errors("iam:PutRolePolicy"):
            self._iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(policy))

    def create_instance_profile(self, deployment: str, name: str, user_tags: dict[str, str]) -> tuple[str, str]:
        """(name, ARN) of a new, empty instance profile."""
        with translate_errors("iam:CreateInstanceProfile"):
            profile = self._iam.create_instance_profile(
                InstanceProfileName=name, Path=IAM_PATH, Tags=tag_list(deployment, "instance-profile", user_tags)
            )["InstanceProfile"]
        return str(profile["InstanceProfileName"]), str(profile["Arn"])

    def add_role(self, profile: str, role: str) -> None:
        with translate_errors("iam:AddRoleToInstanceProfile"):
            self._iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=role)

    def delete_instance_profile(self, name: str) -> None:
        try:
            with translate_errors("iam:GetInstanceProfile"):
                roles = self._iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]["Roles"]
            for role in roles:
                with translate_errors("iam:RemoveRoleFromInstanceProfile"):
                    self._iam.remove_role_from_instance_profile(InstanceProfileName=name, RoleName=role["RoleName"])
            with translate_errors("iam:DeleteInstanceProfile"):
                self._iam.delete_instance_profile(InstanceProfileName=name)
        except NotFoundError:
            return

    def delete_role(self, name: str) -> None:
        try:
            with translate_errors("iam:ListRolePolicies"):
                inline = self._iam.list_role_policies(RoleName=name)["PolicyNames"]
                attached = self._iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
                profiles = self._iam.list_instance_profiles_for_role(RoleName=name)["InstanceProfiles"]
            for profile in profiles:
                self.delete_instance_profile(profile["InstanceProfileName"])
            for policy in inline:
                with translate_errors("iam:DeleteRolePolicy"):
                    self._iam.delete_role_policy(RoleName=name, PolicyName=policy)
            for policy in attached:
                with translate_errors("iam:DetachRolePolicy"):
                    self._iam.detach_role_policy(RoleName=name, PolicyArn=policy["PolicyArn"])
            with translate_errors("iam:DeleteRole"):
                self._iam.delete_role(RoleName=name)
        except NotFoundError:
            return

    def find_roles(self, deployment: str, stack_id: str | None = None) -> list[str]:
        """Roles under GeuseMaker's path that belong to `deployment` (and `stack_id`, when given)."""
        name = role_name(deployment)
        with translate_errors("iam:ListRoles"):
            roles = [r["RoleName"] for r in self._iam.list_roles(PathPrefix=IAM_PATH)["Roles"] if r["RoleName"] == name]
        if stack_id is None:
            return roles
        with translate_errors("iam:ListRoleTags"):
            return [r for r in roles if owned(self._iam.list_role_tags(RoleName=r)["Tags"], deployment, stack_id)]

    def find_instance_profiles(self, deployment: str, stack_id: str | None = None) -> list[str]:
        name = role_name(deployment)
        with translate_errors("iam:ListInstanceProfiles"):
            profiles = self._iam.list_instance_profiles(PathPrefix=IAM_PATH)["InstanceProfiles"]
            profiles = [p["InstanceProfileName"] for p in profiles if p["InstanceProfileName"] == name]
            if stack_id is None:
                return profiles
            return [
                p
                for p in profiles
                if owned(self._iam.get_instance_profile(InstanceProfileName=p)["InstanceProfile"].get("Tags"),
                         deployment, stack_id)
            ]  # fmt: skip
