"""`DeploymentConfig`: the validated description of one stack, as read from YAML/JSON or the wizard."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from geusemaker.models.gpu import INSTANCE_TYPE_PATTERN, gpu_family_problem, normalize_gpu

ServiceName = Literal["ollama", "n8n", "qdrant", "crawl4ai", "postgres"]
ALL_SERVICES: tuple[ServiceName, ...] = ("ollama", "n8n", "qdrant", "crawl4ai", "postgres")
Market = Literal["spot", "spot-or-on-demand", "on-demand"]
DataStorage = Literal["efs", "ebs", "none"]

NAME_PATTERN = r"^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$"
REGION_PATTERN = re.compile(r"^(auto|[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2})$")
OLLAMA_MODEL_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]*(/[a-z0-9._-]+)?(:[A-Za-z0-9._-]+)?$")
DURATION_PATTERN = re.compile(r"^(-1|0|\d+(\.\d+)?(ms|s|m|h))$")
DEFAULT_CPU_INSTANCE_TYPE = "m7i.xlarge"
DEFAULT_GPU = "T4"


class RuleViolation(ValueError):
    """A cross-field rule broken at `path` (relative to the model that checks it)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path


class _Strict(BaseModel):
    """Base for config sections: unknown keys are errors, values are not coerced silently."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class ComputeConfig(_Strict):
    """What to run on: a GPU model and count, or an explicit instance type, and how to buy it."""

    gpu: str | None = Field(
        default=None, description="GPU alias: t4, a10g, l4, l40s, v100, a100, a100-80gb, h100, h200"
    )
    gpu_count: Annotated[int, Field(ge=1, le=8)] = Field(default=1, description="GPUs wanted (1-8)")
    instance_type: str | None = Field(default=None, description="explicit EC2 instance type, instead of gpu")
    market: Market = Field(default="spot-or-on-demand", description="spot, spot-or-on-demand or on-demand")
    max_hourly_usd: Annotated[float, Field(gt=0, le=1000)] | None = Field(
        default=None, description="refuse placements whose whole stack costs more per hour"
    )

    @field_validator("gpu")
    @classmethod
    def _canonical_gpu(cls, value: str | None) -> str | None:
        return None if value is None else normalize_gpu(value)

    @field_validator("instance_type")
    @classmethod
    def _instance_type_shape(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().lower()
        if not INSTANCE_TYPE_PATTERN.match(value):
            raise ValueError(f"'{value}' is not an EC2 instance type (like g5.xlarge)")
        return value

    @model_validator(mode="after")
    def _gpu_xor_type(self) -> Self:
        if self.gpu is not None and self.instance_type is not None:
            raise RuleViolation("instance_type", "give either gpu (with gpu_count) or instance_type, not both")
        if self.instance_type is not None and "gpu_count" in self.model_fields_set:
            raise RuleViolation("gpu_count", "gpu_count goes with gpu; instance_type already fixes the GPU count")
        return self


class StorageConfig(_Strict):
    """Root volume and where service data lives."""

    root_gb: Annotated[int, Field(ge=50, le=16384)] = Field(default=100, description="encrypted gp3 root volume, GiB")
    data: DataStorage = Field(default="efs", description="efs (survives the instance), ebs, or none")
    ebs_gb: Annotated[int, Field(ge=1, le=16384)] | None = Field(
        default=None, description="size of the EBS data volume in GiB (data: ebs only; default 100)"
    )

    @model_validator(mode="after")
    def _ebs_size_only_for_ebs(self) -> Self:
        if self.ebs_gb is not None and self.data != "ebs":
            raise RuleViolation("ebs_gb", f"ebs_gb is only allowed with data: ebs (data is {self.data})")
        return self

    @property
    def data_volume_gb(self) -> int:
        """The EBS data volume size, when data is ebs."""
        return self.ebs_gb or 100


class OllamaConfig(_Strict):
    """Models pulled at boot and how long they stay loaded."""

    models: list[str] = Field(
        default_factory=lambda: ["llama3.2:3b"], max_length=20, description="Ollama models pulled at boot"
    )
    keep_alive: str = Field(default="30m", description="how long a model stays in GPU memory: 5m, 1h, -1 (forever)")

    @field_validator("models")
    @classmethod
    def _model_names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not OLLAMA_MODEL_PATTERN.match(name):
                raise ValueError(f"'{name}' is not an Ollama model name (like llama3.2:3b or qwen2.5:7b)")
        if len(set(value)) != len(value):
            raise ValueError("models are listed more than once")
        return value

    @field_validator("keep_alive")
    @classmethod
    def _duration(cls, value: str) -> str:
        if not DURATION_PATTERN.match(value):
            raise ValueError(f"'{value}' is not a duration; use e.g. 30s, 5m, 1h, 0 or -1")
        return value


class AccessConfig(_Strict):
    """How the user reaches the services: SSM port forwarding only, or inbound CIDRs."""

    mode: Literal["ssm", "cidr"] = Field(
        default="ssm", description="ssm: no inbound ports; cidr: open to allowed_cidrs"
    )
    allowed_cidrs: list[str] = Field(
        default_factory=list, max_length=20, description="CIDR blocks allowed in (mode cidr only)"
    )

    @field_validator("allowed_cidrs")
    @classmethod
    def _cidrs(cls, value: list[str]) -> list[str]:
        normalized = []
        for cidr in value:
            try:
                normalized.append(str(ipaddress.ip_network(cidr, strict=False)))
            except ValueError:
                raise ValueError(f"'{cidr}' is not a CIDR block (like 203.0.113.7/32)") from None
        return normalized

    @model_validator(mode="after")
    def _cidrs_match_mode(self) -> Self:
        if self.mode == "cidr" and not self.allowed_cidrs:
            raise RuleViolation("allowed_cidrs", "mode cidr needs at least one entry in allowed_cidrs")
        if self.mode == "ssm" and self.allowed_cidrs:
            raise RuleViolation(
                "allowed_cidrs",
                "allowed_cidrs is only used with mode: cidr (mode is ssm, which opens no ports)",
            )
        return self


class LifecycleConfig(_Strict):
    """Automatic stop rules that keep an idle stack from costing money."""

    idle_stop_minutes: Annotated[int, Field(ge=0, le=10080)] = Field(
        default=60, description="stop after this many idle minutes (0 = off)"
    )
    max_runtime_hours: Annotated[int, Field(ge=0, le=8760)] = Field(
        default=0, description="hard stop after this many hours (0 = off)"
    )

    @field_validator("idle_stop_minutes")
    @classmethod
    def _not_too_eager(cls, value: int) -> int:
        if 0 < value < 10:
            raise ValueError(f"{value} minutes is shorter than a boot; use 0 (off) or at least 10")
        return value


class NetworkConfig(_Strict):
    """An existing VPC/subnet to deploy into; a new VPC is created when empty."""

    vpc_id: str | None = Field(default=None, pattern=r"^vpc-[0-9a-f]{8,17}$", description="existing VPC to deploy into")
    subnet_id: str | None = Field(
        default=None,
        pattern=r"^subnet-[0-9a-f]{8,17}$",
        description="existing subnet of vpc_id to launch into (default: any usable subnet of the VPC)",
    )

    @model_validator(mode="after")
    def _subnet_needs_vpc(self) -> Self:
        if self.subnet_id and not self.vpc_id:
            raise RuleViolation("subnet_id", "subnet_id needs vpc_id (the VPC the subnet belongs to)")
        return self


def _validate_tags(tags: dict[str, str]) -> dict[str, str]:
    if len(tags) > 40:
        raise ValueError(f"{len(tags)} tags given; AWS allows 50 per resource and GeuseMaker uses up to 10")
    for key, value in tags.items():
        if not 1 <= len(key) <= 128:
            raise ValueError(f"tag key '{key[:20]}...' must be 1-128 characters")
        if key.lower().startswith(("aws:", "geusemaker:")):
            raise ValueError(f"tag key '{key}' uses a reserved prefix (aws:, geusemaker:)")
        if len(value) > 256:
            raise ValueError(f"tag '{key}' value is longer than 256 characters")
    return tags


class DeploymentConfig(_Strict):
    """One GeuseMaker stack."""

    name: str = Field(pattern=NAME_PATTERN, description="lowercase letters, digits and '-', 1-40 chars")
    region: str = Field(default="auto", description="AWS region code, or auto for the cheapest feasible region")
    tier: Literal["gpu", "cpu"] = Field(default="gpu", description="gpu: Ollama on an NVIDIA GPU; cpu: no GPU")
    compute: ComputeConfig = Field(default_factory=ComputeConfig)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    services: list[ServiceName] = Field(
        default_factory=lambda: list(ALL_SERVICES), min_length=1, description="services to run (ollama required on gpu)"
    )
    ollama: OllamaConfig = Field(default_factory=OllamaConfig)
    access: AccessConfig = Field(default_factory=AccessConfig)
    lifecycle: LifecycleConfig = Field(default_factory=LifecycleConfig)
    network: NetworkConfig = Field(default_factory=NetworkConfig)
    tags: dict[str, str] = Field(default_factory=dict, description="your tags, added to every resource")

    @field_validator("region")
    @classmethod
    def _region_code(cls, value: str) -> str:
        value = value.strip().lower()
        if not REGION_PATTERN.match(value):
            raise ValueError(f"'{value}' is not an AWS region code (like us-east-1) or auto")
        return value

    @field_validator("services")
    @classmethod
    def _unique_services(cls, value: list[ServiceName]) -> list[ServiceName]:
        if len(set(value)) != len(value):
            raise ValueError("services are listed more than once")
        return [name for name in ALL_SERVICES if name in value]

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: dict[str, str]) -> dict[str, str]:
        return _validate_tags(value)

    @model_validator(mode="after")
    def _cross_field_rules(self) -> Self:
        compute = self.compute
        if self.tier == "gpu":
            if "ollama" not in self.services:
                raise RuleViolation("services", "tier gpu runs Ollama on the GPU: services must include ollama")
            if compute.instance_type is not None:
                problem = gpu_family_problem(compute.instance_type)
                if problem:
                    raise RuleViolation("compute.instance_type", problem)
        elif compute.gpu is not None:
            raise RuleViolation("compute.gpu", "gpu is set but tier is cpu; remove gpu or set tier: gpu")
        if "n8n" in self.services and "postgres" not in self.services:
            raise RuleViolation(
                "services", "n8n stores its data in PostgreSQL: services must include postgres with n8n"
            )
        if self.network.vpc_id and self.region == "auto":
            raise RuleViolation("region", "network.vpc_id pins the region: set region to the VPC's region, not auto")
        return self

    @property
    def gpu(self) -> str | None:
        """The GPU model requested, with the default for tier gpu."""
        if self.tier != "gpu" or self.compute.instance_type:
            return None
        return self.compute.gpu or DEFAULT_GPU

    @property
    def instance_type(self) -> str | None:
        """The explicit instance type, with the default for tier cpu."""
        if self.compute.instance_type:
            return self.compute.instance_type
        return DEFAULT_CPU_INSTANCE_TYPE if self.tier == "cpu" else None
