"""`DeploymentConfig`: the validated description of one stack, as read from YAML/JSON or the wizard."""

from __future__ import annotations

import re
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator, model_validator

from geusemaker.models.access import AccessConfig, exposure_problem
from geusemaker.models.data_layout import DataLayout, storage_warnings
from geusemaker.models.gpu import INSTANCE_TYPE_PATTERN, UNSUPPORTED_GPUS, gpu_family_problem, normalize_gpu
from geusemaker.models.names import NAME_PATTERN, name_problem
from geusemaker.models.regions import AUTO, normalize_region, region_problem
from geusemaker.models.rules import RuleViolation, is_stored
from geusemaker.models.tags import validate_user_tags

__all__ = ["AccessConfig", "DeploymentConfig", "RuleViolation"]

ServiceName = Literal["ollama", "n8n", "qdrant", "crawl4ai", "postgres"]
ALL_SERVICES: tuple[ServiceName, ...] = ("ollama", "n8n", "qdrant", "crawl4ai", "postgres")
Market = Literal["spot", "spot-or-on-demand", "on-demand"]
DataStorage = Literal["efs", "ebs", "none"]

VPC_ID_SCHEMA = r"^vpc-[0-9a-f]{8,17}$"
SUBNET_ID_SCHEMA = r"^subnet-[0-9a-f]{8,17}$"
VPC_PATTERN = re.compile(VPC_ID_SCHEMA.strip("^$"))
SUBNET_PATTERN = re.compile(SUBNET_ID_SCHEMA.strip("^$"))
#: bounds on free text, so that a wrong value is refused quickly and shown briefly
MAX_MODEL_NAME_CHARS = 200
MAX_SHORT_TEXT_CHARS = 64
OLLAMA_MODEL_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]*(/[a-z0-9._-]+)?(:[A-Za-z0-9._-]+)?$")
DURATION_PATTERN = re.compile(r"^(-1|0|\d+(\.\d+)?(ms|s|m|h))$")
DEFAULT_CPU_INSTANCE_TYPE = "m7i.xlarge"
DEFAULT_GPU = "T4"
DATA_VOLUME_GB = 100


ShortText = Annotated[str, StringConstraints(max_length=MAX_SHORT_TEXT_CHARS)]


def check_name(value: str) -> str:
    """A stack name as the config, the command line and AWS resource names need it; `ValueError` otherwise."""
    problem = name_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _shown(value: str) -> str:
    """A value quoted for a message, cut to a readable length."""
    return repr(value if len(value) <= 60 else value[:57] + "...")


def _resource_id(value: str | None, pattern: re.Pattern[str], example: str) -> str | None:
    if value is not None and not pattern.fullmatch(value):
        raise ValueError(f"{_shown(value)} is not an id like {example}")
    return value


class _Strict(BaseModel):
    """Base for config sections: unknown keys are errors, values are not coerced (strict types)."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, strict=True)


class ComputeConfig(_Strict):
    """What to run on: a GPU model and count, or an explicit instance type, and how to buy it."""

    gpu: ShortText | None = Field(
        default=None, description="GPU alias: t4, a10g, l4, l40s, a100, a100-80gb, h100, h200, b200, b300, rtx-pro-4500"
    )
    gpu_count: Annotated[int, Field(ge=1, le=8)] = Field(default=1, description="GPUs wanted (1-8)")
    instance_type: ShortText | None = Field(default=None, description="explicit EC2 instance type, instead of gpu")
    market: Market = Field(default="spot-or-on-demand", description="spot, spot-or-on-demand or on-demand")
    max_hourly_usd: Annotated[float, Field(gt=0, le=1000)] | None = Field(
        default=None, description="refuse placements whose whole stack costs more per hour"
    )
    allow_unknown_price: bool = Field(
        default=False,
        description="with max_hourly_usd, also allow placements whose price is unknown (never chosen otherwise)",
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
    data: DataStorage = Field(
        default="ebs",
        description="ebs: all data on an encrypted gp3 data volume kept across stop, start and replacement; "
        "efs: the same, with Ollama's models on EFS; none: on the root disk, lost with the instance",
    )
    ebs_gb: Annotated[int, Field(ge=1, le=16384)] | None = Field(
        default=None, description=f"size of the EBS data volume in GiB (data: ebs or efs; default {DATA_VOLUME_GB})"
    )

    @model_validator(mode="after")
    def _ebs_size_needs_a_volume(self) -> Self:
        if self.ebs_gb is not None and self.data == "none":
            raise RuleViolation("ebs_gb", "ebs_gb sizes the data volume, and data: none has none; use ebs or efs")
        return self

    @property
    def data_volume_gb(self) -> int:
        """The EBS data volume size (data: ebs or efs)."""
        return self.ebs_gb or DATA_VOLUME_GB

    def warnings(self, layout: DataLayout | None = None) -> list[str]:
        """What the user should know where `data` changed meaning (`layout`: a kept stack's own)."""
        return storage_warnings(self.data, "data" in self.model_fields_set, layout)


class OllamaConfig(_Strict):
    """Models pulled at boot and how long they stay loaded."""

    models: list[Annotated[str, StringConstraints(max_length=MAX_MODEL_NAME_CHARS)]] = Field(
        default_factory=lambda: ["llama3.2:3b"], max_length=20, description="Ollama models pulled at boot"
    )
    keep_alive: ShortText = Field(
        default="30m", description="how long a model stays in GPU memory: 5m, 1h, -1 (forever)"
    )

    @field_validator("models")
    @classmethod
    def _model_names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not OLLAMA_MODEL_PATTERN.fullmatch(name):
                raise ValueError(f"{_shown(name)} is not an Ollama model name (like llama3.2:3b or qwen2.5:7b)")
        if len(set(value)) != len(value):
            raise ValueError("models are listed more than once")
        return value

    @field_validator("keep_alive")
    @classmethod
    def _duration(cls, value: str) -> str:
        if not DURATION_PATTERN.fullmatch(value):
            raise ValueError(f"{_shown(value)} is not a duration; use e.g. 30s, 5m, 1h, 0 or -1")
        return value


class LifecycleConfig(_Strict):
    """Automatic stop rules that keep an idle stack from costing money."""

    idle_stop_minutes: Annotated[int, Field(ge=0, le=10080)] = Field(
        default=60, description="stop after this many idle minutes (0 = off)"
    )
    max_runtime_hours: Annotated[int, Field(ge=0, le=8760)] = Field(
        default=0, description="stop this many hours after deploy or start, whatever the reboots (0 = off)"
    )

    @field_validator("idle_stop_minutes")
    @classmethod
    def _not_too_eager(cls, value: int) -> int:
        if 0 < value < 10:
            raise ValueError(f"{value} minutes is shorter than a boot; use 0 (off) or at least 10")
        return value


class NetworkConfig(_Strict):
    """An existing VPC/subnet to deploy into; a new VPC is created when empty."""

    vpc_id: ShortText | None = Field(
        default=None, description="existing VPC to deploy into (vpc-...)", json_schema_extra={"pattern": VPC_ID_SCHEMA}
    )
    subnet_id: ShortText | None = Field(
        default=None,
        description="existing subnet of vpc_id to launch into (default: any usable subnet of the VPC)",
        json_schema_extra={"pattern": SUBNET_ID_SCHEMA},
    )

    @field_validator("vpc_id")
    @classmethod
    def _vpc_id(cls, value: str | None) -> str | None:
        return _resource_id(value, VPC_PATTERN, "vpc-0123456789abcdef0")

    @field_validator("subnet_id")
    @classmethod
    def _subnet_id(cls, value: str | None) -> str | None:
        return _resource_id(value, SUBNET_PATTERN, "subnet-0123456789abcdef0")

    @model_validator(mode="after")
    def _subnet_needs_vpc(self) -> Self:
        if self.subnet_id and not self.vpc_id:
            raise RuleViolation("subnet_id", "subnet_id needs vpc_id (the VPC the subnet belongs to)")
        return self


class DeploymentConfig(_Strict):
    """One GeuseMaker stack."""

    name: str = Field(
        description="lowercase letters, digits and '-', 1-40 chars",
        json_schema_extra={"pattern": NAME_PATTERN.replace(r"\Z", "$")},  # for editors; messages say it in words
    )
    region: str | None = Field(
        default=None,
        description="AWS region code, or auto to search every enabled region; unset: --region, AWS_REGION, "
        "AWS_DEFAULT_REGION or the profile's region",
    )
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
    tags: dict[str, Annotated[str, StringConstraints(max_length=256)]] = Field(
        default_factory=dict, description="your tags, added to every resource"
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_name(value)

    @field_validator("region")
    @classmethod
    def _region_code(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = normalize_region(value)
        problem = region_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("services")
    @classmethod
    def _unique_services(cls, value: list[ServiceName]) -> list[ServiceName]:
        if len(set(value)) != len(value):
            raise ValueError("services are listed more than once")
        return [name for name in ALL_SERVICES if name in value]

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        return value if is_stored(info) else validate_user_tags(value)

    @model_validator(mode="after")
    def _cross_field_rules(self, info: ValidationInfo) -> Self:
        compute = self.compute
        if self.tier == "gpu":
            if "ollama" not in self.services:
                raise RuleViolation("services", "tier gpu runs Ollama on the GPU: services must include ollama")
            if compute.instance_type is not None:
                problem = gpu_family_problem(compute.instance_type)
                if problem:
                    raise RuleViolation("compute.instance_type", problem)
            if compute.gpu in UNSUPPORTED_GPUS:
                raise RuleViolation(
                    "compute.gpu",
                    f"{compute.gpu} is not supported: {UNSUPPORTED_GPUS[compute.gpu]}; choose another GPU",
                )
        elif compute.gpu is not None:
            raise RuleViolation("compute.gpu", "gpu is set but tier is cpu; remove gpu or set tier: gpu")
        if "n8n" in self.services and "postgres" not in self.services:
            raise RuleViolation(
                "services", "n8n stores its data in PostgreSQL: services must include postgres with n8n"
            )
        access = None if is_stored(info) else exposure_problem(self)
        if access is not None:
            raise RuleViolation(f"access.{access.path}", str(access))
        if self.network.vpc_id and self.region == AUTO:
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
