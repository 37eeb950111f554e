"""IamService against moto: every instance role carries the permissions boundary, created where missing."""

from __future__ import annotations

import json

import pytest

from geusemaker.errors import PreconditionError
from geusemaker.models.instance_policies import boundary_arn, boundary_policy
from geusemaker.services.iam import IamService
from tests.awsfakes import inprocess_aws, query_error, respond

ACCOUNT = "123456789012"


def test_the_role_is_created_with_the_boundary_which_is_created_once() -> None:
    with inprocess_aws() as clients:
        iam = IamService(clients)
        arn = iam.ensure_boundary(ACCOUNT)
        assert arn == boundary_arn(ACCOUNT) == f"arn:aws:iam::{ACCOUNT}:policy/geusemaker/GeuseMakerInstanceBoundary"
        assert iam.ensure_boundary(ACCOUNT) == arn  # already there: reused, not duplicated
        role = iam.create_role("shop", {}, arn)
        raw = clients.client("iam", "us-east-1")
        created = raw.get_role(RoleName=role)["Role"]
        assert created["PermissionsBoundary"]["PermissionsBoundaryArn"] == arn
        policy = raw.get_policy(PolicyArn=arn)["Policy"]
        document = raw.get_policy_version(PolicyArn=arn, VersionId=policy["DefaultVersionId"])["PolicyVersion"]
        stored = document["Document"]
        assert (json.loads(stored) if isinstance(stored, str) else stored) == boundary_policy()
        assert len(raw.list_policies(Scope="Local")["Policies"]) == 1


def test_a_missing_boundary_that_may_not_be_created_is_named_with_the_setup_step() -> None:
    with inprocess_aws() as clients:
        iam = IamService(clients)
        raw = clients.client("iam", "us-east-1")
        respond(raw, "CreatePolicy", 403, query_error("AccessDenied", "not authorized to perform iam:CreatePolicy"))
        with pytest.raises(PreconditionError) as caught:
            iam.ensure_boundary(ACCOUNT)
        assert "GeuseMakerInstanceBoundary" in caught.value.message
        assert "does not exist" in caught.value.message
        assert caught.value.hint and "aws iam create-policy --path /geusemaker/" in caught.value.hint
        assert caught.value.exit_code == 3


def test_create_role_denied_for_the_boundary_says_so() -> None:
    with inprocess_aws() as clients:
        iam = IamService(clients)
        raw = clients.client("iam", "us-east-1")
        respond(raw, "CreateRole", 403, query_error("AccessDenied", "not authorized to perform iam:CreateRole"))
        with pytest.raises(PreconditionError) as caught:
            iam.create_role("shop", {}, boundary_arn(ACCOUNT))
        assert "GeuseMakerInstanceBoundary" in caught.value.message
        assert "operator policy allows roles only with it" in caught.value.message


def _boundary_with(raw: object, statements: list[dict[str, object]]) -> None:
    raw.create_policy(  # type: ignore[attr-defined]
        PolicyName="GeuseMakerInstanceBoundary",
        Path="/geusemaker/",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
    )


def test_an_outdated_boundary_is_named_with_what_it_lacks_and_how_to_update_it() -> None:
    with inprocess_aws() as clients:
        raw = clients.client("iam", "us-east-1")
        statements = [s for s in boundary_policy()["Statement"] if s["Sid"] != "MountFileSystems"]
        _boundary_with(raw, statements)
        with pytest.raises(PreconditionError) as caught:
            IamService(clients).ensure_boundary(ACCOUNT)
        assert "lacks" in caught.value.message and "MountFileSystems" in caught.value.message
        assert caught.value.hint and "aws iam create-policy-version" in caught.value.hint


def test_statements_an_administrator_added_to_the_boundary_are_kept_and_accepted() -> None:
    with inprocess_aws() as clients:
        raw = clients.client("iam", "us-east-1")
        logging = {"Sid": "SessionLogs", "Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "*"}
        reordered = [
            {**s, "Action": list(reversed(s["Action"])) if isinstance(s["Action"], list) else [s["Action"]]}
            for s in boundary_policy()["Statement"]
        ]
        _boundary_with(raw, [logging, *reversed(reordered)])
        assert IamService(clients).ensure_boundary(ACCOUNT) == boundary_arn(ACCOUNT)
