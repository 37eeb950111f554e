"""Typed step specs: every parameter of every create call of a deploy, as frozen data.

A spec field that needs another step's result holds a `Ref` to it (or, for what the user brings,
a literal id); the executor resolves references from its output map before a step runs, so a
dry-run resolves every input too.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, TypeVar

from geusemaker.models.instance_policies import (
    DEPLOYMENT_POLICY,
    SSM_AGENT_POLICY,
    deployment_policy,
    ssm_agent_policy,
)
from geusemaker.models.market import MarketKind

OutputField = Literal["id", "arn", "zone"]
S = TypeVar("S")


@dataclass(frozen=True)
class Ref:
    """The output `field` of step `step` (known only once that step has run)."""

    step: str
    field: OutputField = "id"

    def as_json(self) -> dict[str, str]:
        return {"ref": self.step, "field": self.field}

    def __str__(self) -> str:
        return f"${{{self.step}.{self.field}}}"


#: A literal id (e.g. the user's own VPC) or another step's output.
Target = Ref | str


@dataclass(frozen=True)
class Output:
    """What a step produced: the id other steps refer to, its ARN and zone where it has them."""

    id: str
    arn: str = ""
    zone: str = ""

    def get(self, field: OutputField) -> str:
        value = {"id": self.id, "arn": self.arn, "zone": self.zone}[field]
        if not value:
            raise KeyError(field)
        return value


@dataclass(frozen=True)
class Spec:
    """Base of every step spec; `kind` names its entry in the registry of resource kinds."""

    kind: ClassVar[str] = ""

    def describe(self) -> str:
        return self.kind

    def refs(self) -> tuple[Ref, ...]:
        """Every reference in this spec (nested specs included): the steps it needs first."""
        return tuple(dict.fromkeys(_refs(self)))

    def as_json(self) -> dict[str, Any]:
        return {f.name: _json(getattr(self, f.name)) for f in dataclasses.fields(self)}


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

    def document(self, file_system_arn: str | None = None) -> dict[str, Any]:
        if self.policy_name == SSM_AGENT_POLICY:
            return ssm_agent_policy(self.region, self.account)
        if self.policy_name == DEPLOYMENT_POLICY:
            arn = file_system_arn or (str(self.file_system_arn) if self.file_system_arn is not None else None)
            return deployment_policy(self.deployment, self.region, self.account, arn)
        raise ValueError(f"unknown inline policy {self.policy_name!r}")

    def describe(self) -> str:
        return f"put inline policy {self.policy_name} on the role"

    def as_json(self) -> dict[str, Any]:
        return {**super().as_json(), "document": self.document()}


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
class BootSpec:
    """What the UserData is rendered from at launch (the config comes with the plan)."""

    region: str
    needs_driver_install: bool
    spot: bool
    file_system: Target | None = None


@dataclass(frozen=True)
class LaunchTemplateSpec(Spec):
    kind: ClassVar[str] = "launch-template"
    template_name: str
    image_id: str
    security_group: Target
    instance_profile_arn: Target
    root_gb: int
    data_gb: int | None
    market: MarketKind
    boot: BootSpec
    metadata_hop_limit: int = 1

    def describe(self) -> str:
        volumes = "encrypted gp3 root" + (f" + {self.data_gb} GiB data" if self.data_gb else "")
        return f"create launch template (IMDSv2, {volumes}, UserData)"


@dataclass(frozen=True)
class LaunchGroup:
    """One CreateFleet try: instance types in one zone and market, in the subnet of that zone.

    A zone other than the first gets its subnet and mount target only when the launch falls back to it.
    """

    zone: str
    market: MarketKind
    instance_types: tuple[str, ...]
    hourly_usd: tuple[float | None, ...]
    subnet: Target | SubnetSpec
    mount_target: MountTargetSpec | None = None


@dataclass(frozen=True)
class InstanceSpec(Spec):
    kind: ClassVar[str] = "instance"
    launch_template: Target
    launches: tuple[LaunchGroup, ...]
    initial_market: MarketKind

    def describe(self) -> str:
        return "launch instance with CreateFleet (instant)"

    def refs(self) -> tuple[Ref, ...]:
        """Fallback zones' subnets are created by this step itself: they are not dependencies."""
        own = {fallback_subnet_step(g.zone) for g in self.launches if isinstance(g.subnet, SubnetSpec)}
        return tuple(ref for ref in super().refs() if ref.step not in own)


def fallback_subnet_step(zone: str) -> str:
    """The output name of the subnet a launch creates when it falls back to `zone`."""
    return f"subnet-{zone}"


@dataclass(frozen=True)
class DataVolumeSpec(Spec):
    """The stack's persistent data disk: encrypted gp3 in the instance's zone, kept unless deletion is asked for."""

    kind: ClassVar[str] = "data-volume"
    instance: Target
    zone: Target
    size_gb: int
    device: str = "/dev/sdf"
    volume_type: str = "gp3"
    encrypted: bool = True

    def describe(self) -> str:
        return f"create and attach encrypted {self.volume_type} data volume ({self.size_gb} GiB, kept on destroy)"


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


def all_refs(spec: Spec) -> tuple[Ref, ...]:
    """Every reference in `spec`, those to what the step creates itself included."""
    return tuple(dict.fromkeys(_refs(spec)))


def _refs(value: object) -> list[Ref]:
    if isinstance(value, Ref):
        return [value]
    if isinstance(value, tuple):
        return [ref for item in value for ref in _refs(item)]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [ref for f in dataclasses.fields(value) for ref in _refs(getattr(value, f.name))]
    return []


def _json(value: object) -> Any:
    if isinstance(value, Ref):
        return value.as_json()
    if isinstance(value, Spec):
        return {"kind": value.kind, **value.as_json()}
    if isinstance(value, tuple):
        return [_json(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


def resolve(spec: S, outputs: Mapping[str, Output], later: frozenset[str] = frozenset()) -> S:
    """`spec` with every reference replaced by the referred step's output (KeyError when it has none).

    References to the steps in `later` (made by the step itself, e.g. a fallback zone's subnet) stay.
    """
    return _resolved(spec, outputs, later)  # type: ignore[no-any-return]


def _resolved(value: Any, outputs: Mapping[str, Output], later: frozenset[str]) -> Any:
    if isinstance(value, Ref):
        if value.step in later and value.step not in outputs:
            return value
        try:
            return outputs[value.step].get(value.field)
        except KeyError:
            raise KeyError(f"{value} is not known yet (step {value.step!r} has not produced it)") from None
    if isinstance(value, tuple):
        return tuple(_resolved(item, outputs, later) for item in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: _resolved(getattr(value, f.name), outputs, later) for f in dataclasses.fields(value)}
        return dataclasses.replace(value, **changes)
    return value


def canonical(steps: tuple[Step, ...]) -> str:
    """A stable text of the steps, for comparing a saved plan with a fresh one."""
    return json.dumps([s.as_json() for s in steps], sort_keys=True)
