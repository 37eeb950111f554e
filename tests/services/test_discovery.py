"""Discovery by tag against moto: exact names, and only one stack's resources when its id is known."""

from __future__ import annotations

import pytest

from geusemaker.errors import UsageError
from geusemaker.models.tags import stack_tags
from geusemaker.orchestration.destroy import discover
from geusemaker.services.aws import AwsClients
from geusemaker.services.iam import IamService
from geusemaker.services.network import NetworkService
from geusemaker.services.parameters import ParameterService
from geusemaker.services.storage import FileSystemService
from tests.awsfakes import inprocess_aws

REGION = "us-east-1"


def _stack(clients: AwsClients, name: str, stack_id: str, *, iam: bool = True) -> set[tuple[str, str]]:
    tags = stack_tags({}, stack_id)
    network = NetworkService(clients, REGION, lambda _: None)
    vpc = network.create_vpc(name, tags, "10.42.0.0/16")
    group = network.create_security_group(f"geusemaker-{name}", f"GeuseMaker {name}", vpc, name, tags)
    created = {("vpc", vpc), ("security-group", group)}
    created.add(("ssm-parameter", ParameterService(clients, REGION).put_secret(name, f"key-{stack_id}", "v", tags)))
    fs, _ = FileSystemService(clients, REGION, lambda _: None).create_file_system(name, f"token-{stack_id}", tags)
    created.add(("file-system", fs))
    if iam:
        service = IamService(clients)
        role = service.create_role(name, tags, service.ensure_boundary(clients.account_id()))
        profile, _ = service.create_instance_profile(name, role, tags)
        created |= {("iam-role", role), ("instance-profile", profile)}
    return created


def _found(clients: AwsClients, name: str, stack_id: str | None = None) -> set[tuple[str, str]]:
    return {(r.kind, r.resource_id) for r in discover(clients, name, [REGION], stack_id)}


def test_only_the_named_stacks_resources_are_found() -> None:
    with inprocess_aws(REGION) as clients:
        mine = _stack(clients, "shared", "stack-a")
        theirs = _stack(clients, "shared", "stack-b", iam=False)  # IAM names are per name: one of them
        assert _found(clients, "shared", "stack-a") == mine
        assert _found(clients, "shared", "stack-b") == theirs
        assert _found(clients, "shared") == mine | theirs, "without a stack id: everything of that name"


def test_names_match_exactly() -> None:
    with inprocess_aws(REGION) as clients:
        ten = _stack(clients, "def-10", "s10")
        assert _found(clients, "def-1") == set()
        assert _found(clients, "def-10") == ten


@pytest.mark.parametrize("name", ["*", "def-?", "", "../x", "a/b"])
def test_discovery_refuses_what_is_not_a_name(name: str) -> None:
    with inprocess_aws(REGION) as clients, pytest.raises(UsageError, match="not a deployment name"):
        discover(clients, name, [REGION])
