"""Typed step specs: every parameter of every create call of a deploy, as frozen data.

A spec field that needs another step's result holds a `Ref` to it (or, for what the user brings,
a literal id); the executor resolves references from its output map before a step runs, so a
dry-run resolves every input too.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, ClassVar

from geusemaker.models.instance_policies import (
    DEPLOYMENT_POLICY,
    SSM_AGENT_POLICY,
    deployment_policy,
    ssm_agent_policy,
)
from geusemaker.models.step_refs import STACK_ID_PLACEHOLDER, Ref, Target, all_refs, to_json


@dataclass(frozen=True)
class Spec:
    """Base of every step spec; `kind` names its entry in the registry of resource kinds."""

    kind: ClassVar[str] = ""

    def describe(self) -> str:
        return self.kind

    def refs(self) -> tuple[Ref, ...]:
        """Every reference in this spec (nested specs included): the steps it needs first."""
        return all_refs(self)

    def as_json(self) -> dict[str, Any]:
        return {f.name: to_json(getattr(self, f.name)) for f in dataclasses.fields(self)}


@dataclass(frozen=True)
class VpcSpec(Spec):
    kind: ClassVar[str] = "vpc"
    cidr: str
    enable_dns: bool = True

    def describe(self) -> str:
        return f"create VPC {self.cidr}"


@dataclass(frozen=True)
class SubnetSpec(Spec):
    kind: ClassVar[str] = "subnet"
    vpc: Target
    zone: str
    cidr: str
    public_ips: bool = True
    route_table: Target | None = None

    def describe(self) -> str:
        return f"create public subnet {self.cidr} in {self.zone}"


@dataclass(frozen=True)
class InternetGatewaySpec(Spec):
    kind: ClassVar[str] = "internet-gateway"
    vpc: Target

    def describe(self) -> str:
        return "create and attach internet gateway"


@dataclass(frozen=True)
class RouteTableSpec(Spec):
    kind: ClassVar[str] = "route-table"
    vpc: Target
    gateway: Target
    subnets: tuple[Target, ...]
    destination: str = "0.0.0.0/0"

    def describe(self) -> str:
        return f"create route table with a default route ({self.destination})"


@dataclass(frozen=True)
class IngressRule:
    port: int
    cidr: str


@dataclass(frozen=True)
class SecurityGroupSpec(Spec):
    kind: ClassVar[str] = "security-group"
    vpc: Target
    group_name: str
    description: str
    ingress: tuple[IngressRule, ...]
    nfs_from_self: bool = True
    #: the services the ingress rules open (for the display)
    exposed: tuple[str, ...] = ()
    note: str = ""

    def describe(self) -> str:
        cidrs = ", ".join(dict.fromkeys(rule.cidr for rule in self.ingress))
        rules = f"inbound to {', '.join(self.exposed)} from {cidrs}" if self.ingress else "no inbound rules (SSM only)"
        return f"create security group{self.note}: {rules}"


@dataclass(frozen=True)
class IamRoleSpec(Spec):
    kind: ClassVar[str] = "iam-role"
    role_name: str
    path: str
    permissions_boundary: str

    def describe(self) -> str:
        return "create IAM role (SSM agent + this deployment's parameters)"


@dataclass(frozen=True)
class RolePolicySpec(Spec):
    """An inline policy of the role; the document is rendered from these fields (and the file system's ARN)."""

    kind: ClassVar[str] = "role-policy"
    role: Target
    policy_name: str
    deployment: str
    region: str
    account: str
    file_system_arn: Target | None = None

    def document(self, file_system_arn: str | None = None, stack_id: str | None = None) -> dict[str, Any]:
        """The policy document; the stack id (known once the deploy starts) scopes the data volume statements."""
        if self.policy_name == SSM_AGENT_POLICY:
            return ssm_agent_policy(self.region, self.account)
        if self.policy_name == DEPLOYMENT_POLICY:
            arn = file_system_arn or (str(self.file_system_arn) if self.file_system_arn is not None else None)
            return deployment_policy(self.deployment, self.region, self.account, arn, stack_id)
        raise ValueError(f"unknown inline policy {self.policy_name!r}")

    def describe(self) -> str:
        return f"put inline policy {self.policy_name} on the role"

    def as_json(self) -> dict[str, Any]:
        return {**super().as_json(), "document": self.document(stack_id=STACK_ID_PLACEHOLDER)}


@dataclass(frozen=True)
class InstanceProfileSpec(Spec):
    kind: ClassVar[str] = "instance-profile"
    profile_name: str
    role: Target

    def describe(self) -> str:
        return "create instance profile for the role"


@dataclass(frozen=True)
class SecretsSpec(Spec):
    """SecureString parameters; their values are generated when the step runs, never planned or shown."""

    kind: ClassVar[str] = "ssm-parameter"
    deployment: str
    names: tuple[str, ...]

    def describe(self) -> str:
        return "store generated secrets as SSM SecureString parameters"


@dataclass(frozen=True)
class FileSystemSpec(Spec):
    """An encrypted EFS file system (its creation token is made per apply, so a retried call is idempotent)."""

    kind: ClassVar[str] = "file-system"
    performance_mode: str = "generalPurpose"
    throughput_mode: str = "elastic"
    encrypted: bool = True

    def describe(self) -> str:
        return "create encrypted EFS file system"


@dataclass(frozen=True)
class MountTargetSpec(Spec):
    kind: ClassVar[str] = "mount-target"
    file_system: Target
    subnet: Target
    security_group: Target
    zone: str

    def describe(self) -> str:
        return f"create EFS mount target in {self.zone}"


@dataclass(frozen=True)
class Step:
    """One thing the executor does: the spec of what it creates and the steps it waits for."""

    id: str
    spec: Spec
    after: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        return self.spec.kind

    @property
    def resource(self) -> str:
        return self.spec.kind

    @property
    def action(self) -> str:
        return self.spec.describe()

    @property
    def depends_on(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys([*(r.step for r in self.spec.refs()), *self.after]))

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "action": self.action,
            "resource": self.resource,
            "depends_on": list(self.depends_on),
            "after": list(self.after),
            "spec": self.spec.as_json(),
        }


def canonical(steps: tuple[Step, ...]) -> str:
    """A stable text of the steps, for comparing a saved plan with a fresh one."""
    return json.dumps([s.as_json() for s in steps], sort_keys=True)
