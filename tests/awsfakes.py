"""Helpers for tests that talk to moto: in-process AWS with the sandbox patches, and wire-level fault injection."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from botocore.awsrequest import AWSResponse

from geusemaker.services.aws import AwsClients, AwsTarget


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: object) -> list[bytes]:
        return [self._body]


def respond(client: Any, operation: str, status: int, body: bytes | str | dict[str, Any]) -> Callable[..., Any]:
    """Answer every `operation` call of `client` with this HTTP status and body (the real parsers run)."""
    if isinstance(body, dict):
        body = json.dumps(body)
    data = body.encode() if isinstance(body, str) else body
    service = client.meta.service_model.service_id.hyphenize()

    def handler(request: Any, **_: Any) -> AWSResponse:
        return AWSResponse(request.url, status, {}, _Raw(data))

    client.meta.events.register(f"before-send.{service}.{operation}", handler)
    return handler


def json_error(code: str, message: str) -> dict[str, str]:
    return {"__type": code, "message": message}


def query_error(code: str, message: str) -> bytes:
    return (
        f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors>"
        f"<RequestID>1</RequestID></Response>"
    ).encode()


def count_calls(client: Any, operation: str) -> list[str]:
    """A list that grows by one per `operation` call made by `client`."""
    calls: list[str] = []
    service = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register(f"before-send.{service}.{operation}", lambda **_: calls.append(operation))
    return calls


@contextmanager
def inprocess_aws(region: str = "us-east-1", *, sandbox: bool = True) -> Iterator[AwsClients]:
    """moto in-process with the sandbox's patches (quotas, scores, DLAMIs); clients with dummy credentials."""
    from moto import mock_aws

    from geusemaker.sandbox import patches

    patches.install()
    patches.reset_quotas()
    with mock_aws():
        yield AwsClients(AwsTarget(region=region, access_key="testing", secret_key="testing", sandbox=sandbox))
    patches.reset_quotas()
