"""Teach moto what the sandbox needs: EC2 vCPU quotas, spot placement scores, DLAMI and Ubuntu images,
launch template versions that inherit from their source version and network interfaces created at launch that
go with their instance, as EC2's do.

Used by the sandbox server process, and by tests that run moto in-process, so both see the same AWS.
Imports moto: never import this module from the product's normal code paths.
"""

from __future__ import annotations

import copy
import json
from functools import cache, wraps
from typing import Any

from geusemaker.models.ami import CANONICAL_OWNER
from geusemaker.models.regions import OPT_IN_REGIONS
from geusemaker.sandbox import autoscaling_patches, speed_patches
from geusemaker.sandbox.seed import DEFAULT_SANDBOX_QUOTA, EC2_VCPU_QUOTAS, placement_score, seed_images

#: Current quota values by code; `set_quotas` changes them (also while the server runs).
QUOTAS: dict[str, float] = dict.fromkeys(EC2_VCPU_QUOTAS, DEFAULT_SANDBOX_QUOTA)


def set_quotas(values: dict[str, float]) -> None:
    """Override quota values (codes from `EC2_VCPU_QUOTAS`)."""
    QUOTAS.update(values)


#: Opt-in regions this account has enabled (`sandbox start --enable-region`); the others answer AuthFailure.
ENABLED_REGIONS: set[str] = set()


def reset_quotas() -> None:
    QUOTAS.clear()
    QUOTAS.update(dict.fromkeys(EC2_VCPU_QUOTAS, DEFAULT_SANDBOX_QUOTA))
    ENABLED_REGIONS.clear()


def enable_regions(regions: set[str]) -> None:
    """Enable opt-in regions, as `aws account enable-region` would."""
    ENABLED_REGIONS.update(regions)


def region_enabled(region: str) -> bool:
    return region not in OPT_IN_REGIONS or region in ENABLED_REGIONS


@cache
def install() -> None:
    """Apply every patch once per process (idempotent)."""
    _patch_service_quotas()
    _patch_spot_placement_scores()
    _patch_seed_images_and_parameters()
    _patch_opt_in_regions()
    _patch_launch_template_source_version()
    _patch_launch_interfaces_deleted_on_termination()
    autoscaling_patches.install()
    speed_patches.install()


def _quota_document(code: str, region: str, account_id: str) -> dict[str, Any]:
    return {
        "ServiceCode": "ec2",
        "ServiceName": "Amazon Elastic Compute Cloud (Amazon EC2)",
        "QuotaArn": f"arn:aws:servicequotas:{region}:{account_id}:ec2/{code}",
        "QuotaCode": code,
        "QuotaName": EC2_VCPU_QUOTAS[code],
        "Value": float(QUOTAS[code]),
        "Unit": "None",
        "Adjustable": True,
        "GlobalQuota": False,
    }


def _patch_service_quotas() -> None:
    from moto.servicequotas.exceptions import NoSuchResource
    from moto.servicequotas.models import ServiceQuotasBackend
    from moto.servicequotas.responses import ServiceQuotasResponse

    original_get = ServiceQuotasBackend.get_service_quota
    original_defaults = ServiceQuotasBackend.list_aws_default_service_quotas

    def get_service_quota(self: Any, service_code: str, quota_code: str) -> dict[str, Any]:
        if service_code == "ec2":
            if quota_code not in QUOTAS:
                raise NoSuchResource
            return _quota_document(quota_code, self.region_name, self.account_id)
        return original_get(self, service_code, quota_code)

    def list_defaults(self: Any, service_code: str) -> list[dict[str, Any]]:
        if service_code == "ec2":
            return [_quota_document(code, self.region_name, self.account_id) for code in QUOTAS]
        return original_defaults(self, service_code)

    def list_service_quotas(self: Any) -> str:
        params = json.loads(self.body)
        quotas = self.backend.list_aws_default_service_quotas(str(params.get("ServiceCode")))
        return json.dumps({"Quotas": quotas})

    ServiceQuotasBackend.get_service_quota = get_service_quota  # type: ignore[method-assign]
    ServiceQuotasBackend.list_aws_default_service_quotas = list_defaults  # type: ignore[method-assign]
    ServiceQuotasResponse.list_service_quotas = list_service_quotas  # type: ignore[attr-defined]


_SCORES_TEMPLATE = """<GetSpotPlacementScoresResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
<requestId>7c6b7f5c-0000-4000-8000-000000000000</requestId>
<spotPlacementScoreSet>{items}</spotPlacementScoreSet>
</GetSpotPlacementScoresResponse>"""


def _patch_spot_placement_scores() -> None:
    from moto.ec2.models import ec2_backends
    from moto.ec2.responses import EC2Response

    from geusemaker.catalog import load_catalog

    def get_spot_placement_scores(self: Any) -> str:
        instance_types = tuple(self._get_param("InstanceTypes", []))
        capacity = self._get_int_param("TargetCapacity", 1)
        single_zone = bool(self._get_bool_param("SingleAvailabilityZone", False))
        regions = self._get_param("RegionNames", []) or load_catalog().regions()
        items = []
        for region in regions:
            if single_zone:
                backend = ec2_backends[self.current_account][region]
                for zone in backend.describe_availability_zones():
                    score = placement_score(region, zone.zone_id, instance_types, capacity)
                    items.append(
                        f"<item><region>{region}</region><availabilityZoneId>{zone.zone_id}</availabilityZoneId>"
                        f"<score>{score}</score></item>"
                    )
            else:
                score = placement_score(region, region, instance_types, capacity)
                items.append(f"<item><region>{region}</region><score>{score}</score></item>")
        return _SCORES_TEMPLATE.format(items="".join(items))

    EC2Response.get_spot_placement_scores = get_spot_placement_scores  # type: ignore[attr-defined]


def _patch_seed_images_and_parameters() -> None:
    from moto.ec2.models import EC2Backend
    from moto.ec2.models.amis import Ami
    from moto.ssm.models import Parameter, SimpleSystemManagerBackend

    original_ec2_init = EC2Backend.__init__
    original_ssm_init = SimpleSystemManagerBackend.__init__

    @wraps(original_ec2_init)
    def ec2_init(self: Any, region_name: str, account_id: str) -> None:
        original_ec2_init(self, region_name, account_id)
        for image in seed_images(region_name):
            self.amis[image.image_id] = Ami(
                self,
                image.image_id,
                name=image.name,
                description=image.name,
                owner_id=image.owner_id,
                owner_alias=None if image.owner_id == CANONICAL_OWNER else "amazon",
                public=True,
                virtualization_type="hvm",
                architecture=image.architecture,
                creation_date=image.created,
                hypervisor="xen",
                root_device_type="ebs",
                region_name=f"{region_name}a",
            )

    @wraps(original_ssm_init)
    def ssm_init(self: Any, region_name: str, account_id: str) -> None:
        original_ssm_init(self, region_name, account_id)
        for image in seed_images(region_name):
            if image.parameter is None:
                continue
            self._parameters[image.parameter].append(
                Parameter(  # type: ignore[abstract]
                    account_id=account_id,
                    name=image.parameter,
                    value=image.image_id,
                    parameter_type="String",
                    description=None,
                    allowed_pattern=None,
                    keyid=None,
                    last_modified_date=image.created,
                    version=1,
                    data_type="aws:ec2:image",
                )
            )

    EC2Backend.__init__ = ec2_init  # type: ignore[method-assign]
    SimpleSystemManagerBackend.__init__ = ssm_init  # type: ignore[method-assign]


_AUTH_FAILURE = (
    "<Response><Errors><Error><Code>AuthFailure</Code><Message>AWS was not able to validate the provided "
    "access credentials</Message></Error></Errors><RequestID>7c6b7f5c-0000-4000-8000-000000000001</RequestID>"
    "</Response>"
)


def _patch_opt_in_regions() -> None:
    """DescribeRegions tells each region's opt-in status; EC2 in a disabled region answers AuthFailure, like AWS."""
    from moto.ec2.models.availability_zones_and_regions import Region, RegionsAndZonesBackend
    from moto.ec2.responses import EC2Response

    original_describe = RegionsAndZonesBackend.describe_regions
    original_call = EC2Response.call_action

    def describe_regions(self: Any, region_names: list[str] | None = None) -> list[Any]:
        regions = []
        for region in original_describe(self, region_names):
            status = region.opt_in_status
            if region.name in OPT_IN_REGIONS:
                status = "opted-in" if region.name in ENABLED_REGIONS else "not-opted-in"
            elif status == "not-opted-in":
                status = "opt-in-not-required"
            regions.append(Region(region.name, region.endpoint, status))
        return regions

    def call_action(self: Any) -> Any:
        if not region_enabled(self.region):
            return 401, {"status": 401}, _AUTH_FAILURE
        return original_call(self)

    RegionsAndZonesBackend.describe_regions = describe_regions  # type: ignore[method-assign]
    EC2Response.call_action = call_action  # type: ignore[method-assign]


def _patch_launch_template_source_version() -> None:
    """CreateLaunchTemplateVersion with SourceVersion: the new version is the source's data plus the changes.

    moto stores only the parameters of the request, so a version made to change one setting loses the
    image, the user data and everything else. EC2 copies the source version and overrides what is given.
    """
    from moto.ec2.responses.launch_templates import LaunchTemplates

    original = LaunchTemplates.create_launch_template_version

    @wraps(original)
    def create_launch_template_version(self: Any) -> Any:
        source = self._get_param("SourceVersion")
        if source is None:
            return original(self)
        template_id, backend = self._get_param("LaunchTemplateId"), self.ec2_backend
        if template_id:
            template = backend.get_launch_template(template_id)
        else:
            template = backend.get_launch_template_by_name(self._get_param("LaunchTemplateName"))
        merged = {**copy.deepcopy(template.get_version(source).data), **self._get_param("LaunchTemplateData", {})}
        read = self._get_param

        def get_param(param_name: str, if_none: Any = None) -> Any:
            return merged if param_name == "LaunchTemplateData" else read(param_name, if_none)

        self._get_param = get_param
        try:
            return original(self)
        finally:
            del self._get_param

    LaunchTemplates.create_launch_template_version = create_launch_template_version  # type: ignore[method-assign]


def _patch_launch_interfaces_deleted_on_termination() -> None:
    """A network interface that RunInstances creates is deleted when its instance terminates (EC2's default).

    moto keeps it, so a subnet that GeuseMaker does not own (bring your own VPC) would look leaked.
    """
    from moto.ec2.models.instances import Instance

    original = Instance.prep_nics

    @wraps(original)
    def prep_nics(self: Any, nic_spec: list[dict[str, Any]], *args: Any, **kwargs: Any) -> None:
        given = {int(n.get("DeviceIndex", 0)): dict(n) for n in nic_spec}
        original(self, nic_spec, *args, **kwargs)
        for index, nic in self.nics.items():
            spec = given.get(index, {})
            keep = str(spec.get("DeleteOnTermination", "true")).lower() == "false"
            if not spec.get("NetworkInterfaceId") and not keep:
                nic.delete_on_termination = True

    Instance.prep_nics = prep_nics  # type: ignore[method-assign]


def seed_instance_boundary() -> None:
    """Create the instance roles' permissions boundary in the sandbox account, as an administrator would."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.iam.models import iam_backends

    from geusemaker.models.instance_policies import BOUNDARY_NAME, BOUNDARY_PATH, boundary_policy
    from geusemaker.models.tags import TAG_MANAGED

    iam_backends[DEFAULT_ACCOUNT_ID]["global"].create_policy(
        description="GeuseMaker: the most any GeuseMaker instance role may do",
        path=BOUNDARY_PATH,
        policy_document=json.dumps(boundary_policy()),
        policy_name=BOUNDARY_NAME,
        tags=[{"Key": TAG_MANAGED, "Value": "true"}],
    )
