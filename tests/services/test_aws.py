"""The session/client factory and AWS error translation, against moto's HTTP server."""

from __future__ import annotations

from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from geusemaker.errors import (
    EXIT_PRECONDITION,
    EXIT_USAGE,
    AwsError,
    CapacityError,
    CredentialsError,
    NotFoundError,
    PreconditionError,
)
from geusemaker.services.aws import AwsClients, AwsTarget, translate, translate_errors


def _client_error(code: str, operation: str = "RunInstances") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": f"message for {code}"}}, operation)


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("InsufficientInstanceCapacity", CapacityError),
        ("Unsupported", CapacityError),
        ("VcpuLimitExceeded", PreconditionError),
        ("MaxSpotInstanceCountExceeded", PreconditionError),
        ("InvalidInstanceID.NotFound", NotFoundError),
        ("NoSuchEntity", NotFoundError),
        ("ParameterNotFound", NotFoundError),
        ("ExpiredToken", CredentialsError),
        ("AuthFailure", CredentialsError),
        ("UnauthorizedOperation", AwsError),
        ("InvalidParameterValue", AwsError),
    ],
)
def test_client_errors_are_classified(code: str, kind: type[Exception]) -> None:
    translated = translate(_client_error(code))
    assert type(translated) is kind
    assert code in str(translated) or isinstance(translated, CredentialsError)


def test_exit_codes_follow_the_design() -> None:
    assert translate(_client_error("InsufficientInstanceCapacity")).exit_code == EXIT_PRECONDITION  # type: ignore[attr-defined]
    assert translate(_client_error("ExpiredToken")).exit_code == EXIT_USAGE  # type: ignore[attr-defined]


def test_unrelated_exceptions_pass_through() -> None:
    error = ValueError("x")
    assert translate(error) is error


@pytest.fixture
def no_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    empty = tmp_path / "empty"
    empty.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)


@pytest.mark.usefixtures("no_credentials")
def test_missing_credentials_become_one_clear_error(sandbox_endpoint: str) -> None:
    clients = AwsClients(AwsTarget(region="us-east-1", endpoint_url=sandbox_endpoint))
    with pytest.raises(CredentialsError) as caught:
        clients.account_id()
    assert "no AWS credentials" in caught.value.message
    assert "aws configure" in (caught.value.hint or "")


@pytest.mark.usefixtures("no_credentials")
def test_unknown_profile_is_a_credentials_error() -> None:
    with pytest.raises(CredentialsError) as caught:
        _ = AwsClients(AwsTarget(profile="does-not-exist")).session
    assert "does-not-exist" in caught.value.message


def test_expired_token_from_the_wire_is_a_credentials_error(sandbox_endpoint: str) -> None:
    from botocore.awsrequest import AWSResponse

    clients = AwsClients(AwsTarget(region="us-east-1", endpoint_url=sandbox_endpoint))
    body = (
        b'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
        b"<Code>ExpiredToken</Code><Message>The security token included in the request is expired</Message>"
        b"</Error><RequestId>1</RequestId></ErrorResponse>"
    )

    class _Raw:
        def stream(self, **_: object) -> list[bytes]:
            return [body]

    def expired(request, **_):  # type: ignore[no-untyped-def]
        return AWSResponse(request.url, 403, {}, _Raw())

    sts = clients.client("sts")
    sts.meta.events.register("before-send.sts.GetCallerIdentity", expired)
    with pytest.raises(CredentialsError) as caught:
        clients.account_id()
    assert "ExpiredToken" in caught.value.message


def test_clients_use_standard_retries_and_the_endpoint(sandbox_endpoint: str) -> None:
    clients = AwsClients(AwsTarget(region="eu-west-1", endpoint_url=sandbox_endpoint))
    ec2 = clients.client("ec2")
    assert ec2.meta.config.retries["mode"] == "standard"
    assert ec2.meta.region_name == "eu-west-1"
    assert ec2.meta.endpoint_url == sandbox_endpoint
    assert clients.client("ec2") is ec2
    assert clients.client("ec2", "us-west-2") is not ec2
    assert clients.account_id() == "123456789012"


def test_translate_errors_context_manager_raises_our_error(sandbox_endpoint: str) -> None:
    ec2 = AwsClients(AwsTarget(region="us-east-1", endpoint_url=sandbox_endpoint)).client("ec2")
    with pytest.raises(NotFoundError) as caught, translate_errors("ec2:DescribeVpcs"):
        ec2.describe_vpcs(VpcIds=["vpc-0123456789abcdef0"])
    assert "InvalidVpcID.NotFound" in caught.value.message
