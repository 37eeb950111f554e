"""AmiResolver against moto (seeded like the sandbox): the DLAMI parameter, DescribeImages, Ubuntu, cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from geusemaker.errors import UsageError
from geusemaker.models.ami import DLAMI_OWNER, dlami_parameter
from geusemaker.services.ami import AmiResolver
from geusemaker.services.cache import JsonCache
from tests.awsfakes import count_calls, inprocess_aws

ACCOUNT = "123456789012"


def _ssm_backend(region: str):  # type: ignore[no-untyped-def]
    from moto.ssm.models import ssm_backends

    return ssm_backends[ACCOUNT][region]


def _ec2_backend(region: str):  # type: ignore[no-untyped-def]
    from moto.ec2.models import ec2_backends

    return ec2_backends[ACCOUNT][region]


def test_gpu_tier_uses_the_dlami_parameter() -> None:
    with inprocess_aws() as clients:
        ami = AmiResolver(clients).resolve("us-east-1", "x86_64", "gpu")
    assert ami.source == "ssm-parameter"
    assert ami.name == "Deep Learning Base OSS Nvidia Driver GPU AMI (Ubuntu 24.04) 20251115"
    assert not ami.needs_driver_install


def test_missing_parameter_falls_back_to_the_newest_image() -> None:
    with inprocess_aws("eu-west-1") as clients:
        clients.client("ssm", "eu-west-1")  # create the backend
        _ssm_backend("eu-west-1")._parameters.pop(dlami_parameter("x86_64", "24.04"))
        resolver = AmiResolver(clients)
        ami = resolver.resolve("eu-west-1", "x86_64", "gpu")
    assert ami.source == "describe-images"
    assert ami.name.endswith("20251115"), "newest CreationDate wins"
    assert any("ParameterNotFound" in note for note in resolver.notes)


def test_no_dlami_at_all_falls_back_to_ubuntu_with_driver_install() -> None:
    with inprocess_aws("us-west-2") as clients:
        clients.client("ec2", "us-west-2").describe_images(ImageIds=[])  # create backends
        clients.client("ssm", "us-west-2")
        _ssm_backend("us-west-2")._parameters.pop(dlami_parameter("x86_64", "24.04"))
        amis = _ec2_backend("us-west-2").amis
        for image_id in [i for i, image in amis.items() if image.owner_id == DLAMI_OWNER]:
            amis.pop(image_id)
        ami = AmiResolver(clients).resolve("us-west-2", "x86_64", "gpu")
    assert ami.source == "ubuntu-fallback"
    assert ami.needs_driver_install
    assert ami.name.startswith("ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-")


def test_cpu_tier_uses_plain_ubuntu() -> None:
    with inprocess_aws() as clients:
        ami = AmiResolver(clients).resolve("us-east-1", "x86_64", "cpu")
    assert (ami.source, ami.needs_driver_install) == ("ubuntu", False)


def test_arm64_image_for_x86_instance_is_refused() -> None:
    with inprocess_aws() as clients:
        ssm = clients.client("ssm", "us-east-1")
        arm_image = ssm.get_parameter(Name=dlami_parameter("arm64", "24.04"))["Parameter"]["Value"]
        _ssm_backend("us-east-1")._parameters[dlami_parameter("x86_64", "24.04")][-1].value = arm_image
        with pytest.raises(UsageError) as caught:
            AmiResolver(clients).resolve("us-east-1", "x86_64", "gpu")
    assert "is arm64 but the instance type is x86_64" in caught.value.message


def test_answers_are_cached_for_a_day(tmp_path: Path) -> None:
    now = [1_000_000.0]
    cache = JsonCache(tmp_path / "cache.json", clock=lambda: now[0])
    with inprocess_aws() as clients:
        calls = count_calls(clients.client("ssm", "us-east-1"), "GetParameter")
        first = AmiResolver(clients, cache).resolve("us-east-1", "x86_64", "gpu")
        second = AmiResolver(clients, cache).resolve("us-east-1", "x86_64", "gpu")
        assert first == second and len(calls) == 1
        now[0] += 25 * 3600
        AmiResolver(clients, cache).resolve("us-east-1", "x86_64", "gpu")
        assert len(calls) == 2
