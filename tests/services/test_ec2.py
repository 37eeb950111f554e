"""Ec2Service against moto: live instance type facts, typos, CPU types, offerings."""

from __future__ import annotations

import pytest

from geusemaker.catalog import load_catalog
from geusemaker.errors import UsageError
from geusemaker.services.ec2 import Ec2Service
from tests.awsfakes import inprocess_aws


@pytest.fixture
def ec2():  # type: ignore[no-untyped-def]
    with inprocess_aws() as clients:
        yield Ec2Service(clients, load_catalog())


def test_live_gpu_info_is_read(ec2: Ec2Service) -> None:
    spec = ec2.validate_instance_type("us-east-1", "g5.xlarge", "gpu")
    assert (spec.gpu, spec.gpu_count, spec.vcpus, spec.memory_gib, spec.architecture) == ("A10G", 1, 4, 16.0, "x86_64")
    assert spec.gpu_memory_gib == 22.4


def test_type_moto_lacks_falls_back_to_the_catalog(ec2: Ec2Service, monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.ec2.models.instance_types import InstanceTypeBackend

    known = [t for t in InstanceTypeBackend.instance_types if t.get("InstanceType") != "g6.xlarge"]
    monkeypatch.setattr(InstanceTypeBackend, "instance_types", known)  # a region whose EC2 lacks the type
    assert ec2.describe_instance_types("us-east-1", ["g6.xlarge"]) == {}
    spec = ec2.validate_instance_type("us-east-1", "g6.xlarge", "gpu")
    assert (spec.gpu, spec.gpu_count, spec.vcpus) == ("L4", 1, 4)


def test_v100_is_refused_with_the_reason(ec2: Ec2Service) -> None:
    with pytest.raises(UsageError, match="proprietary driver"):
        ec2.validate_instance_type("us-east-1", "p3.2xlarge", "gpu")


def test_mixed_known_and_unknown_types_keep_the_known(ec2: Ec2Service) -> None:
    specs = ec2.describe_instance_types("us-east-1", ["g5.xlarge", "p3.2xlarge", "g4dn.xlarge"])
    assert set(specs) == {"g5.xlarge", "g4dn.xlarge"}


def test_typo_gets_did_you_mean(ec2: Ec2Service) -> None:
    with pytest.raises(UsageError) as caught:
        ec2.validate_instance_type("us-east-1", "g5.xlarg", "gpu")
    assert "'g5.xlarg' is not an EC2 instance type" in caught.value.message
    assert "g5.xlarge" in (caught.value.hint or "")


def test_cpu_type_under_gpu_tier_names_three_cheapest_gpu_types(ec2: Ec2Service) -> None:
    with pytest.raises(UsageError) as caught:
        ec2.validate_instance_type("us-east-1", "m5.xlarge", "gpu")
    assert "m5.xlarge has no NVIDIA GPU" in caught.value.message
    hint = caught.value.hint or ""
    assert hint.startswith("Cheapest GPU types in us-east-1: g4dn.xlarge (T4, $0.526/h)")
    assert hint.count("/h)") == 3


def test_cpu_type_is_fine_for_cpu_tier(ec2: Ec2Service) -> None:
    spec = ec2.validate_instance_type("us-east-1", "m7i.xlarge", "cpu")
    assert (spec.gpu_count, spec.vcpus) == (0, 4)


def test_unsupported_accelerator_family_is_refused(ec2: Ec2Service) -> None:
    with pytest.raises(UsageError) as caught:
        ec2.validate_instance_type("us-east-1", "g4ad.xlarge", "gpu")
    assert "family g4ad (AMD Radeon GPU (no CUDA)) is not supported" in caught.value.message


def test_offerings_per_zone_id_and_zone_names(ec2: Ec2Service) -> None:
    offered = ec2.offered_zone_ids("us-east-1", ["g5.xlarge", "p5.48xlarge"])
    names = ec2.zone_names("us-east-1")
    assert offered["g5.xlarge"] and offered["g5.xlarge"] <= set(names)
    assert all(zone.startswith("use1-az") for zone in offered["p5.48xlarge"])
    assert names["use1-az1"].startswith("us-east-1")
