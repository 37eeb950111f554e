"""The registry of resource kinds: every step spec has a kind, every kind can be undone, in a sound order."""

from __future__ import annotations

from geusemaker.models.plan_file import spec_classes
from geusemaker.orchestration.kinds import KINDS, delete_order, from_tags, kind, needed_by


def test_every_step_spec_has_a_registered_kind_that_creates_it() -> None:
    for name, cls in spec_classes().items():
        assert KINDS[name].spec is cls and KINDS[name].create is not None, name


def test_what_a_kind_needs_is_deleted_after_it() -> None:
    order = delete_order()
    for registered in KINDS.values():
        for needed in registered.depends_on:
            if registered.delete is not None and KINDS[needed].delete is not None:
                assert order.index(registered.name) < order.index(needed), (registered.name, needed)


def test_every_created_resource_can_be_deleted_except_what_goes_with_its_parent() -> None:
    assert [k.name for k in KINDS.values() if k.delete is None] == ["role-policy"]
    assert KINDS["role-policy"].depends_on == ("iam-role",)
    assert set(delete_order()) == set(KINDS) - {"role-policy"}


def test_a_failed_deletion_keeps_everything_it_needs() -> None:
    assert {"launch-template", "security-group", "subnet", "vpc"} <= needed_by("instance")
    assert needed_by("instance-profile") == {"iam-role"}
    assert "iam-role" not in needed_by("instance")


def test_the_tagging_api_maps_arns_by_type_and_kind_tag() -> None:
    arn = "arn:aws:ec2:us-east-1:123456789012:"
    assert from_tags(arn + "vpc/vpc-1", {"geusemaker:kind": "vpc"}) == ("vpc", "vpc-1")
    assert from_tags(arn + "volume/vol-1", {"geusemaker:kind": "data-volume"}) == ("data-volume", "vol-1")
    root = from_tags(arn + "volume/vol-2", {"geusemaker:kind": "volume"})
    assert root is None, "a root volume goes with its instance"
    assert from_tags("arn:aws:ssm:us-east-1:1:parameter/geusemaker/a/KEY", {}) == ("ssm-parameter", "/geusemaker/a/KEY")
    assert from_tags(arn + "instance/i-1", {}) is None, "instances are found by DescribeInstances only"


def test_an_unknown_kind_is_an_error() -> None:
    import pytest

    from geusemaker.errors import UserError

    with pytest.raises(UserError, match="unknown resource kind 'nat-gateway'"):
        kind("nat-gateway")
